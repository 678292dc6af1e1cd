import { describe, expect, it } from '@jest/globals';
import { assessInstances, quotaForShare, quotaNear } from './fleet.js';
import { instance, syntheticPredictor } from './test-fixtures.js';

const p = syntheticPredictor();
const T = 8000 / 36; // batch 8 at l = 40
const noFloor = (): number => 0;

describe('assessInstances', () => {
  it('reports capacity at the quota, at the limit and at the reachable quota', () => {
    const [f] = assessInstances([instance('a', { quota: 20, quotaHeadroom: 10 })], p, noFloor);
    expect(f?.capacityAtLimit).toBeCloseTo(T, 6);
    expect(f?.capacityAtQuota).toBeCloseTo(T / 2, 6);
    expect(f?.reachableQuota).toBe(30);
    expect(f?.reachableCapacity).toBeCloseTo((T * 30) / 40, 6);
  });

  it.each([
    ['never above the limit', { quota: 35, quotaHeadroom: 50 }, 40],
    ['no headroom: stays put', { quota: 25, quotaHeadroom: 0 }, 25],
  ])('reachable quota: %s', (_, x, expected) => {
    const [f] = assessInstances([instance('a', x)], p, noFloor);
    expect(f?.reachableQuota).toBe(expected);
  });

  it('splits one GPU headroom among the instances that share it', () => {
    const fs = assessInstances(
      [
        instance('a', { gpu: 'g0', quotaHeadroom: 12 }),
        instance('b', { gpu: 'g0', quotaHeadroom: 12 }),
        instance('c', { gpu: 'g1', quotaHeadroom: 12 }),
      ],
      p,
      noFloor,
    );
    expect(fs.map(f => f.reachableQuota)).toEqual([26, 26, 32]);
  });

  it('splits headroom the same way for large fleets', () => {
    const many = Array.from({ length: 40 }, (_, i) =>
      instance(`i${i}`, { gpu: `g${i % 4}`, quotaHeadroom: 20 }),
    );
    const fs = assessInstances(many, p, noFloor);
    expect(fs.every(f => f.reachableQuota === 22)).toBe(true);
  });

  it.each([
    ['below r: r', 12, 20],
    ['between r and l', 27, 27],
    ['the limit cannot meet the SLO: l', Infinity, 40],
  ])('floor quota: %s', (_, floor, expected) => {
    const [f] = assessInstances([instance('a')], p, () => floor);
    expect(f?.floorQuota).toBe(expected);
  });
});

describe('quotaForShare and quotaNear', () => {
  const [f] = assessInstances([instance('a')], p, noFloor);
  if (f === undefined) throw new Error('no figures');

  it.each([
    // share rps -> exact quota at 85 % = share x 40 / (222.2 x 0.85)
    [100, 22],
    [111.1, 24],
    [0, 0],
  ])('quotaForShare(%d) rounds up', (share, expected) => {
    expect(quotaForShare(f, share, 0.85)).toBe(expected);
  });

  it.each([
    // [share, nearest at 85 %, smallest keeping <= 90 %, expected]
    [100, 21, 20, 21], // exact 21.18: nearest 21 keeps utilization 0.857
    [106, 22, 22, 22], // exact 22.45 -> 22, and 22 keeps 0.868
    [111.1, 24, 23, 24], // exact 23.53 -> 24
    [108.4, 23, 22, 23],
  ])('quotaNear(%d)', (share, _nearest, _min, expected) => {
    const q = quotaNear(f, share, 0.85, 0.9);
    expect(q).toBe(expected);
    expect(share / ((T * q) / 40)).toBeLessThanOrEqual(0.9 + 1e-9);
  });

  it('never leaves the share above the ceiling, even when rounding down', () => {
    for (let share = 1; share < 222; share += 0.7) {
      const q = quotaNear(f, share, 0.85, 0.9);
      expect(share).toBeLessThanOrEqual(0.9 * ((T * q) / 40) + 1e-9);
    }
  });
});

import { describe, expect, it } from '@jest/globals';
import { assessInstances, quotaForShare, quotaNear } from './fleet.js';
import { instance, realHandle, syntheticPredictor, throughputHandle } from './test-fixtures.js';

const predictor = syntheticPredictor();
const T = 8000 / 36; // batch 8 at l = 40
const p = throughputHandle(predictor);

describe('assessInstances', () => {
  it('reports capacity at the quota, at the limit and at the reachable quota', () => {
    const [f] = assessInstances([instance('a', { quota: 20, quotaHeadroom: 10 })], p);
    expect(f?.capacityAtLimit).toBeCloseTo(T, 6);
    expect(f?.capacityAtQuota).toBeCloseTo(T / 2, 6);
    expect(f?.reachableQuota).toBe(30);
    expect(f?.reachableCapacity).toBeCloseTo((T * 30) / 40, 6);
  });

  it.each([
    ['never above the limit', { quota: 35, quotaHeadroom: 50 }, 40],
    ['no headroom: stays put', { quota: 25, quotaHeadroom: 0 }, 25],
  ])('reachable quota: %s', (_, x, expected) => {
    const [f] = assessInstances([instance('a', x)], p);
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
    );
    expect(fs.map(f => f.reachableQuota)).toEqual([26, 26, 32]);
  });

  it('splits headroom the same way for large fleets', () => {
    const many = Array.from({ length: 40 }, (_, i) =>
      instance(`i${i}`, { gpu: `g${i % 4}`, quotaHeadroom: 20 }),
    );
    const fs = assessInstances(many, p);
    expect(fs.every(f => f.reachableQuota === 22)).toBe(true);
  });

  it.each([
    ['below r: r', 12, 20],
    ['between r and l', 27, 27],
    ['the limit cannot meet the SLO: l', Infinity, 40],
  ])('floor quota: %s', (_, floor, expected) => {
    const [f] = assessInstances(
      [instance('a')],
      throughputHandle(predictor, () => floor),
    );
    expect(f?.floorQuota).toBe(expected);
  });
});

describe('assessInstances: what an instance serves within the SLO', () => {
  // Synthetic batch 8, l = 40, SLO 200 ms: a share whose batches, throttled to q / l, would
  // miss the SLO counts only up to what q serves within it.
  const h = realHandle(predictor, 200);

  it.each([
    // [quota, headroom]
    [10, 0],
    [20, 0],
    [20, 20],
    [40, 0],
  ])('at quota %d (headroom %d): min(throughput, latency share)', (quota, headroom) => {
    const [f] = assessInstances([instance('a', { quota, quotaHeadroom: headroom })], h);
    if (f === undefined) throw new Error('no figures');
    const throughput = (T * quota) / 40;
    const latency = h.latencyShare(8, 40, quota);
    expect(f.throughputAtQuota).toBeCloseTo(throughput, 9);
    expect(f.capacityAtQuota).toBeCloseTo(Math.min(throughput, latency), 9);
    const reach = Math.min(40, quota + headroom);
    const steady = Math.min((T * reach) / 40, h.latencyShare(8, 40, reach));
    expect(f.reachableSteadyCapacity).toBeCloseTo(steady, 9);
    // A burst may wait for a batch in flight: it absorbs at least what a steady load may.
    expect(f.reachableCapacity).toBeGreaterThanOrEqual(f.reachableSteadyCapacity - 1e-9);
  });

  it('counts a smaller steady share per instance when the margin grows', () => {
    const [plain] = assessInstances([instance('a', { quota: 20 })], h);
    const [wide] = assessInstances([instance('a', { quota: 20 })], h, { margin: 2 });
    expect(wide?.capacityAtQuota).toBeLessThan(plain?.capacityAtQuota ?? 0);
  });

  it('reports the idle floor of the corrected model as the floor quota', () => {
    const [f] = assessInstances([instance('a', { smRequest: 1, quota: 1 })], h);
    expect(f?.floorQuota).toBe(Math.max(1, h.floorQuota(8, 40)));
  });
});

describe('quotaForShare and quotaNear', () => {
  const [f] = assessInstances([instance('a')], p);
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

import { describe, expect, it } from '@jest/globals';
import { fileURLToPath } from 'node:url';
import { loadProfiles } from '../model/index.js';
import type { Measure } from './measurement.js';
import { measureFromProfile } from './profile-measure.js';
import { pruningSearch } from './pruning-search.js';
import { compareWithGrid } from './grid-comparison.js';

/** latency = batch * (a + w / SM) ms; throughput = batch / latency. */
function synthetic(a: number, w: number, maxBatch = 64): Measure {
  return (batch, sm) => {
    if (batch > maxBatch) return Promise.resolve(undefined);
    const latencyMs = batch * 0.5 * (a + w / sm) + 2;
    return Promise.resolve({ latencyMs, throughputRps: (1000 * batch) / latencyMs });
  };
}

const profiles = loadProfiles([
  fileURLToPath(new URL('../../data/profiles/dilu-a100/', import.meta.url)),
]);

describe('pruningSearch on the published A100 profiles', () => {
  const cases: [string, number[]][] = [
    ['resnet152', [22, 25, 30, 35, 40, 45, 50, 60, 80, 120, 200]],
    ['bert_base', [18, 20, 30, 40, 50, 60, 80, 120, 250]],
    ['llama2', [33, 35, 42, 50, 60, 80, 120, 200]],
  ];
  it.each(cases)(
    '%s: <= 12 probes and as cheap as the best grid point, for every SLO',
    async (name, slos) => {
      const profile = profiles.find(p => p.name === name)!;
      for (const sloMs of slos) {
        const r = await pruningSearch(measureFromProfile(profile), { sloMs });
        expect(r.probes.length).toBeLessThanOrEqual(12);
        expect(r.choice).toBeDefined();
        expect(r.choice!.latencyMs).toBeLessThanOrEqual(sloMs);
        const g = compareWithGrid(profile, sloMs, r);
        expect({ sloMs, atLeastAsCheap: g.atLeastAsCheap }).toEqual({
          sloMs,
          atLeastAsCheap: true,
        });
      }
    },
  );

  it('resnet152 at 40 ms: batch 16 at 30 % SM (HGSS finds the same with 9 probes)', async () => {
    const profile = profiles.find(p => p.name === 'resnet152')!;
    const r = await pruningSearch(measureFromProfile(profile), { sloMs: 40 });
    expect([r.choice?.batch, r.choice?.smPercent]).toEqual([16, 30]);
  });
});

describe('pruningSearch rules', () => {
  it('jumps SM by the 1/SM bound instead of stepping', async () => {
    const probes: [number, number][] = [];
    const m = synthetic(0, 400);
    const r = await pruningSearch(
      (b, s) => {
        probes.push([b, s]);
        return m(b, s);
      },
      { sloMs: 12, budget: 3 },
    );
    // (1,10): 22 ms > 12 -> needs >= 10 * 22 / 12 = 18.3 -> 20 directly.
    expect(probes.slice(0, 2)).toEqual([
      [1, 10],
      [1, 20],
    ]);
    expect(r.stopReason).toBe('budget');
  });

  it('stops at the latency floor when even 100 % SM cannot meet the SLO', async () => {
    // floor a = 30 ms per request; batch 1 needs > 15 ms even at 100 % SM.
    const r = await pruningSearch(synthetic(30, 200), { sloMs: 14 });
    expect(r.choice).toBeUndefined();
    expect(r.stopReason).toBe('latency-floor');
    expect(r.probes.length).toBeLessThan(6);
  });

  it('reports a function that cannot run at all', async () => {
    const r = await pruningSearch(() => Promise.resolve(undefined), { sloMs: 50 });
    expect(r.stopReason).toBe('not-runnable');
    expect(r.probes).toEqual([{ batch: 1, smPercent: 10, ran: false, meetsSlo: false }]);
  });

  it('stops growing the batch at the largest runnable one', async () => {
    const r = await pruningSearch(synthetic(1, 50, 4), { sloMs: 1000, budget: 20 });
    expect(r.stopReason).toBe('max-batch');
    expect(r.choice?.batch).toBe(4);
  });

  it('honours maxBatch', async () => {
    const r = await pruningSearch(synthetic(1, 50), { sloMs: 1000, maxBatch: 2, budget: 20 });
    expect(r.choice?.batch).toBe(2);
  });

  it('stops when efficiency drops clearly below the best', async () => {
    // Batching beyond 4 costs a lot more latency per request here.
    const m: Measure = (b, s) =>
      Promise.resolve({
        latencyMs: b <= 4 ? 10 : 10 * b,
        throughputRps: b <= 4 ? (b * 1000) / 10 / (s / 10) : 10 / (s / 10),
      });
    const r = await pruningSearch(m, { sloMs: 100 });
    expect(r.stopReason).toBe('efficiency-drop');
    expect(r.choice?.batch).toBe(4);
  });

  it.each([
    [{ sloMs: 0 }, /^sloMs: .*>0/],
    [{ sloMs: 10, smStep: 0 }, /^smStep: .*>=1/],
    [{ sloMs: 10, smStep: 101 }, /^smStep: .*<=100/],
    [{ sloMs: 10, budget: 0 }, /^budget: /],
    [{ sloMs: 10, maxBatch: 1.5 }, /^maxBatch: .*expected int/],
    [{ sloMs: 10, efficiencyDrop: 2 }, /^efficiencyDrop: /],
    [{ sloMs: 10, floorTolerance: -1 }, /^floorTolerance: /],
  ])('rejects bad options %j', async (opts, msg) => {
    await expect(pruningSearch(synthetic(1, 1), opts)).rejects.toThrow(msg);
  });
});

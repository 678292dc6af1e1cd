import { describe, expect, it } from '@jest/globals';
import type { GpuLoad } from './score.js';
import { BEST_FIT_WEIGHTS, DILU_WEIGHTS, diluScore, diluScoreParts } from './score.js';

const load = (o: Partial<GpuLoad>): GpuLoad => ({
  memoryMiB: 40_960,
  sumSmRequest: 0,
  sumSmLimit: 0,
  sumMemoryMiB: 0,
  instanceCount: 0,
  latencyCriticalCount: 0,
  bestEffortCount: 0,
  ...o,
});

describe('diluScoreParts', () => {
  it('matches a hand computation', () => {
    // S' = (40 + 40) / 100 = 0.8, U' = (4096 + 4096) / 40960 = 0.2
    // fit = 0.6·0.2 + 0.4·0.8 = 0.44; balance = 0.6; classMix = 1/1
    // total = 0.44 + 0.2·0.6 + 0.15·1 = 0.71
    const g = load({
      sumSmRequest: 40,
      sumMemoryMiB: 4096,
      instanceCount: 1,
      latencyCriticalCount: 1,
    });
    const x = { class: 'latency-critical', smRequest: 40, memoryMiB: 4096 } as const;
    const p = diluScoreParts(g, x, DILU_WEIGHTS);
    expect(p.smShareAfter).toBeCloseTo(0.8, 12);
    expect(p.memoryShareAfter).toBeCloseTo(0.2, 12);
    expect(p.fit).toBeCloseTo(0.44, 12);
    expect(p.balance).toBeCloseTo(0.6, 12);
    expect(p.classMix).toBe(1);
    expect(p.total).toBeCloseTo(0.71, 12);
    expect(diluScore(g, x, DILU_WEIGHTS)).toBeCloseTo(p.total, 12);
  });

  it.each([
    ['empty GPU: no class term', load({}), 'latency-critical', 0],
    ['other class only', load({ instanceCount: 2, bestEffortCount: 2 }), 'latency-critical', 0],
    [
      'half and half',
      load({ instanceCount: 2, bestEffortCount: 1, latencyCriticalCount: 1 }),
      'best-effort',
      0.5,
    ],
    ['same class only', load({ instanceCount: 3, bestEffortCount: 3 }), 'best-effort', 1],
  ] as const)('classMix on %s is %d', (_n, g, cls, mix) => {
    const x = { class: cls, smRequest: 10, memoryMiB: 1024 };
    expect(diluScoreParts(g, x, DILU_WEIGHTS).classMix).toBe(mix);
    expect(diluScore(g, x, DILU_WEIGHTS)).toBeCloseTo(diluScoreParts(g, x, DILU_WEIGHTS).total, 12);
  });

  it('with best-fit weights is Dilu’s plain fit score', () => {
    const g = load({
      sumSmRequest: 10,
      sumMemoryMiB: 20_480,
      instanceCount: 1,
      bestEffortCount: 1,
    });
    const x = { class: 'best-effort', smRequest: 30, memoryMiB: 0 } as const;
    // 0.6·(1 − 0.4) + 0.4·(1 − 0.5) = 0.56
    expect(diluScore(g, x, BEST_FIT_WEIGHTS)).toBeCloseTo(0.56, 12);
  });
});

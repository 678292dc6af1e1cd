import { describe, expect, it } from '@jest/globals';
import { simulate } from '../engine/simulator.js';
import { summarize } from '../metrics.js';
import { placementPlacer } from '../placement-adapter.js';
import { createRng } from '../rng.js';
import { flatProfile, testScenario } from '../testing.js';
import { piecewisePoissonStream } from '../workload/arrival-stream.js';
import { createDiluPolicy } from './dilu.js';

const scenario = (low: number, high: number, at: number, durationSeconds: number) =>
  testScenario({
    durationSeconds,
    nodes: 1,
    gpusPerNode: 4,
    functions: [
      {
        profile: flatProfile(10),
        sloMs: 100,
        arrivals: seed =>
          piecewisePoissonStream(
            Float64Array.from({ length: 100 }, (_, i) => (i === 0 ? low : high)),
            at,
            false,
            createRng(seed, 'step'),
          ),
      },
    ],
  });

function run(low: number, high: number, at: number, durationSeconds: number) {
  const s = scenario(low, high, at, durationSeconds);
  return simulate({
    scenario: s,
    policy: createDiluPolicy(s),
    placer: placementPlacer(s, { dilu: {} }, () => 'dilu'),
  });
}

describe('dilu through the production policy', () => {
  it('starts the initial instance and follows a load step up, vertically then horizontally', () => {
    const o = run(20, 4000, 60, 240);
    const f = o.functions[0];
    expect(f?.replicas[10]).toBe(1);
    // The load step is answered within seconds by raising quotas ...
    expect(f?.quota[63]).toBeGreaterThan(f?.quota[55] ?? 0);
    // ... and, for 4000 rps, by more instances once their cold start is over.
    expect(f?.replicas[200]).toBeGreaterThan(1);
    const m = summarize(o);
    expect(m.coldStarts).toBeGreaterThan(0);
    expect(m.sloViolationRate).toBeLessThan(0.2);
  });

  it('scales back down after the load falls', () => {
    const o = run(3000, 10, 60, 400);
    const q = o.functions[0]?.quota;
    expect(q?.[390]).toBeLessThan(q?.[55] ?? 0);
  });

  it('is deterministic: the same run twice gives the same figures', () => {
    const a = summarize(run(20, 800, 30, 120));
    const b = summarize(run(20, 800, 30, 120));
    expect(a.gpuSeconds).toBe(b.gpuSeconds);
    expect(a.violations).toBe(b.violations);
    expect(a.coldStarts).toBe(b.coldStarts);
  });
});

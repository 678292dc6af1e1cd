import { describe, expect, it } from '@jest/globals';
import { simulate } from '../engine/simulator.js';
import { summarize } from '../metrics.js';
import { placementPlacer } from '../placement-adapter.js';
import { createRng } from '../rng.js';
import type { TestFunction } from '../testing.js';
import { firstFitPlacer, flatProfile, testScenario } from '../testing.js';
import { piecewisePoissonStream, poissonStream } from '../workload/arrival-stream.js';
import { createExclusiveKpa } from './exclusive-kpa.js';
import { createFastGshare } from './fast-gshare.js';
import { createHasGpu } from './has-gpu.js';
import { autoSlices, createMpsStatic } from './mps-static.js';

/** Load that steps from `low` to `high` rps at `at` seconds (Poisson within each step). */
const step =
  (low: number, high: number, at: number): TestFunction['arrivals'] =>
  seed =>
    piecewisePoissonStream(
      Float64Array.from({ length: 100 }, (_, i) => (i === 0 ? low : high)),
      at,
      false,
      createRng(seed, 'step'),
    );

const scenario = (fns: TestFunction[], durationSeconds = 300, gpus = 8) =>
  testScenario({ durationSeconds, functions: fns, nodes: 1, gpusPerNode: gpus });

// Flat 10 ms at any SM and batch: 100 rps per batch-1 instance, 800 at batch 8.
const flat = flatProfile(10);

describe('exclusive-kpa', () => {
  it('adds whole GPUs as load rises past 70 % of an instance', () => {
    const s = scenario([{ profile: flat, sloMs: 100, arrivals: step(100, 2000, 100) }], 400);
    const o = simulate({
      scenario: s,
      policy: createExclusiveKpa(s.kpa),
      placer: firstFitPlacer(8, 40960),
    });
    const reps = o.functions[0]?.replicas;
    // Flat 10 ms: batch 8 fits half the SLO -> 800 rps per GPU, KPA target 560.
    expect(reps?.[90]).toBe(1);
    // 2000 rps needs ceil(2000 / 560) = 4 instances.
    expect(reps?.[250]).toBe(4);
    expect(o.activeGpus[250]).toBe(4);
    expect(o.gpuSeconds).toBeGreaterThan(100 + 3 * 200);
  });
});

describe('mps-static', () => {
  it('picks the slicing on which one instance of every function takes the fewest GPUs', () => {
    const s = scenario([
      { profile: flat, memoryMiB: 2000, arrivals: [] },
      { profile: flat, memoryMiB: 20000, arrivals: [] },
    ]);
    // 2 slices: 0.5 + 0.5 beats 10 slices: 0.1 + 1 (the big one would take a whole GPU).
    expect(autoSlices(s.cluster, s.functions)).toBe(2);
    const small = scenario([
      { profile: flat, memoryMiB: 2000, arrivals: [] },
      { profile: flat, memoryMiB: 3000, arrivals: [] },
    ]);
    expect(autoSlices(small.cluster, small.functions)).toBe(10);
    const tiny = scenario([{ profile: flat, memoryMiB: 8000, arrivals: [] }]);
    expect(autoSlices(tiny.cluster, tiny.functions)).toBe(5);
  });

  it('charges each instance its slice and places k per GPU', () => {
    const s = scenario(
      [{ profile: flat, sloMs: 100, arrivals: step(50, 3000, 60), memoryMiB: 1000 }],
      200,
    );
    const policy = createMpsStatic(s.kpa, s.cluster, s.functions, 4);
    const o = simulate({
      scenario: s,
      policy,
      placer: placementPlacer(s, { 'equal-slice': { slots: 4 }, exclusive: {} }, x =>
        x.exclusive ? 'exclusive' : 'equal-slice',
      ),
    });
    const reps = o.functions[0]?.replicas[190] ?? 0;
    expect(reps).toBeGreaterThan(1);
    expect(o.activeGpus[190]).toBe(Math.ceil(reps / 4));
    expect(o.share[190]).toBeCloseTo(reps * 0.25, 6);
  });
});

describe('fast-gshare', () => {
  it('scales pods of one fixed configuration only when load leaves the ±20 % band', () => {
    const s = scenario([{ profile: flat, sloMs: 100, arrivals: step(30, 600, 100) }], 300);
    const o = simulate({
      scenario: s,
      policy: createFastGshare(8),
      placer: firstFitPlacer(8, 40960),
    });
    const f = o.functions[0];
    // One config: quota per pod never changes, so quota = pods x the pod's quota.
    const perPod = (f?.quota[50] ?? 0) / (f?.replicas[50] ?? 1);
    for (const t of [50, 150, 250]) {
      expect(f?.quota[t]).toBeCloseTo((f?.replicas[t] ?? 0) * perPod, 6);
    }
    expect(f?.replicas[250]).toBeGreaterThan(f?.replicas[50] ?? 0);
  });
});

describe('has-gpu', () => {
  it('raises the quota of its pod before it adds pods, and adds pods when that is not enough', () => {
    const s = scenario([{ profile: flat, sloMs: 100, arrivals: step(20, 3000, 60) }], 200);
    const o = simulate({ scenario: s, policy: createHasGpu(8), placer: firstFitPlacer(8, 40960) });
    const f = o.functions[0];
    expect(f?.replicas[50]).toBe(1);
    // Right after the step the quota of the existing pod rises.
    expect(f?.quota[62]).toBeGreaterThan(f?.quota[50] ?? 0);
    expect(f?.replicas[190]).toBeGreaterThan(1);
    expect(summarize(o).coldStarts).toBeGreaterThan(0);
  });

  it('scales down vertically after a drop, no more than once per 10 s cooldown', () => {
    const s = scenario([{ profile: flat, sloMs: 100, arrivals: step(2000, 20, 60) }], 200);
    const o = simulate({ scenario: s, policy: createHasGpu(8), placer: firstFitPlacer(8, 40960) });
    const q = o.functions[0]?.quota;
    let changes = 0;
    for (let t = 62; t < 200; t++) if ((q?.[t] ?? 0) !== (q?.[t - 1] ?? 0)) changes++;
    expect(q?.[199]).toBeLessThan(q?.[59] ?? 0);
    // Decisions every 2 s, scale-downs at least 10 s apart: at most one change per 10 s.
    expect(changes).toBeLessThanOrEqual(Math.ceil(138 / 10) + 1);
  });

  it('keeps at least one pod per function', () => {
    const s = scenario(
      [{ profile: flat, sloMs: 100, arrivals: seed => poissonStream(0.01, createRng(seed)) }],
      100,
    );
    const o = simulate({ scenario: s, policy: createHasGpu(8), placer: firstFitPlacer(8, 40960) });
    expect(Math.min(...(o.functions[0]?.replicas ?? [0]))).toBe(1);
  });
});

import { describe, expect, it } from '@jest/globals';
import { simulate } from '../engine/simulator.js';
import { summarize } from '../metrics.js';
import { placementPlacer } from '../placement-adapter.js';
import { createRng } from '../rng.js';
import { flatProfile, testScenario } from '../testing.js';
import { piecewisePoissonStream } from '../workload/arrival-stream.js';
import { createExecutionReader, createDiluPolicy } from './dilu.js';
import type { ScalingPolicy } from '../policy.js';
import { batchBusyMs, createPredictor } from '../../model/index.js';

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

describe('the execution figures the dilu adapter hands the policy', () => {
  it('reads each instance once per batch size, since the previous reading', () => {
    const reader = createExecutionReader();
    const view = {
      id: 7,
      smLimit: 40,
      executedBatches: [0, 2, 0, 1],
      executedBusySeconds: [0, 0.02, 0, 0.015],
      executedTotal: 3,
    };
    const v = view as unknown as Parameters<typeof reader.since>[0][number];
    expect(reader.since([v])).toEqual([
      { smLimit: 40, batches: 2, requests: 2, busySeconds: 0.02 },
      { smLimit: 40, batches: 1, requests: 3, busySeconds: 0.015 },
    ]);
    expect(reader.since([v])).toEqual([]);
    const later = {
      ...view,
      executedBatches: [0, 5, 0, 1],
      executedBusySeconds: [0, 0.05, 0, 0.015],
      executedTotal: 6,
    };
    const out = reader.since([later as unknown as typeof v]);
    expect(out).toHaveLength(1);
    expect(out[0]?.batches).toBe(3);
    expect(out[0]?.busySeconds).toBeCloseTo(0.03, 12);
  });

  it('matches the profile exactly in the simulator, bursts or not: introspection stays at 1', () => {
    // A bursty step (20 -> 4000 rps) queues requests for seconds: request latency soars,
    // GPU execution per batch does not.
    const s = scenario(20, 4000, 30, 90);
    const f = s.functions[0];
    if (f === undefined) throw new Error('no function');
    const predictor = createPredictor(f.profile);
    const reader = createExecutionReader();
    let observed = 0;
    let predicted = 0;
    let batches = 0;
    const inner = createDiluPolicy(s);
    const policy: ScalingPolicy = {
      name: 'probe',
      tickSeconds: 1,
      start: ctx => inner.start(ctx),
      tick: ctx => {
        for (const e of reader.since(ctx.instances(0))) {
          batches += e.batches;
          observed += e.busySeconds * 1000;
          predicted += e.batches * batchBusyMs(predictor, e.requests / e.batches, e.smLimit);
        }
        inner.tick(ctx);
      },
    };
    simulate({ scenario: s, policy, placer: placementPlacer(s, { dilu: {} }, () => 'dilu') });
    expect(batches).toBeGreaterThan(100);
    expect(observed / predicted).toBeCloseTo(1, 9);
  });
});

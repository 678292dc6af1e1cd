import { describe, expect, it } from '@jest/globals';
import { summarize } from '../metrics.js';
import type { InstanceView, NewInstance, PolicyContext, ScalingPolicy } from '../policy.js';
import { createRng } from '../rng.js';
import { firstFitPlacer, flatProfile, listStream, testScenario } from '../testing.js';
import { poissonStream } from '../workload/arrival-stream.js';
import { simulate } from './simulator.js';

const shape = (quota: number, extra: Partial<NewInstance> = {}): NewInstance => ({
  batch: 4,
  smRequest: quota,
  smLimit: quota,
  quota,
  memoryMiB: 1024,
  ...extra,
});

/** Starts `n` instances of every function and then does whatever `onTick` says. */
function staticPolicy(
  n: number,
  quota: number,
  onTick: (ctx: PolicyContext) => void = () => undefined,
): ScalingPolicy {
  return {
    name: 'static',
    tickSeconds: 1,
    start(ctx) {
      ctx.functions.forEach((_, fn) => {
        for (let i = 0; i < n; i++) ctx.addInstance(fn, shape(quota));
      });
    },
    tick: onTick,
  };
}

const poissonScenario = (rps: number, durationSeconds = 120) =>
  testScenario({
    durationSeconds,
    functions: [{ arrivals: seed => poissonStream(rps, createRng(seed, 'p')) }],
  });

describe('simulate', () => {
  it('is deterministic for a seed, and the seed changes the arrivals', () => {
    const run = (seed: number) =>
      summarize(
        simulate({
          scenario: poissonScenario(200),
          policy: staticPolicy(1, 50),
          placer: firstFitPlacer(2, 40960),
          seed,
        }),
      );
    const a = run(1);
    const b = run(1);
    const c = run(2);
    expect({ ...a, wallSeconds: 0, simulatedRequestsPerWallSecond: 0 }).toEqual({
      ...b,
      wallSeconds: 0,
      simulatedRequestsPerWallSecond: 0,
    });
    expect(c.requests).not.toBe(a.requests);
  });

  it('charges q/100 per instance per second, and a whole GPU for an exclusive one', () => {
    const o = simulate({
      scenario: poissonScenario(10, 100),
      policy: staticPolicy(2, 30),
      placer: firstFitPlacer(2, 40960),
    });
    expect(o.gpuSeconds).toBeCloseTo(2 * 0.3 * 100, 6);
    const m = summarize(o);
    expect(m.meanActiveGpus).toBe(1);
    expect(m.peakActiveGpus).toBe(1);
    expect(m.fragmentation.sm).toBeCloseTo(0.4, 6);
    expect(m.fragmentation.mem).toBeCloseTo(1 - 2048 / 40960, 6);
    const ex = simulate({
      scenario: poissonScenario(10, 100),
      policy: {
        name: 'x',
        tickSeconds: 1,
        start: ctx => ctx.addInstance(0, shape(30, { exclusive: true })),
        tick: () => undefined,
      },
      placer: firstFitPlacer(2, 40960),
    });
    expect(ex.gpuSeconds).toBeCloseTo(100, 6);
  });

  it('starts instances warm at time 0 and cold afterwards (pod start + model load)', () => {
    let added: InstanceView | undefined;
    const o = simulate({
      scenario: poissonScenario(10, 60),
      policy: staticPolicy(1, 20, ctx => {
        if (ctx.now === 10) added = ctx.addInstance(0, shape(20));
      }),
      placer: firstFitPlacer(2, 40960),
    });
    expect(o.coldStarts).toBe(1);
    // testScenario: pod start 2 s, model load 5 s.
    expect(added?.createdAt).toBe(10);
    expect(added?.readyAt).toBe(17);
    expect(o.gpuSeconds).toBeCloseTo(0.2 * 60 + 0.2 * 50, 6);
    expect(o.functions[0]?.replicas[9]).toBe(1);
    expect(o.functions[0]?.replicas[10]).toBe(2);
    expect(o.functions[0]?.quota[10]).toBe(40);
  });

  it('keeps Σ quota per GPU at or below 100, like the node agent', () => {
    const results: boolean[] = [];
    simulate({
      scenario: poissonScenario(10, 5),
      policy: staticPolicy(1, 40, ctx => {
        if (ctx.now !== 1) return;
        const other = ctx.addInstance(0, shape(50, { smLimit: 80, gpu: 0 }));
        const first = ctx.instances(0)[0];
        if (!other || !first) throw new Error('setup');
        results.push(ctx.setQuota(other.id, 60)); // 40 + 60 = 100: fine
        results.push(ctx.setQuota(other.id, 61)); // 101: refused
        results.push(ctx.setQuota(other.id, 81)); // above its limit: refused
        results.push(ctx.setQuota(first.id, 0.5)); // below 1: refused
        expect(ctx.gpu(0).quotaSum).toBe(100);
      }),
      placer: firstFitPlacer(2, 40960),
    });
    expect(results).toEqual([true, false, false, false]);
  });

  it('refuses a self-placed instance that does not fit, and rejects invalid shapes', () => {
    simulate({
      scenario: poissonScenario(1, 3),
      policy: staticPolicy(1, 90, ctx => {
        if (ctx.now !== 1) return;
        expect(ctx.addInstance(0, shape(20, { gpu: 0 }))).toBeUndefined();
        expect(ctx.addInstance(0, shape(20, { gpu: 1 }))).toBeDefined();
        expect(() => ctx.addInstance(0, shape(20, { quota: 30 }))).toThrow(/invalid instance/);
      }),
      placer: firstFitPlacer(2, 40960),
    });
  });

  it('lets a removed instance finish its batch and then frees its GPU', () => {
    const o = simulate({
      scenario: poissonScenario(300, 20),
      policy: staticPolicy(2, 50, ctx => {
        if (ctx.now === 5) {
          const last = ctx.instances(0)[1];
          if (last) ctx.removeInstance(last.id);
        }
      }),
      placer: firstFitPlacer(2, 40960),
    });
    expect(o.functions[0]?.replicas[4]).toBe(2);
    expect(o.functions[0]?.replicas[5]).toBe(1);
    // ~0.5 GPU for 5 s plus at most one batch, then 0.5 GPU.
    expect(o.gpuSeconds).toBeGreaterThanOrEqual(0.5 * 20 + 0.5 * 5);
    expect(o.gpuSeconds).toBeLessThan(0.5 * 20 + 0.5 * 5 + 0.5 * 0.02);
  });

  it('takes back the surplus quota of a removed instance still finishing its batch', () => {
    // One GPU: an instance r 40 raised to 80 is removed mid-batch (it keeps its GPU until the
    // batch ends); a new one asking 50 fits the requests (40 + 50 <= 100) and gets its
    // guaranteed share from the draining one's surplus instead of failing the placement.
    let placed: InstanceView | undefined;
    simulate({
      scenario: testScenario({
        durationSeconds: 4,
        nodes: 1,
        gpusPerNode: 1,
        // One 500 ms batch from 0.9 s: still running when the policy acts at 1 s.
        functions: [{ profile: flatProfile(500), sloMs: 2000, arrivals: () => listStream([0.9]) }],
      }),
      policy: {
        name: 'drain',
        tickSeconds: 1,
        start(ctx) {
          ctx.addInstance(0, shape(40, { smLimit: 100, batch: 1 }));
        },
        tick(ctx) {
          if (ctx.now !== 1) return;
          const first = ctx.instances(0)[0];
          if (!first || first.readyAt > 1) throw new Error('setup');
          expect(ctx.setQuota(first.id, 80)).toBe(true);
          ctx.removeInstance(first.id);
          placed = ctx.addInstance(0, shape(50));
          expect(ctx.gpu(0).quotaSum).toBeLessThanOrEqual(100);
        },
      },
      placer: firstFitPlacer(1, 40960),
    });
    expect(placed).toBeDefined();
  });

  it('reports SLO violations, drops and latency percentiles', () => {
    // 300 rps on one 10 ms instance at batch 4: fine; at batch 1 it saturates (100 rps).
    const ok = summarize(
      simulate({
        scenario: poissonScenario(300, 60),
        policy: staticPolicy(1, 100),
        placer: firstFitPlacer(2, 40960),
      }),
    );
    expect(ok.sloViolationRate).toBeLessThan(0.01);
    expect(ok.latencyMs.p50).toBeGreaterThanOrEqual(10);
    expect(ok.throughputRps).toBeGreaterThan(280);
    const overloaded = summarize(
      simulate({
        scenario: poissonScenario(300, 60),
        policy: {
          name: 'b1',
          tickSeconds: 1,
          start: ctx => ctx.addInstance(0, shape(100, { batch: 1 })),
          tick: () => undefined,
        },
        placer: firstFitPlacer(2, 40960),
      }),
    );
    expect(overloaded.sloViolationRate).toBeGreaterThan(0.5);
    expect(overloaded.dropped).toBeGreaterThan(0);
    expect(overloaded.completed).toBeLessThan(overloaded.requests);
  });
});

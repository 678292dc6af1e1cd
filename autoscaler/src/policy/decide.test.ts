import { describe, expect, it } from '@jest/globals';
import { createCoScalingPolicy } from './decide.js';
import { isStale } from './horizontal.js';
import type { InstanceSizing } from './sizing.js';
import { createInstanceSizer } from './sizer.js';
import type { FunctionSpecInput } from './spec.js';
import { PolicyInputError } from './policy-error.js';
import { createPolicyState } from './state.js';
import type {
  Decision,
  DecisionInput,
  InstanceView,
  LoadObservation,
  PolicyState,
} from './types.js';
import { EXACT, instance, settledState, spec, syntheticPredictor } from './test-fixtures.js';

const policy = createCoScalingPolicy();
const predictor = syntheticPredictor();

interface Step {
  readonly load: LoadObservation;
  readonly instances?: InstanceView[];
}

/** Runs consecutive one-second decisions on a fixed fleet; returns every decision. */
function run(
  steps: Step[],
  opts: {
    spec?: Partial<FunctionSpecInput>;
    instances?: InstanceView[];
    state?: PolicyState | undefined;
    start?: number;
  } = {},
): Decision[] {
  const s = spec({ ...opts.spec, knobs: { ...EXACT, ...opts.spec?.knobs } });
  let state = opts.state;
  const start = opts.start ?? 100;
  return steps.map((step, i) => {
    const d = policy.decide({
      spec: s,
      instances: step.instances ?? opts.instances ?? [],
      load: step.load,
      predictor,
      nowS: start + i,
      state,
    });
    state = d.state;
    return d;
  });
}

const constant = (rps: number, seconds: number): Step[] =>
  Array.from({ length: seconds }, () => ({ load: { samples: [rps] } }));
const codes = (d: Decision | undefined): string[] => d?.reasons.map(r => r.code) ?? [];

describe('Knative scale bounds', () => {
  it.each([
    // [case, spec, instances, load, desired]
    ['min-scale holds instances without load', { minScale: 2 }, 0, 0, 2],
    ['min-scale 0 with scale-to-zero off keeps one', { minScale: 0, scaleToZero: false }, 0, 0, 1],
    ['max-scale caps a scale-out', { maxScale: 3 }, 1, 2000, 3],
    ['max-scale removes instances above it', { maxScale: 2 }, 4, 300, 2],
  ])('%s', (_, bounds, n, rps, desired) => {
    const instances = Array.from({ length: n }, (_, i) => instance(`i${i}`));
    const [d] = run(constant(rps, 1), {
      spec: bounds,
      instances,
      state: settledState(rps, 100),
    });
    expect(d?.desiredReplicas).toBe(desired);
    expect(d?.add).toBe(Math.max(0, desired - n));
    expect(d?.remove).toHaveLength(Math.max(0, n - desired));
  });

  it('starts a new function at initial-scale and holds it until reached once', () => {
    const ds = run(constant(0, 3), { spec: { initialScale: 3, minScale: 0 } });
    expect(ds[0]?.desiredReplicas).toBe(3);
    expect(codes(ds[0])).toContain('initial-scale');
    expect(ds[0]?.state.initialized).toBe(false);
    const ready = [instance('a'), instance('b'), instance('c')];
    const [after] = run(constant(0, 1), {
      spec: { initialScale: 3 },
      instances: ready,
      state: ds[2]?.state,
      start: 103,
    });
    expect(after?.state.initialized).toBe(true);
  });

  it('starts at zero when initial-scale is 0 and zero is allowed', () => {
    const [d] = run(constant(0, 1), { spec: { initialScale: 0, minScale: 0 } });
    expect(d?.desiredReplicas).toBe(0);
  });
});

describe('scale to zero and activation', () => {
  const one = [instance('a')];
  it.each([
    // [case, spec, seconds of zero load, desired at the end]
    ['after the grace period of zero load', { minScale: 0 }, 61, 0],
    ['not before the grace period', { minScale: 0 }, 60, 1],
    ['never when scale-to-zero is disallowed', { minScale: 0, scaleToZero: false }, 200, 1],
    ['never below min-scale 1', { minScale: 1 }, 200, 1],
    ['after a shorter configured grace', { minScale: 0, knobs: { scaleToZeroGraceS: 10 } }, 11, 0],
  ])('%s', (_, s, seconds, desired) => {
    const ds = run(constant(0, seconds), { spec: s, instances: one, state: settledState(0, 100) });
    expect(ds.at(-1)?.desiredReplicas).toBe(desired);
    if (desired === 0) expect(codes(ds.at(-1))).toContain('scale-to-zero');
  });

  it('a single request restarts the grace period', () => {
    const steps = [...constant(0, 40), ...constant(1, 1), ...constant(0, 40)];
    const noResize = { minScale: 0, knobs: { resizeSavings: 1 } };
    const ds = run(steps, { spec: noResize, instances: one, state: settledState(0, 100) });
    expect(ds.every(d => d.desiredReplicas === 1)).toBe(true);
  });

  it.each([
    ['on the first request', { samples: [3] }],
    ['on requests waiting at the activator', { samples: [0], waiting: 2 }],
  ])('activates from zero %s', (_, load) => {
    const [d] = run([{ load }], { spec: { minScale: 0 }, state: settledState(0, 100) });
    expect(d?.add).toBeGreaterThanOrEqual(1);
    expect(codes(d)).toContain('activate');
  });

  it('activates with as many instances as the first load needs', () => {
    const [d] = run(constant(1000, 1), { spec: { minScale: 0 }, state: settledState(0, 100) });
    expect(d?.add).toBeGreaterThan(1);
  });
});

describe('panic mode', () => {
  const fleet = [instance('a'), instance('b')];

  it('enters when the panic window reaches 2x the target capacity, and scales up at once', () => {
    // Two instances reach 2 x 222 rps; 2 x 0.85 x 444 = 755. The panic window is an EMA over
    // panicWindowS (6 s), like KPA's 6-second average: a lone 1-second sample does not
    // panic, a jump that lasts does.
    const [one] = run(constant(1000, 1), { instances: fleet, state: settledState(100, 100) });
    expect(one?.figures.panic).toBe(false);
    const ds = run(constant(1000, 4), { instances: fleet, state: settledState(100, 100) });
    const entered = ds.find(d => codes(d).includes('panic-enter'));
    expect(entered?.figures.panic).toBe(true);
    expect(entered?.add).toBeGreaterThan(0);
  });

  it('does not panic on a jump the vertical dimension absorbs', () => {
    const [d] = run(constant(300, 1), { instances: fleet, state: settledState(100, 100) });
    expect(d?.figures.panic).toBe(false);
  });

  it('never scales down while panicking, and leaves after panicExitS of calm', () => {
    const state = settledState(800, 100, { panicSinceS: 99, calmSinceS: null, panicReplicas: 4 });
    const four = [instance('a'), instance('b'), instance('c'), instance('d')];
    const ds = run(constant(20, 70), { instances: four, state });
    const inPanic = ds.filter(d => d.figures.panic);
    expect(inPanic.length).toBeGreaterThanOrEqual(60);
    let high = 4;
    for (const d of inPanic) {
      // KPA: in panic the count follows the panic window and never decreases.
      expect(d.desiredReplicas).toBeGreaterThanOrEqual(high);
      expect(d.remove).toEqual([]);
      high = d.desiredReplicas;
      expect(d.quotaChanges.every(c => c.to >= c.from)).toBe(true);
    }
    expect(ds.some(d => codes(d).includes('panic-exit'))).toBe(true);
    expect(ds.at(-1)?.figures.panic).toBe(false);
  });

  it('starts in panic when a fresh state meets several ready instances (restart)', () => {
    const three = [instance('a'), instance('b'), instance('c')];
    const ds = run(constant(1, 40), { instances: three });
    expect(codes(ds[0])).toContain('panic-enter');
    expect(ds.every(d => d.desiredReplicas === 3)).toBe(true);
  });
});

describe('missing metrics hold the current scale', () => {
  const idle = settledState(0, 100, { zeroSinceS: 0, replicaDownSinceS: 0, quotaDownSinceS: 0 });
  const fleet = [instance('a', { quota: 40 }), instance('b', { quota: 40 })];

  it.each([
    ['no samples field', {}],
    ['an empty sample list', { samples: [] }],
    ['only a latency figure', { p95LatencyMs: 500 }],
  ])('%s: nothing changes, timers restart', (_, load) => {
    const [d] = run([{ load }], { spec: { minScale: 0 }, instances: fleet, state: idle });
    expect(d?.desiredReplicas).toBe(2);
    expect(d?.quotaChanges).toEqual([]);
    expect(d?.remove).toEqual([]);
    expect(codes(d)).toContain('metrics-missing');
    expect(d?.state).toMatchObject({
      zeroSinceS: null,
      replicaDownSinceS: null,
      quotaDownSinceS: null,
    });
    expect(d?.state.load).toEqual(idle.load);
  });

  it('still honours the configured bounds', () => {
    const [d] = run([{ load: {} }], { spec: { maxScale: 1 }, instances: fleet, state: idle });
    expect(d?.desiredReplicas).toBe(1);
  });
});

describe('introspection from measured GPU execution time', () => {
  // Synthetic batch 8 at l = 40: a batch of n takes busy(n) = 4 + 4n ms (batch / T).
  const fleet = [instance('a'), instance('b')];
  const busyS = (n: number): number => (4 + 4 * n) / 1000;
  const executed = (n: number, batches: number, stretch: number): LoadObservation => ({
    samples: [100],
    execution: [
      { smLimit: 40, batches, requests: n * batches, busySeconds: batches * busyS(n) * stretch },
    ],
  });

  it.each([
    // [case, batch size, batches, observed / predicted, factor after]
    ['as predicted: nothing to learn', 4, 50, 1, 1],
    ['slower than the profile: the first observation sets the factor', 4, 50, 1.5, 1.5],
    ['slower, other batch size', 8, 20, 1.25, 1.25],
    ['faster than the profile: never below 1', 4, 50, 0.7, 1],
    ['too few batches this tick: holds', 4, 3, 2, 1],
  ])('%s', (_, n, batches, stretch, factor) => {
    const [d] = run([{ load: executed(n, batches, stretch) }], {
      instances: fleet,
      state: settledState(100, 100),
    });
    expect(d?.state.correctionFactor).toBeCloseTo(factor, 6);
    expect(codes(d).includes('profile-correction')).toBe(factor !== 1);
  });

  it('compares each batch size with its own prediction (split entries are exact)', () => {
    const load: LoadObservation = {
      samples: [100],
      execution: [
        { smLimit: 40, batches: 10, requests: 10, busySeconds: 10 * busyS(1) * 2 },
        { smLimit: 40, batches: 10, requests: 80, busySeconds: 10 * busyS(8) * 2 },
      ],
    };
    const [d] = run([{ load }], { instances: fleet, state: settledState(100, 100) });
    expect(d?.state.correctionFactor).toBeCloseTo(2, 6);
  });

  it('moves the factor as an EWMA (correctionAlpha) after the first observation', () => {
    const state = settledState(100, 100, { correctionFactor: 1, correctionObservations: 5 });
    const [d] = run([{ load: executed(4, 50, 2) }], { instances: fleet, state });
    expect(d?.state.correctionFactor).toBeCloseTo(1 + 0.2 * (2 - 1), 6);
  });

  it('never learns from request latency: a slow p95 from queueing leaves the profile alone', () => {
    const ds = run(
      Array.from({ length: 10 }, () => ({ load: { samples: [100], p95LatencyMs: 190 } })),
      { instances: fleet, state: settledState(100, 100) },
    );
    expect(ds.every(d => d.state.correctionFactor === 1)).toBe(true);
  });

  it('raises quotas to the floor of the corrected model', () => {
    const state = settledState(100, 100, { correctionFactor: 2.5, correctionObservations: 3 });
    const [plain] = run(constant(100, 1), { instances: fleet, state: settledState(100, 100) });
    const [d] = run(constant(100, 1), { instances: fleet, state });
    const to = (x: Decision | undefined): number =>
      Math.max(...(x?.quotaChanges ?? []).map(c => c.to), 20);
    expect(to(d)).toBeGreaterThan(to(plain));
  });

  it('ignores execution figures of best-effort functions only for the alarm, not the model', () => {
    const [d] = run([{ load: { ...executed(4, 50, 1.5), p95LatencyMs: 5000 } }], {
      spec: { class: 'best-effort', sloMs: undefined },
      instances: fleet,
      state: settledState(100, 100),
    });
    expect(d?.state.correctionFactor).toBeCloseTo(1.5, 6);
    expect(codes(d)).not.toContain('latency-alarm');
  });
});

describe('the latency alarm is a capacity action', () => {
  const fleet = [instance('a'), instance('b')];
  const slow = (p95: number, rps = 100): Step => ({ load: { samples: [rps], p95LatencyMs: p95 } });

  it.each([
    // [case, p95, load, alarm]
    ['p95 at 95 % of the SLO within capacity', 190, 100, true],
    ['p95 below 90 % of the SLO', 170, 100, false],
    ['overloaded (throughput): the load rules act, not the alarm', 190, 600, false],
  ])('%s', (_, p95, rps, alarm) => {
    const [d] = run([slow(p95, rps)], { instances: fleet, state: settledState(rps, 100) });
    expect(codes(d).includes('latency-alarm')).toBe(alarm);
    if (alarm) {
      // one latencyQuotaStep (10 % of l = 4 points) on every ready instance, at least
      for (const id of ['a', 'b']) {
        expect(d?.quotaChanges.find(c => c.id === id)?.to).toBeGreaterThanOrEqual(24);
      }
    }
    expect(d?.state.correctionFactor).toBe(1);
  });

  it('raises the latency margin while the alarm lasts, up to latencyMarginMax', () => {
    const ds = run(
      Array.from({ length: 12 }, () => slow(195)),
      { instances: fleet, state: settledState(100, 100) },
    );
    const margins = ds.map(d => d.state.latencyMargin ?? 1);
    expect(margins[0]).toBe(1); // the first alarming tick only steps the quotas
    expect(margins[1]).toBeCloseTo(1.1, 9);
    expect(margins.at(-1)).toBe(2);
  });

  it('relaxes the margin while p95 stays well under the SLO', () => {
    const state = settledState(100, 100, { latencyMargin: 1.6 });
    const ds = run(
      Array.from({ length: 40 }, () => slow(60)),
      { instances: fleet, state },
    );
    const margins = ds.map(d => d.state.latencyMargin ?? 1);
    expect(margins[0]).toBeLessThan(1.6);
    expect(margins.at(-1)).toBeLessThan(1.01);
    expect(Math.min(...margins)).toBeGreaterThanOrEqual(1);
  });

  it('adds an instance once the alarm lasts and no quota can rise', () => {
    const full = [
      instance('a', { quota: 40, quotaHeadroom: 0 }),
      instance('b', { quota: 40, quotaHeadroom: 0 }),
    ];
    const ds = run(
      Array.from({ length: 3 }, () => slow(195, 100)),
      { instances: full, state: settledState(100, 100) },
    );
    expect(ds[0]?.add).toBe(0);
    expect(ds.at(-1)?.add).toBe(1);
    expect(codes(ds.at(-1))).toContain('scale-out');
  });

  it('holds quota scale-down while it sounds', () => {
    const high = [instance('a', { quota: 40 }), instance('b', { quota: 40 })];
    const ds = run(
      Array.from({ length: 12 }, () => slow(195, 20)),
      { instances: high, state: settledState(20, 100) },
    );
    expect(ds.every(d => d.quotaChanges.every(c => c.to >= c.from))).toBe(true);
  });
});

describe('resize when the load has outgrown the fleet configuration', () => {
  it('starts instances of the cheaper configuration, then drops the old ones when ready', () => {
    // A single big instance (batch 16, l 100) for a trickle of 5 rps: its request wastes SM.
    // The saving must hold for resizeDelayS (300 s) before a resize pays its cold start.
    const big = instance('big', { batch: 16, smRequest: 40, smLimit: 100, quota: 40 });
    const early = run(constant(5, 299), { instances: [big], state: settledState(5, 100) });
    expect(early.some(d => codes(d).includes('resize'))).toBe(false);
    const ds = run(constant(5, 301), { instances: [big], state: settledState(5, 100) });
    const resized = ds.find(d => codes(d).includes('resize'));
    expect(resized).toBeDefined();
    expect(resized?.add).toBe(1);
    const fresh = resized?.newInstance;
    expect(fresh?.smRequest).toBeLessThan(40);
    // Once the new instance is ready, the stale one goes at once.
    const next = instance('new', {
      batch: fresh?.batch ?? 1,
      smRequest: fresh?.smRequest ?? 1,
      smLimit: fresh?.smLimit ?? 1,
      quota: fresh?.smRequest ?? 1,
      createdAtS: 200,
    });
    const [after] = run(constant(5, 1), {
      instances: [big, next],
      state: resized?.state,
      start: 420,
    });
    expect(after?.remove).toEqual(['big']);
  });
});

describe('resize: which fleets are replaced', () => {
  // A fleet of batch 8, l 40 asking r = 38: far more than 5 rps needs.
  const greedy = [instance('g', { batch: 8, smRequest: 38, smLimit: 40, quota: 38 })];

  it.each([
    // [case, min scale, samples, resized]
    ['an over-asking request is replaced like another configuration', 1, 5, true],
    ['an idle function kept by min-scale 1 is still resized', 1, 0, true],
    ['one that may scale to zero is left to scale-to-zero', 0, 0, false],
  ])('%s', (_, minScale, rps, resized) => {
    const ds = run(constant(rps, 301), {
      spec: { minScale },
      instances: greedy,
      state: settledState(rps, 100),
    });
    expect(ds.some(d => codes(d).includes('resize'))).toBe(resized);
  });

  it('counts an instance asking more than the configuration as stale, one asking less not', () => {
    const sizing = { batch: 8, smRequest: 20, smLimit: 40 } as Parameters<typeof isStale>[1];
    const figure = (smRequest: number) =>
      ({ view: instance('x', { smRequest, quota: Math.max(20, smRequest) }) }) as Parameters<
        typeof isStale
      >[0];
    expect(isStale(figure(30), sizing)).toBe(true);
    expect(isStale(figure(10), sizing)).toBe(false);
    expect(isStale(figure(20), sizing)).toBe(false);
  });
});

describe('the remembered load peak', () => {
  it.each([
    // [case, SLO ms, samples, expected peak]
    // (one second of decay since: 300 x 2^(-1/1800))
    [
      'takes the per-second peak when the SLO is under a second',
      200,
      [10, 300, 20],
      300 * 2 ** (-1 / 1800),
    ],
    ['smooths over the SLO: a request may wait that long', 2700, [0, 100], 100 * (2 / 3.7)],
    ['halves after burstHalfLifeS', 200, [300, ...Array.from({ length: 1800 }, () => 0)], 150],
  ])('%s', (_, sloMs, samples, peak) => {
    const ds = run(
      samples.map(v => ({ load: { samples: [v] } })),
      { spec: { sloMs }, instances: [instance('a')], state: settledState(0, 100) },
    );
    expect(ds.at(-1)?.state.peakRps).toBeCloseTo(peak, 6);
    expect(ds.at(-1)?.figures.peakRps).toBeCloseTo(peak, 6);
  });

  it('reads a state written before the peak and margin existed as zero and one', () => {
    const {
      peakRps: _p,
      sloMeanRps: _m,
      latencyMargin: _l,
      alarmSinceS: _a,
      ...old
    } = settledState(100, 100);
    const [d] = run(constant(100, 1), { instances: [instance('a')], state: old });
    expect(d?.state.peakRps).toBeCloseTo(100, 6);
    expect(d?.figures.latencyMargin).toBe(1);
  });
});

describe('a function that has never had a request', () => {
  const sizer = createInstanceSizer();
  const s = spec({ knobs: EXACT });
  const handle = sizer.handle(predictor, { sloMs: s.sloMs, class: s.class, knobs: s.knobs });
  const blind = handle.size();
  const zero = handle.size(0, 0);
  const pick = (x: InstanceSizing | undefined) =>
    x && { batch: x.batch, smRequest: x.smRequest, smLimit: x.smLimit };

  it('gets the load-blind configuration the webhook gives, not the zero-load one', () => {
    // The premise: at zero load sizing picks a configuration with less room than the
    // load-blind one, which is what a first load would be left with.
    expect(zero.smLimit).toBeLessThan(blind.smLimit);
    const [d] = run(constant(0, 1), { spec: { knobs: EXACT } });
    expect(pick(d?.newInstance)).toEqual(pick(blind));
    expect(d?.add).toBe(1);
  });

  it('is sized for its load once it has had one', () => {
    const ds = run([...constant(0, 1), ...constant(50, 1)], { spec: { knobs: EXACT } });
    const peak = ds[1]?.state.peakRps ?? 0;
    expect(peak).toBeGreaterThan(0);
    const f = ds[1]?.figures;
    const reach = Math.max(s.knobs.burstHeadroom * peak, f?.forecastRps ?? 0);
    const loaded = handle.size(f?.predictedRps, reach);
    expect(pick(loaded)).not.toEqual(pick(blind));
    expect(pick(ds[1]?.newInstance)).toEqual(pick(loaded));
  });
});

describe('a scale-out starts the configuration sizing prefers', () => {
  it('replaces an outgrown configuration when that takes no more cold starts', () => {
    // Tiny instances (batch 1, l 10: ~60 rps each) meet a load of 900 rps: the fleet's own
    // configuration would need many more; a larger one carries it with fewer.
    const tiny = [0, 1].map(i =>
      instance(`t${i}`, { batch: 1, smRequest: 5, smLimit: 10, quota: 10 }),
    );
    const [d] = run(constant(900, 1), { instances: tiny, state: settledState(900, 100) });
    expect(codes(d)).toContain('resize');
    expect(d?.newInstance.smLimit).toBeGreaterThan(10);
    expect(d?.add).toBeGreaterThan(0);
    expect(d?.add).toBeLessThan(Math.ceil(900 / (0.9 * 55)) - 2);
  });
});

describe('determinism, purity and input checks', () => {
  const input: DecisionInput = {
    spec: spec(),
    instances: [instance('a'), instance('b', { ready: false })],
    load: { samples: [120, 180, 240], p95LatencyMs: 150 },
    predictor,
    nowS: 1000,
    state: deepFreeze(settledState(100, 999)),
  };

  it('gives the same decision for the same input, and never touches the input state', () => {
    const a = policy.decide(input);
    const b = createCoScalingPolicy().decide(input);
    expect(b).toEqual(a);
    expect(a.state).not.toBe(input.state);
  });

  it('keeps no hidden state between calls', () => {
    const first = policy.decide(input);
    policy.decide({ ...input, load: { samples: [5000] } });
    expect(policy.decide(input)).toEqual(first);
  });

  it('returns a state that serializes as plain data', () => {
    const d = policy.decide(input);
    expect(JSON.parse(JSON.stringify(d.state))).toEqual(d.state);
    expect(createPolicyState()).toMatchObject({ lastTickS: null, correctionFactor: 1 });
  });

  it.each([
    [{ nowS: Number.NaN }, 'nowS'],
    [{ nowS: 10 }, 'nowS'],
    [{ load: { samples: [1, -2] } }, 'load.samples[1]'],
    [{ load: { samples: [Number.POSITIVE_INFINITY] } }, 'load.samples[0]'],
    [{ load: { samples: [1], p95LatencyMs: 0 } }, 'load.p95LatencyMs'],
    [{ load: { samples: [1], waiting: -1 } }, 'load.waiting'],
    [
      {
        load: {
          samples: [1],
          execution: [{ smLimit: 0, batches: 1, requests: 1, busySeconds: 0 }],
        },
      },
      'load.execution[0].smLimit',
    ],
    [
      {
        load: {
          samples: [1],
          execution: [{ smLimit: 40, batches: 1.5, requests: 2, busySeconds: 0 }],
        },
      },
      'load.execution[0].batches',
    ],
    [
      {
        load: {
          samples: [1],
          execution: [{ smLimit: 40, batches: 2, requests: 1, busySeconds: 0 }],
        },
      },
      'load.execution[0].requests',
    ],
    [
      {
        load: {
          samples: [1],
          execution: [{ smLimit: 40, batches: 1, requests: 1, busySeconds: -1 }],
        },
      },
      'load.execution[0].busySeconds',
    ],
    [{ instances: [instance('a', { quota: 50 })] }, 'instances[0].quota'],
    [{ instances: [instance('a', { quota: 10 })] }, 'instances[0].quota'],
    [{ instances: [instance('a', { smLimit: 10 })] }, 'instances[0].smLimit'],
    [{ instances: [instance('a', { smRequest: 0 })] }, 'instances[0].smRequest'],
    [{ instances: [instance('a', { batch: 0 })] }, 'instances[0].batch'],
    [{ instances: [instance('a', { quotaHeadroom: -1 })] }, 'instances[0].quotaHeadroom'],
    [{ instances: [instance('a', { id: '' })] }, 'instances[0].id'],
    [{ instances: [instance('a'), instance('a')] }, 'instances[1].id'],
  ])('rejects %j naming %s', (patch, field) => {
    let caught: unknown;
    try {
      policy.decide({ ...input, ...patch });
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(PolicyInputError);
    expect((caught as PolicyInputError).field).toBe(field);
  });
});

function deepFreeze<T>(o: T): T {
  if (o !== null && typeof o === 'object') {
    for (const v of Object.values(o)) deepFreeze(v);
    Object.freeze(o);
  }
  return o;
}

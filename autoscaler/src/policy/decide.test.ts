import { describe, expect, it } from '@jest/globals';
import { createCoScalingPolicy } from './decide.js';
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

  it('enters on a sudden load of 2x the target capacity and scales up at once', () => {
    // Two instances reach 2 x 222 rps; 2 x 0.85 x 444 = 755.
    const [d] = run(constant(800, 1), { instances: fleet, state: settledState(100, 100) });
    expect(d?.figures.panic).toBe(true);
    expect(codes(d)).toContain('panic-enter');
    expect(d?.add).toBeGreaterThan(0);
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

describe('introspective correction from observed latency', () => {
  // Bound at q = 20: 2 x 36 ms x 40 / 20 = 144 ms; SLO 200 ms, alarm at 180 ms.
  const fleet = [instance('a'), instance('b')];
  const withLatency = (p95: number, rps = 100): Step => ({
    load: { samples: [rps], p95LatencyMs: p95 },
  });

  it.each([
    // [case, p95, load, factor moves, alarm]
    ['latency near the SLO: profile optimistic, quota up', 190, 100, 'up', true],
    ['latency above the bound but below the alarm', 170, 100, 'up', false],
    ['latency within the bound: nothing to learn', 120, 100, 'same', false],
    ['overloaded: queueing, not the profile', 190, 600, 'same', false],
  ])('%s', (_, p95, rps, move, alarm) => {
    const [d] = run([withLatency(p95, rps)], { instances: fleet, state: settledState(rps, 100) });
    const f = d?.state.correctionFactor ?? 1;
    if (move === 'up') expect(f).toBeGreaterThan(1);
    else expect(f).toBe(1);
    expect(codes(d).includes('latency-alarm')).toBe(alarm);
    expect(codes(d).includes('profile-correction')).toBe(move === 'up');
    if (alarm) {
      // one latencyQuotaStep (10 % of l = 4 points) on every ready instance, at least
      for (const id of ['a', 'b']) {
        expect(d?.quotaChanges.find(c => c.id === id)?.to).toBeGreaterThanOrEqual(24);
      }
    }
  });

  it('learns the ratio of observed to promised latency (EWMA)', () => {
    const [d] = run([withLatency(288)], { instances: fleet, state: settledState(100, 100) });
    expect(d?.state.correctionFactor).toBeCloseTo(2, 6); // first observation: 288 / 144
    expect(d?.state.correctionObservations).toBe(1);
  });

  it('raises quotas to the floor of the corrected model', () => {
    const state = settledState(100, 100, { correctionFactor: 2.5, correctionObservations: 3 });
    const [d] = run(constant(100, 1), { instances: fleet, state });
    // Corrected L(8, 40) = 90 ms: the floor is 2 x 90 x band x 40 / 200 >= 36.
    for (const c of d?.quotaChanges ?? []) expect(c.to).toBeGreaterThanOrEqual(36);
    expect(codes(d)).toContain('latency-floor');
  });

  it('relaxes toward 1 while latency stays well under the SLO', () => {
    const state = settledState(100, 100, { correctionFactor: 1.6, correctionObservations: 5 });
    const ds = run(
      Array.from({ length: 30 }, () => withLatency(60)),
      { instances: fleet, state },
    );
    const factors = ds.map(d => d.state.correctionFactor);
    expect(factors[0]).toBeLessThan(1.6);
    expect(factors.at(-1)).toBeLessThan(1.01);
    expect(Math.min(...factors)).toBeGreaterThanOrEqual(1);
  });

  it('ignores latency for best-effort functions', () => {
    const [d] = run([withLatency(5000)], {
      spec: { class: 'best-effort', sloMs: undefined },
      instances: fleet,
      state: settledState(100, 100),
    });
    expect(d?.state.correctionFactor).toBe(1);
    expect(codes(d)).not.toContain('latency-alarm');
  });
});

describe('resize when the load has outgrown the fleet configuration', () => {
  it('starts instances of the cheaper configuration, then drops the old ones when ready', () => {
    // A single big instance (batch 16, l 100) for a trickle of 5 rps: its floor wastes SM.
    const big = instance('big', { batch: 16, smRequest: 40, smLimit: 100, quota: 40 });
    const ds = run(constant(5, 31), { instances: [big], state: settledState(5, 100) });
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
      start: 140,
    });
    expect(after?.remove).toEqual(['big']);
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

import { describe, expect, it } from '@jest/globals';
import { createCoScalingPolicy } from './decide.js';
import { assessInstances } from './fleet.js';
import { removalOrder, replicasAfterRemoval, replicasFor } from './horizontal.js';
import { resolveKnobs } from './knobs.js';
import { latencyFloorQuota } from './latency-bound.js';
import { sizeInstance } from './sizing.js';
import type { Decision, InstanceView, PolicyState } from './types.js';
import { EXACT, instance, settledState, spec, syntheticPredictor } from './test-fixtures.js';

const policy = createCoScalingPolicy();
const predictor = syntheticPredictor();
const knobs = resolveKnobs();
const T = 8000 / 36; // capacity of a batch-8, l-40 synthetic instance at its limit

function figures(instances: InstanceView[]) {
  return assessInstances(instances, predictor, (b, l) =>
    latencyFloorQuota(predictor, b, l, 200, knobs),
  );
}

describe('replicasFor (even split, vertical reach counted first)', () => {
  it.each([
    ['no load: keep', 0, 2, 2],
    ['fits the reachable capacity', 300, 2, 2],
    ['one more needed', 450, 2, 3],
    ['from zero', 450, 0, Math.ceil(450 / (0.9 * T))],
  ])('%s', (_, demand, n, expected) => {
    const fs = figures(Array.from({ length: n }, (_, i) => instance(`i${i}`)));
    expect(replicasFor(demand, fs, T, 0.9)).toBe(expected);
  });

  it('lets the weakest instance bound what every instance may carry', () => {
    const fs = figures([instance('a'), instance('b', { quotaHeadroom: 0 })]);
    // b is stuck at q = 20 (111 rps): two instances carry at most 2 x 0.9 x 111 = 200.
    expect(replicasFor(210, fs, T, 0.9)).toBe(3);
  });
});

describe('removalOrder', () => {
  it('removes stale, then starting (newest first), then the least useful ready ones', () => {
    const sizing = sizeInstance(predictor, { sloMs: 200 });
    const fleet = { batch: sizing.batch, smRequest: sizing.smRequest, smLimit: sizing.smLimit };
    const fs = figures([
      instance('ready-roomy', { ...fleet, quota: fleet.smRequest }),
      instance('ready-stuck', { ...fleet, quota: fleet.smRequest, quotaHeadroom: 0 }),
      instance('starting-old', { ...fleet, quota: fleet.smRequest, ready: false, createdAtS: 5 }),
      instance('starting-new', { ...fleet, quota: fleet.smRequest, ready: false, createdAtS: 9 }),
      instance('stale-ready', { batch: 1, smRequest: 10, smLimit: 10, quota: 10 }),
    ]);
    expect(removalOrder(fs, sizing).map(f => f.view.id)).toEqual([
      'stale-ready',
      'starting-new',
      'starting-old',
      'ready-stuck',
      'ready-roomy',
    ]);
  });
});

describe('replicasAfterRemoval', () => {
  it.each([
    ['keeps what the load needs at 0.8', 300, 4, 2],
    ['never below one', 0, 4, 1],
    ['never below the floor', 0, 4, 3],
    ['keeps all when all are needed', 700, 4, 4],
  ])('%s', (_, demand, n, expected) => {
    const fs = figures(Array.from({ length: n }, (_, i) => instance(`i${i}`)));
    const floor = expected === 3 ? 3 : 0;
    expect(
      replicasAfterRemoval(
        demand,
        removalOrder(fs, sizeInstance(predictor, { sloMs: 200 })),
        0.8,
        floor,
      ),
    ).toBe(expected);
  });

  it('counts only ready instances among those that remain', () => {
    const order = figures([instance('ready'), instance('starting', { ready: false })]);
    // Removing "ready" would leave only a starting instance: not allowed.
    expect(replicasAfterRemoval(10, order, 0.8, 0)).toBe(2);
    expect(replicasAfterRemoval(10, [...order].reverse(), 0.8, 0)).toBe(1);
  });

  it('finds that removing two weak instances works although removing one does not', () => {
    const weak = { quotaHeadroom: 0 }; // stuck at 111 rps
    const order = figures([
      instance('w1', weak),
      instance('w2', weak),
      instance('s1'),
      instance('s2'),
    ]);
    // After removing w1 the bottleneck is still w2 (3 x 0.8 x 111 = 267 < 300); after
    // removing both, two strong ones carry 2 x 0.8 x 222 = 355 >= 300.
    expect(replicasAfterRemoval(300, order, 0.8, 0)).toBe(2);
  });
});

function run(
  instances: InstanceView[],
  loads: number[],
  opts: {
    knobs?: Record<string, unknown>;
    start?: number;
    state?: PolicyState;
    minScale?: number;
  } = {},
): Decision[] {
  const start = opts.start ?? 100;
  let state = opts.state ?? settledState(loads[0] ?? 0, start);
  return loads.map((rps, i) => {
    const d = policy.decide({
      spec: spec({
        minScale: opts.minScale ?? 1,
        knobs: { ...EXACT, burstHeadroom: 1, ...opts.knobs },
      }),
      instances,
      load: { samples: [rps] },
      predictor,
      nowS: start + i,
      state,
    });
    state = d.state;
    return d;
  });
}

describe('replica scale-in with delay', () => {
  const fleet = (n: number): InstanceView[] =>
    Array.from({ length: n }, (_, i) => instance(`i${i}`));

  it.each([
    // [case, instances, load, seconds, expected desired at the end]
    ['not before scaleDownDelayS', 4, 300, 30, 4],
    ['after scaleDownDelayS: down to the instances that stay above r', 4, 300, 31, 3],
    ['after scaleDownDelayS: as far as the rate limit allows', 4, 150, 31, 2],
    ['not while every instance stays above r (quotas come down first)', 4, 400, 40, 4],
    ['not when every instance is needed', 3, 500, 40, 3],
    ['at most halving per decision (max-scale-down-rate 2)', 8, 10, 31, 4],
    ['never below min-scale', 4, 0, 31, 3],
  ])('%s', (_, n, rps, seconds, expected) => {
    const ds = run(
      fleet(n),
      Array.from({ length: seconds }, () => rps),
      {
        minScale: expected === 3 && rps === 0 ? 3 : 1,
      },
    );
    expect(ds.at(-1)?.desiredReplicas).toBe(expected);
    if (expected < n) {
      const last = ds.at(-1);
      expect(last?.remove).toHaveLength(n - expected);
      expect(last?.reasons.map(r => r.code)).toContain('scale-in');
    }
  });

  it('sizes the removal for the highest forecast of the delay window', () => {
    const free = { knobs: { maxScaleDownRate: 10 } };
    // 150 rps alone fits one instance at 0.8 (178 rps); a 200 rps second inside the
    // window needs two, and two would both stay above r (2 x 0.85 x 111 = 189 <= 200).
    const spiky = Array.from({ length: 31 }, (_, i) => (i === 10 ? 200 : 150));
    expect(run(fleet(3), spiky, free).at(-1)?.desiredReplicas).toBe(2);
    const calm = Array.from({ length: 31 }, () => 150);
    expect(run(fleet(3), calm, free).at(-1)?.desiredReplicas).toBe(1);
  });

  it('removes the starting instances first', () => {
    const instances = [
      instance('a'),
      instance('b'),
      instance('c', { ready: false, createdAtS: 50 }),
    ];
    const last = run(
      instances,
      Array.from({ length: 31 }, () => 100),
    ).at(-1);
    expect(last?.remove[0]).toBe('c');
  });
});

describe('burst headroom: extra instances only while they stay above their floor', () => {
  it.each([
    // load, burstHeadroom, expected instances (synthetic b8 l40 r20: floor capacity 111 rps)
    [180, 1, 1],
    [180, 1.5, 1], // 1.5 x 180 = 270 wants 2, but 2 instances would sit at 90 rps < 0.85 x 111
    [400, 1, 2],
    [400, 1.5, 3], // 600 wants 3; 3 x 0.85 x 111 = 283 <= 400: all stay above r
  ])('load %d, headroom %d -> %d', (rps, burstHeadroom, expected) => {
    const d = run([instance('a')], [rps], { knobs: { burstHeadroom } }).at(-1);
    expect(d?.desiredReplicas).toBe(expected);
  });
});

describe('anticipating the cold start', () => {
  it('adds instances for the load one cold start ahead on a rising trend', () => {
    const state = settledState(150, 100, {
      load: { level: 150, variance: 0, trend: 5, short: 150, lastSample: 150, samples: 100 },
    });
    const blind = run([instance('a')], [150], { state, knobs: { anticipateColdStart: false } });
    const ahead = run([instance('a')], [150], { state, knobs: { anticipateColdStart: true } });
    expect(blind.at(-1)?.add).toBe(0);
    // 150 + 5 rps/s x (10 s model load + 2 s pod start) = 210 > 0.9 x 222.
    expect(ahead.at(-1)?.add).toBe(1);
    expect(ahead.at(-1)?.figures.forecastRps).toBeCloseTo(150 + 4.5 * 12, 0);
  });
});

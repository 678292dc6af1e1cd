import { describe, expect, it } from '@jest/globals';
import { createCoScalingPolicy } from './decide.js';
import { assessInstances } from './fleet.js';
import { removalOrder, replicasAfterRemoval, replicasFor } from './horizontal.js';
import { resolveKnobs } from './knobs.js';
import { latencyFloorQuota } from './latency-bound.js';
import { sizeInstance } from './sizing.js';
import type { Decision, InstanceView, PolicyState } from './types.js';
import {
  EXACT,
  instance,
  settledState,
  spec,
  realHandle,
  syntheticPredictor,
  throughputHandle,
} from './test-fixtures.js';

const policy = createCoScalingPolicy();
const predictor = syntheticPredictor();
const knobs = resolveKnobs();
const T = 8000 / 36; // capacity of a batch-8, l-40 synthetic instance at its limit

function figures(instances: InstanceView[]) {
  return assessInstances(
    instances,
    throughputHandle(predictor, (b, l) => latencyFloorQuota(predictor, b, l, 200, knobs)),
  );
}

describe.each([
  ['even split', false],
  ['one shared queue', true],
])('replicasFor (%s, vertical reach counted first)', (_, sharedQueue) => {
  it.each([
    ['no load: keep', 0, 2, 2],
    ['fits the reachable capacity', 300, 2, 2],
    ['one more needed', 450, 2, 3],
    ['from zero', 450, 0, Math.ceil(450 / (0.9 * T))],
  ])('%s', (_, demand, n, expected) => {
    const fs = figures(Array.from({ length: n }, (_, i) => instance(`i${i}`)));
    expect(replicasFor(demand, fs, T, 0.9, sharedQueue)).toBe(expected);
  });
});

describe('replicasFor with an instance stuck at its quota', () => {
  it('lets the weakest instance bound what every instance may carry under an even split', () => {
    const fs = figures([instance('a'), instance('b', { quotaHeadroom: 0 })]);
    // b is stuck at q = 20 (111 rps): two instances carry at most 2 x 0.9 x 111 = 200.
    expect(replicasFor(210, fs, T, 0.9)).toBe(3);
  });

  it('counts it for what it serves with one shared queue, not as the bound on every share', () => {
    const fs = figures([instance('a'), instance('b', { quotaHeadroom: 0 })]);
    // a reaches 222 rps, b 111: together 0.9 x 333 = 300 >= 210; 320 needs one more.
    expect(replicasFor(210, fs, T, 0.9, true)).toBe(2);
    expect(replicasFor(320, fs, T, 0.9, true)).toBe(3);
    // Two stuck instances and 600 rps: (600 / 0.9 - 222) / 222 -> 2 more, not 6 in all.
    const stuck = figures([
      instance('c', { quotaHeadroom: 0 }),
      instance('d', { quotaHeadroom: 0 }),
    ]);
    expect(replicasFor(600, stuck, T, 0.9, true)).toBe(4);
    // An even split bounds every share by 111 rps: 600 / (0.9 x 111) -> 6.
    expect(replicasFor(600, stuck, T, 0.9)).toBe(6);
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
        // The load rule alone: keep-alive holds no more than the settled load needs.
        knobs: { ...EXACT, burstReserve: 0, burstHeadroom: 1, ...opts.knobs },
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
    // 300 rps: two instances carry it at 0.8 (2 x 0.8 x 222 = 355); instances above their
    // floor are no longer kept for free: each holds the quota its share needs for latency.
    ['after scaleDownDelayS: down to what carries the load at 0.8', 4, 300, 31, 2],
    ['after scaleDownDelayS: as far as the rate limit allows', 4, 150, 31, 2],
    // 400 rps: three would carry it on throughput (533), not within the SLO at 0.8 each.
    ['not when fewer would miss the SLO', 4, 400, 40, 4],
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

describe('keep-alive: the remembered peak keeps the instances that reach it', () => {
  const fleet = (n: number): InstanceView[] =>
    Array.from({ length: n }, (_, i) => instance(`i${i}`));
  const quiet = Array.from({ length: 31 }, () => 20);
  // The instances kept: those of the fleet's configuration that reach burstHeadroom x the
  // peak at their limits (throughput at 0.9, and the batches of a burst within the SLO).
  const h = realHandle(predictor, 200);
  const config = { batch: 8, smRequest: 20, smLimit: 40 };
  it.each([
    // [remembered peak, burstHeadroom]
    [0, 1],
    [150, 1],
    [390, 1],
    [550, 1],
    [390, 1.5],
  ])('peak %d rps x headroom %d keeps what reaches it', (peakRps, burstHeadroom) => {
    const state = settledState(20, 100, { peakRps });
    const last = run(fleet(4), quiet, { state, knobs: { burstHeadroom, maxScaleDownRate: 10 } }).at(
      -1,
    );
    const reach = peakRps > 0 ? h.peakReplicas(config, burstHeadroom * peakRps) : 1;
    expect(last?.desiredReplicas).toBe(Math.min(4, Math.max(1, reach)));
  });

  it('gives a fleet being replaced the instances the peak needs of its new configuration', () => {
    // One instance of the new configuration (the newest; the one sizing prefers, so no
    // other resize is in play) and four of an old one, being replaced; the load is quiet,
    // the remembered peak is not.
    const peakRps = 390;
    const best = h.size(20, peakRps);
    const next = { batch: best.batch, smRequest: best.smRequest, smLimit: best.smLimit };
    const fresh = instance('n0', { ...next, quota: next.smRequest, createdAtS: 50 });
    const old = Array.from({ length: 4 }, (_, i) =>
      instance(`old${i}`, { batch: 4, smRequest: 30, smLimit: 30, quota: 30 }),
    );
    const reach = h.peakReplicas(next, peakRps);
    expect(reach).toBeGreaterThan(1);
    const [d] = run([fresh, ...old], [20], { state: settledState(20, 100, { peakRps }) });
    expect(d?.desiredReplicas).toBe(old.length + reach);
    expect(d?.add).toBe(reach - 1);
    expect(d?.newInstance).toMatchObject(next);
  });

  it('keeps more for a higher peak', () => {
    const kept = [0, 200, 400, 800].map(peakRps => {
      const state = settledState(20, 100, { peakRps });
      return run(fleet(6), quiet, { state, knobs: { maxScaleDownRate: 10 } }).at(-1)
        ?.desiredReplicas;
    });
    expect(kept).toEqual([...kept].sort((a, b) => (a ?? 0) - (b ?? 0)));
    expect(kept[3]).toBeGreaterThan(kept[0] ?? 0);
  });

  it('follows a one-second spike with the quota at once, with instances only as far as it lasts', () => {
    const d = run([instance('a')], [20, 20, 600, 20], { knobs: { anticipateColdStart: false } });
    // The quota goes to the limit for the spike's sample...
    expect(d[2]?.quotaChanges[0]?.to).toBe(40);
    // ... while instances follow the filtered load: fewer than the raw 600 rps would need
    // (3 at 0.9 x 222), since a new one would arrive a cold start after the spike.
    const added = d.reduce((sum, x) => sum + x.add, 0);
    expect(added).toBeLessThan(2);
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

describe('scale-out with a shared queue', () => {
  it('adds for what the instances serve together, an instance stuck at its quota included', () => {
    // a reaches 222 rps, b is held at q = 20 by its GPU (111 rps). 260 rps: together they
    // carry 0.9 x 333 = 300 with one queue; an even split would bound each share by 111.
    const fleet = [instance('a'), instance('b', { quotaHeadroom: 0 })];
    const shared = run(fleet, [260]).at(-1);
    const even = run(fleet, [260], { knobs: { sharedQueue: false } }).at(-1);
    expect(shared?.add).toBe(0);
    expect(even?.add).toBe(1);
    expect(run(fleet, [330]).at(-1)?.add).toBe(1);
  });
});

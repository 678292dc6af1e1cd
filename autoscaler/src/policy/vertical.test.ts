import { describe, expect, it } from '@jest/globals';
import { createCoScalingPolicy } from './decide.js';
import { resolveKnobs } from './knobs.js';
import { idleFloorQuota, loadedQuota, steadyWaitFactor } from './latency-bound.js';
import type { InstanceView } from './types.js';
import { EXACT, instance, settledState, spec, syntheticPredictor } from './test-fixtures.js';

// Synthetic instances: batch 8, r 20, l 40. T(8, 40) = 8000 / 36 = 222.2 rps, so quota q
// serves 5.556 q rps; the idle floor for a 200 ms SLO is below r. The quota a share needs
// is the larger of throughput (85 % utilization) and latency (loadedQuota for share / 0.85:
// a drained duty-cycle bucket stretches each batch by l / q).
const policy = createCoScalingPolicy();
const predictor = syntheticPredictor();
const T = 8000 / 36;
const K = resolveKnobs();
// Throughput: the whole-percent quota nearest to 85 % utilization that keeps it <= 90 %.
const throughputQuota = (shareRps: number): number =>
  Math.max(Math.round((shareRps * 40) / (T * 0.85)), Math.ceil((shareRps * 40) / (T * 0.9) - 1e-9));
// Latency: loadedQuota of the share at 85 % utilization, m instances sharing the queue.
const latencyQuota = (shareRps: number, m = 1, batch = 8): number =>
  loadedQuota(predictor, { batch, smLimit: 40, shareRps: shareRps / 0.85 }, 200, K, {
    waitFactor: steadyWaitFactor(K, m),
  });
// What a share needs, within [r, l].
const quotaFor = (shareRps: number, m = 1): number =>
  Math.min(40, Math.max(20, throughputQuota(shareRps), latencyQuota(shareRps, m)));

function decide(
  instances: InstanceView[],
  rps: number,
  knobs: Record<string, unknown> = {},
  nowS = 100,
  state = settledState(rps, nowS),
) {
  return policy.decide({
    spec: spec({ knobs: { ...EXACT, burstReserve: 0, ...knobs } }),
    instances,
    load: { samples: [rps] },
    predictor,
    nowS,
    state,
  });
}

describe('vertical first on scale-up', () => {
  it.each([
    // [case, load rps, quota, headroom, expected quota, expected added]
    ['within capacity: no change', 80, 20, 100, 20, 0],
    ['over 0.9 of capacity: quota for 85 % utilization', 150, 20, 100, quotaFor(150), 0],
    ['just over 0.9: raised', 101, 20, 100, quotaFor(101), 0],
    ['quota capped at the limit, the rest horizontal', 420, 20, 100, 40, 2],
    ['quota capped by GPU headroom, the rest horizontal', 150, 20, 5, 25, 1],
    ['no headroom at all: horizontal only', 150, 20, 0, 20, 1],
  ])('%s', (_, rps, quota, quotaHeadroom, expectedQuota, expectedAdd) => {
    const d = decide([instance('a', { quota, quotaHeadroom })], rps);
    const to = d.quotaChanges.find(c => c.id === 'a')?.to ?? quota;
    expect(to).toBe(expectedQuota);
    expect(d.add).toBe(expectedAdd);
    expect(d.desiredReplicas).toBe(1 + expectedAdd);
    if (expectedQuota > quota) expect(d.reasons.map(r => r.code)).toContain('quota-up');
    if (expectedAdd > 0) expect(d.reasons.map(r => r.code)).toContain('scale-out');
  });

  it('lists quota changes before it adds replicas, and adds the fleet configuration', () => {
    const d = decide([instance('a')], 420);
    expect(d.quotaChanges).toEqual([{ id: 'a', from: 20, to: 40 }]);
    expect(d.newInstance).toMatchObject({ batch: 8, smLimit: 40, smRequest: 20 });
  });

  it('splits the load evenly: every ready instance is sized for its share', () => {
    const d = decide([instance('a'), instance('b', { quota: 25 }), instance('c')], 450);
    const share = 450 / 3;
    for (const c of d.quotaChanges) expect(c.to).toBe(quotaFor(share, 3));
    expect(d.quotaChanges.map(c => c.id)).toEqual(['a', 'b', 'c']);
  });

  it('does not size starting instances (they serve nothing yet)', () => {
    const d = decide([instance('a'), instance('b', { ready: false })], 150);
    expect(d.quotaChanges.map(c => c.id)).toEqual(['a']);
  });

  it('never spends one GPU headroom twice for instances sharing it', () => {
    const d = decide(
      [
        instance('a', { gpu: 'n1/0', quotaHeadroom: 10 }),
        instance('b', { gpu: 'n1/0', quotaHeadroom: 10 }),
        instance('c', { gpu: 'n2/0', quotaHeadroom: 10 }),
      ],
      450,
    );
    const raised = Object.fromEntries(d.quotaChanges.map(c => [c.id, c.to - c.from]));
    expect((raised['a'] ?? 0) + (raised['b'] ?? 0)).toBeLessThanOrEqual(10);
    expect(raised['c']).toBe(10);
    expect(d.reasons.map(r => r.code)).toContain('headroom-exhausted');
  });

  it('plans replicas on what the shared headroom really allows', () => {
    // Two instances share 10 points: each can reach 25, i.e. 139 rps; 300 rps needs 3.
    const d = decide(
      [
        instance('a', { gpu: 'g', quotaHeadroom: 10 }),
        instance('b', { gpu: 'g', quotaHeadroom: 10 }),
      ],
      300,
    );
    expect(d.add).toBeGreaterThanOrEqual(1);
  });
});

describe('quota scale-down with delay', () => {
  const start = 100;
  const knobs = { quotaDownDelayS: 5 };

  it.each([
    ['no change before the delay', 4, 40],
    ['lowered once the delay has passed', 5, 20],
  ])('%s', (_, elapsed, expected) => {
    let state = settledState(60, start);
    let last = 40;
    for (let t = start; t <= start + elapsed; t++) {
      const d = decide([instance('a', { quota: last })], 60, knobs, t, state);
      state = d.state;
      last = d.quotaChanges[0]?.to ?? last;
    }
    expect(last).toBe(expected);
  });

  it('lowers to what the highest load of the window needs, never below r or the floor', () => {
    let state = settledState(60, start);
    let q = 40;
    const loads = [60, 90, 60, 60, 60, 60];
    loads.forEach((rps, i) => {
      const d = decide([instance('a', { quota: q })], rps, knobs, start + i, state);
      state = d.state;
      q = d.quotaChanges[0]?.to ?? q;
    });
    expect(q).toBe(quotaFor(90));
    expect(q).toBeGreaterThanOrEqual(20);
  });

  it('restarts the delay when the load comes back above the threshold', () => {
    let state = settledState(60, start);
    const loads = [60, 60, 60, 180, 60, 60, 60, 60];
    let lowered = false;
    loads.forEach((rps, i) => {
      const d = decide([instance('a', { quota: 40 })], rps, knobs, start + i, state);
      state = d.state;
      if (d.quotaChanges.some(c => c.to < 40)) lowered = true;
    });
    expect(lowered).toBe(false);
  });

  it('keeps the quota a loaded instance needs for latency, above what throughput needs', () => {
    // 60 rps at l = 40: throughput needs 13 % (< r), latency more (a drained bucket
    // stretches each batch of ~7 requests by 40 / q).
    const small = instance('a', { batch: 8, smRequest: 5, smLimit: 40, quota: 40 });
    let state = settledState(60, start);
    let q = 40;
    for (let t = start; t < start + 10; t++) {
      const d = decide([{ ...small, quota: q }], 60, knobs, t, state);
      state = d.state;
      q = d.quotaChanges[0]?.to ?? q;
    }
    expect(latencyQuota(60)).toBeGreaterThan(throughputQuota(60));
    expect(q).toBe(Math.max(5, throughputQuota(60), latencyQuota(60)));
  });

  it('goes down to the idle floor, not below, once the load is gone', () => {
    const floor = idleFloorQuota(predictor, 40, 200, K);
    const small = instance('a', { batch: 8, smRequest: 1, smLimit: 40, quota: 30 });
    let state = settledState(0, start);
    let q = 30;
    for (let t = start; t < start + 10; t++) {
      const d = decide([{ ...small, quota: q }], 0, knobs, t, state);
      state = d.state;
      q = d.quotaChanges[0]?.to ?? q;
    }
    expect(floor).toBeGreaterThan(1);
    expect(q).toBe(floor);
  });
});

describe('quotas in panic, and the burst reserve', () => {
  const start = 100;

  it('lowers quotas in panic (vertical is free to undo); only replica removal waits', () => {
    const four = [0, 1, 2, 3].map(i => instance(`i${i}`, { quota: 40 }));
    let state = settledState(20, start, { panicSinceS: start - 1, panicReplicas: 4 });
    let lowered = false;
    let removed = false;
    for (let t = start; t < start + 10; t++) {
      const d = decide(four, 20, { quotaDownDelayS: 5 }, t, state);
      state = d.state;
      expect(d.figures.panic).toBe(true);
      if (d.quotaChanges.some(c => c.to < c.from)) lowered = true;
      if (d.remove.length > 0) removed = true;
    }
    expect(lowered).toBe(true);
    expect(removed).toBe(false);
  });

  it.each([
    // [reserve, remembered peak, expected share the quota serves]
    [0, 300, 60],
    [0.5, 300, 150],
    [1, 300, 300],
    [1, 30, 60],
  ])(
    'burstReserve %d of a %d rps peak: quotas serve max(load, reserve x peak)',
    (r, peak, share) => {
      const state = settledState(60, start, { peakRps: peak });
      const d = decide([instance('a', { quota: 20 })], 60, { burstReserve: r }, start, state);
      const to = d.quotaChanges[0]?.to ?? 20;
      expect(to).toBe(quotaFor(share));
    },
  );
});

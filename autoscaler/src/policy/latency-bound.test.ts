import { describe, expect, it } from '@jest/globals';
import { resolveKnobs } from './knobs.js';
import { dutyCycledWallMs } from '../model/index.js';
import {
  bandRatio,
  bandedBusyMs,
  cycleBusyMs,
  formingRequests,
  idleFloorQuota,
  latencyFloorQuota,
  loadedQuota,
  requestLatencyBoundMs,
  steadyWaitFactor,
  stepsPerRequest,
} from './latency-bound.js';
import { bundledPredictor, syntheticPredictor } from './test-fixtures.js';

const knobs = resolveKnobs();
const p = syntheticPredictor();

describe('stepsPerRequest', () => {
  it('is 1 for a model that serves a request in one batch execution', () => {
    expect(stepsPerRequest(p, 8, 40)).toBe(1);
    expect(stepsPerRequest(bundledPredictor('resnet152'), 16, 30)).toBe(1);
  });

  it('is about 32 for the LLaMA2 profile (one request spans ~32 decode steps)', () => {
    expect(stepsPerRequest(bundledPredictor('llama2'), 8, 50)).toBeGreaterThan(30);
    expect(stepsPerRequest(bundledPredictor('llama2'), 8, 50)).toBeLessThan(34);
  });
});

describe('requestLatencyBoundMs', () => {
  // L(8, 40) = 4 + 160 * 8 / 40 = 36 ms.
  it.each([
    [{ batch: 8, smLimit: 40, quota: 40 }, {}, 72],
    [{ batch: 8, smLimit: 40, quota: 20 }, {}, 144],
    [{ batch: 8, smLimit: 40, quota: 20 }, { batchWaitFactor: 1 }, 72],
    [{ batch: 8, smLimit: 40, quota: 40 }, { overheadMs: 10 }, 82],
  ])('%j with %j -> %d ms', (c, k, expected) => {
    expect(requestLatencyBoundMs(p, c, resolveKnobs(k), false)).toBeCloseTo(expected, 6);
  });

  it('uses the upper edge of the band when asked', () => {
    const c = { batch: 8, smLimit: 40, quota: 40 };
    const band = bandRatio(p, 8, 40);
    expect(band).toBeGreaterThan(1);
    expect(requestLatencyBoundMs(p, c, knobs, true)).toBeCloseTo(72 * band, 6);
  });
});

describe('latencyFloorQuota', () => {
  it('is the smallest integer quota whose banded bound meets the SLO', () => {
    const band = bandRatio(p, 8, 40);
    const floor = latencyFloorQuota(p, 8, 40, 200, knobs);
    expect(floor).toBe(Math.ceil((72 * band * 40) / 200));
    const at = (q: number): number =>
      requestLatencyBoundMs(p, { batch: 8, smLimit: 40, quota: q }, knobs, true);
    expect(at(floor)).toBeLessThanOrEqual(200);
    expect(at(floor - 1)).toBeGreaterThan(200);
  });

  it('is Infinity when even the full limit misses the SLO', () => {
    expect(latencyFloorQuota(p, 8, 40, 60, knobs)).toBe(Infinity);
  });

  it('leaves room for the fixed overhead and the SLO fraction', () => {
    const plain = latencyFloorQuota(p, 8, 40, 200, knobs);
    expect(latencyFloorQuota(p, 8, 40, 200, resolveKnobs({ overheadMs: 50 }))).toBeGreaterThan(
      plain,
    );
    expect(latencyFloorQuota(p, 8, 40, 200, resolveKnobs({ sloFraction: 0.5 }))).toBeGreaterThan(
      plain,
    );
    expect(latencyFloorQuota(p, 8, 40, 200, resolveKnobs({ overheadMs: 300 }))).toBe(Infinity);
  });
});

describe('idleFloorQuota (a lone request after a pause, full duty-cycle bucket)', () => {
  // Synthetic batch 1 at l = 40: busy(1) = 4 + 160 / 40 = 8 ms (x the band's upper edge).
  const busy1 = 8 * bandRatio(p, 1, 40);

  it.each([
    // [SLO ms, window ms]: the smallest q whose bucket-limited wall time meets the SLO
    [200, 100],
    [20, 100],
    [9, 100],
    [12, 5],
  ])('SLO %d ms, window %d ms', (slo, window) => {
    const k = resolveKnobs({ dutyCycleWindowMs: window });
    const floor = idleFloorQuota(p, 40, slo, k);
    const wall = (q: number): number => dutyCycledWallMs(busy1, q / 40, window);
    expect(wall(floor)).toBeLessThanOrEqual(slo);
    if (floor > 1) expect(wall(floor - 1)).toBeGreaterThan(slo);
  });

  it('is far below the throttled floor: a full bucket runs the lone batch at full speed', () => {
    expect(idleFloorQuota(p, 40, 200, knobs)).toBeLessThanOrEqual(2);
    expect(latencyFloorQuota(p, 8, 40, 200, knobs)).toBeGreaterThan(10);
  });

  it('is Infinity when even the limit misses the SLO, or the overhead eats it', () => {
    expect(idleFloorQuota(p, 40, 5, knobs)).toBe(Infinity);
    expect(idleFloorQuota(p, 40, 200, resolveKnobs({ overheadMs: 250 }))).toBe(Infinity);
  });
});

describe('formingRequests and cycleBusyMs', () => {
  it.each([
    // [share rps, budget ms, wait factor, requests per cycle]
    [0, 200, 2, 1],
    [10, 200, 2, 2], // 10 rps x 100 ms = 1 arrival, plus the one that starts the cycle
    [100, 200, 2, 11],
    [100, 200, 1, 21],
  ])('%d rps, budget %d ms, wait %d -> %d', (share, budget, wait, n) => {
    expect(formingRequests(share, budget, wait)).toBe(n);
  });

  const busy = (n: number): number => 4 + 4 * n;
  it.each([
    // [requests, batch, GPU ms]
    [3, 8, busy(3)],
    [8, 8, busy(8)],
    [11, 8, busy(8) + busy(3)],
    [16, 8, 2 * busy(8)],
    [5, 1, 5 * busy(1)],
  ])('%d requests with batch %d take %d ms', (n, b, ms) => {
    expect(cycleBusyMs(n, b, 40, k => busy(k))).toBe(ms);
  });
});

describe('steadyWaitFactor', () => {
  it.each([
    // [sharedQueue, instances, factor]
    [true, 1, 2],
    [true, 2, 1.5],
    [true, 4, 1.25],
    [false, 4, 2],
  ])('shared queue %s, %d instance(s) -> %d', (sharedQueue, m, f) => {
    expect(steadyWaitFactor(resolveKnobs({ sharedQueue }), m)).toBe(f);
  });
});

describe('loadedQuota (what a share needs for latency, under a drained bucket)', () => {
  const c = (shareRps: number): { batch: number; smLimit: number; shareRps: number } => ({
    batch: 8,
    smLimit: 40,
    shareRps,
  });
  const floor = idleFloorQuota(p, 40, 200, knobs);

  it('is the idle floor without load', () => {
    expect(loadedQuota(p, c(0), 200, knobs)).toBe(floor);
  });

  it.each([5, 20, 60, 150])('at %d rps: wait factor x cycle busy x l / budget, blended', share => {
    const n = formingRequests(share, 200, 2);
    const busy = cycleBusyMs(n, 8, 40, (k, l) => bandedBusyMs(p, k, l, true));
    const loaded = (2 * busy * 40) / 200;
    const drained = 1 - Math.exp((-share * (100 + bandedBusyMs(p, 1, 40, true))) / 1000);
    const expected = Math.ceil(floor + drained * Math.max(0, loaded - floor) - 1e-9);
    expect(loadedQuota(p, c(share), 200, knobs)).toBe(expected);
  });

  it('grows with the share, the margin and the wait factor', () => {
    const q = [1, 10, 50, 100, 200].map(s => loadedQuota(p, c(s), 200, knobs));
    expect(q).toEqual([...q].sort((a, b) => a - b));
    expect(loadedQuota(p, c(100), 200, knobs, { margin: 1.5 })).toBeGreaterThan(q[3] ?? 0);
    expect(loadedQuota(p, c(100), 200, knobs, { waitFactor: 1 })).toBeLessThan(q[3] ?? 0);
  });

  it('may exceed the limit: l cannot carry that share within the SLO', () => {
    expect(loadedQuota(p, c(600), 200, knobs)).toBeGreaterThan(40);
  });

  it('counts the decode steps of an LLM request', () => {
    const llm = bundledPredictor('llama2');
    const q = loadedQuota(llm, { batch: 16, smLimit: 100, shareRps: 5 }, 2700, knobs);
    // ~7 requests in a cycle, ~32 steps of ~32 ms each: most of the GPU's time.
    expect(q).toBeGreaterThan(60);
  });
});

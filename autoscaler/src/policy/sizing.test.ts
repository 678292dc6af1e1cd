import { describe, expect, it } from '@jest/globals';
import type { Predictor } from '../model/index.js';
import { dutyCycledWallMs, instanceCapacityRps } from '../model/index.js';
import { predictorWithFactor } from './correction.js';
import { resolveKnobs } from './knobs.js';
import {
  bandedBusyMs,
  idleFloorQuota,
  latencyBudgetMs,
  requestLatencyBoundMs,
  steadyWaitFactor,
} from './latency-bound.js';
import {
  createLatencyModel,
  modelQuota,
  quotaForLoad,
  replicasForLoad,
  replicasForPeak,
} from './latency-model.js';
import { PolicyInputError } from './policy-error.js';
import { createInstanceSizer, loadBucket } from './sizer.js';
import { describeInstance, sizeInstance } from './sizing.js';
import { bundledPredictor, syntheticPredictor } from './test-fixtures.js';

const knobs = resolveKnobs();

/** Every (measured batch, integer limit) a lone request and a full batch fit the SLO with. */
function grid(p: Predictor, slo: number): { b: number; r: number; l: number; perRps: number }[] {
  const out = [];
  for (const b of p.batches) {
    for (let l = Math.ceil(p.smPercents[0] ?? 1); l <= 100; l++) {
      const r = idleFloorQuota(p, l, slo, knobs);
      if (!Number.isFinite(r) || bandedBusyMs(p, b, l, true) > latencyBudgetMs(slo, knobs)) {
        continue;
      }
      const perRps = l / instanceCapacityRps(p, { batch: b, smLimit: l, quota: l });
      out.push({ b, r, l, perRps });
    }
  }
  return out;
}

/** A lone request's latency at quota q after a pause (full duty-cycle bucket), band edge. */
function idleMs(p: Predictor, l: number, q: number): number {
  return dutyCycledWallMs(bandedBusyMs(p, 1, l, true), q / l, knobs.dutyCycleWindowMs);
}

const cases: [string, number][] = [
  ['resnet152', 60],
  ['resnet152', 100],
  ['resnet152', 200],
  ['resnet152', 400],
  ['bert_base', 100],
  ['bert_base', 200],
  ['llama2', 2700],
  ['llama2', 4000],
];

describe('sizeInstance: latency-critical, no load (SM % per rps, r the idle floor)', () => {
  it.each(cases)('%s at %d ms: a lone request after a pause meets the SLO at r', (model, slo) => {
    const p = bundledPredictor(model);
    const s = sizeInstance(p, { sloMs: slo });
    expect(s.feasible).toBe(true);
    expect(p.batches).toContain(s.batch);
    expect(s.smRequest).toBeGreaterThanOrEqual(1);
    expect(s.smRequest).toBeLessThanOrEqual(s.smLimit);
    expect(s.smLimit).toBeLessThanOrEqual(100);
    expect(s.latencyBoundMs).toBeCloseTo(idleMs(p, s.smLimit, s.smRequest), 9);
    expect(s.latencyBoundMs).toBeLessThanOrEqual(slo);
    // r is the floor: one point less would miss the SLO.
    if (s.smRequest > 1) expect(idleMs(p, s.smLimit, s.smRequest - 1)).toBeGreaterThan(slo);
    // A full batch runs within the SLO at the limit.
    expect(bandedBusyMs(p, s.batch, s.smLimit, true)).toBeLessThanOrEqual(slo);
    expect(s.capacityRps).toBeCloseTo(p.throughputRps(s.batch, s.smLimit), 9);
    expect(s.requestCapacityRps).toBeCloseTo((s.capacityRps * s.smRequest) / s.smLimit, 9);
  });

  it.each(cases)('%s at %d ms is within the documented tolerances of the cheapest', (m, slo) => {
    const p = bundledPredictor(m);
    const s = sizeInstance(p, { sloMs: slo });
    const cheapest = Math.min(...grid(p, slo).map(c => c.perRps));
    const slack = (1 + knobs.rangeCostTolerance) * (1 + knobs.sizingTieTolerance);
    expect(s.smPerRps).toBeLessThanOrEqual(cheapest * slack + 1e-12);
  });

  it('idles far below its limit: a lone request needs only a slice of the duty cycle', () => {
    const s = sizeInstance(bundledPredictor('resnet152'), { sloMs: 80 });
    expect(s.smLimit / s.smRequest).toBeGreaterThanOrEqual(3);
  });

  it('counts every decode step of an LLM request in its idle floor', () => {
    const p = bundledPredictor('llama2');
    const s = sizeInstance(p, { sloMs: 2700 });
    // A lone request holds the instance for ~32 decode steps: ~1 s at the limit.
    expect(bandedBusyMs(p, 1, s.smLimit, false)).toBeGreaterThan(25 * p.latencyMs(1, s.smLimit));
    // So even idle it must run a third or more of the time to finish in 2.7 s.
    expect(s.smRequest / s.smLimit).toBeGreaterThan(0.3);
  });

  it('returns the lowest-latency configuration at full duty when nothing meets the SLO', () => {
    const p = bundledPredictor('resnet152');
    const s = sizeInstance(p, { sloMs: 15 });
    expect(s.feasible).toBe(false);
    expect(s.smRequest).toBe(s.smLimit);
    expect(s.reason).toMatch(/no configuration meets 15 ms/);
    for (const b of p.batches) {
      for (const l of [10, 50, 100]) {
        const ms = requestLatencyBoundMs(p, { batch: b, smLimit: l, quota: l }, knobs, true);
        expect(
          requestLatencyBoundMs(p, { ...s, quota: s.smLimit }, knobs, true),
        ).toBeLessThanOrEqual(ms + 1e-9);
      }
    }
  });

  it('honours pinned batch, limit, request and memory', () => {
    const p = bundledPredictor('resnet152');
    const b4 = sizeInstance(p, { sloMs: 200, fixed: { batch: 4 } });
    expect(b4.batch).toBe(4);
    const l50 = sizeInstance(p, { sloMs: 200, fixed: { smLimit: 50 } });
    expect(l50.smLimit).toBe(50);
    expect(l50.smRequest).toBe(idleFloorQuota(p, 50, 200, knobs));
    const r40 = sizeInstance(p, { sloMs: 200, fixed: { smRequest: 40, memoryMiB: 3000 } });
    expect(r40.smRequest).toBe(40);
    expect(r40.smLimit).toBeGreaterThanOrEqual(40);
    expect(r40.memoryMiB).toBe(3000);
    expect(sizeInstance(p, { sloMs: 200, memoryMiB: 2048 }).memoryMiB).toBe(2048);
    // A pinned request is kept whatever the load.
    expect(sizeInstance(p, { sloMs: 200, fixed: { smRequest: 40 }, loadRps: 5 }).smRequest).toBe(
      40,
    );
  });

  it('sizes on the corrected model: a slower profile needs at least as much SM', () => {
    const p = bundledPredictor('resnet152');
    const base = sizeInstance(p, { sloMs: 200 });
    const slow = sizeInstance(p, { sloMs: 200, latencyFactor: 1.5 });
    expect(slow.smPerRps).toBeGreaterThan(base.smPerRps);
    expect(slow.batchLatencyMs).toBeCloseTo(1.5 * p.latencyMs(slow.batch, slow.smLimit), 6);
  });

  it.each([
    [{}, 'sloMs'],
    [{ sloMs: -5 }, 'sloMs'],
    [{ sloMs: 100, latencyFactor: 0.5 }, 'latencyFactor'],
    [{ sloMs: 100, latencyFactor: Number.NaN }, 'latencyFactor'],
  ])('rejects %j naming %s', (request, field) => {
    expect(() => sizeInstance(syntheticPredictor(), request)).toThrow(PolicyInputError);
    try {
      sizeInstance(syntheticPredictor(), request);
    } catch (err) {
      expect((err as PolicyInputError).field).toBe(field);
    }
  });
});

describe('sizeInstance: for a load and the peak to reach', () => {
  const p = bundledPredictor('resnet152');
  const slo = 80;
  const model = createLatencyModel(p, slo, knobs);
  /** What sizing counts for a configuration: the fleet for the peak and the load, its quotas. */
  const cost = (
    c: { batch: number; smRequest: number; smLimit: number },
    load: number,
    peak: number,
  ) => {
    const idle = { ...c, smRequest: idleFloorQuota(p, c.smLimit, slo, knobs) };
    const n = Math.max(replicasForPeak(model, idle, peak), replicasForLoad(model, idle, load));
    return n * quotaForLoad(model, idle, load / n, n);
  };

  it.each([
    // [load, peak]
    [5, 5],
    [20, 20],
    [20, 500],
    [60, 500],
    [400, 400],
  ])('at %d rps (peak %d) it is the cheapest within the tolerances', (load, peak) => {
    const s = sizeInstance(p, { sloMs: slo, loadRps: load, peakRps: peak });
    const best = Math.min(
      ...grid(p, slo).map(c => cost({ batch: c.b, smRequest: c.r, smLimit: c.l }, load, peak)),
    );
    const slack = (1 + knobs.rangeCostTolerance) * (1 + knobs.sizingTieTolerance);
    expect(cost(s, load, peak)).toBeLessThanOrEqual(best * slack + 1e-9);
    // Its fleet reaches the peak vertically.
    expect(Number.isFinite(replicasForPeak(model, s, peak))).toBe(true);
  });

  it('requests what its share of the load needs (placement packs requests), not less', () => {
    const s = sizeInstance(p, { sloMs: slo, loadRps: 60, peakRps: 60 });
    const idle = { ...s, smRequest: idleFloorQuota(p, s.smLimit, slo, knobs) };
    const n = Math.max(replicasForPeak(model, idle, 60), replicasForLoad(model, idle, 60));
    expect(s.smRequest).toBe(quotaForLoad(model, idle, 60 / n, n));
    expect(s.smRequest).toBeGreaterThan(idle.smRequest);
  });

  it('reaches a higher peak with a wider limit or more instances', () => {
    const calm = sizeInstance(p, { sloMs: slo, loadRps: 20, peakRps: 20 });
    const bursty = sizeInstance(p, { sloMs: slo, loadRps: 20, peakRps: 500 });
    const reach = (x: typeof calm): number => replicasForPeak(model, x, 1) * x.capacityRps;
    expect(reach(bursty)).toBeGreaterThan(reach(calm));
    expect(bursty.capacityRps * replicasForPeak(model, bursty, 500)).toBeGreaterThanOrEqual(
      500 / knobs.scaleOutUtilization - 1e-9,
    );
  });

  it('picks a small configuration for a quiet function and efficiency for a busy one', () => {
    const quiet = sizeInstance(p, { sloMs: 200, loadRps: 2 });
    const busy = sizeInstance(p, { sloMs: 200, loadRps: 3000 });
    expect(quiet.smLimit).toBeLessThan(busy.smLimit + 1);
    expect(busy.smPerRps).toBeLessThanOrEqual(quiet.smPerRps);
  });

  it('sizes LLaMA2 for its decode: batches that form run within 2.7 s, at most a GPU each', () => {
    const llm = bundledPredictor('llama2');
    const m = createLatencyModel(llm, 2700, knobs);
    const s = sizeInstance(llm, { sloMs: 2700, loadRps: 5.5, peakRps: 16 });
    expect(s.feasible).toBe(true);
    expect(s.batch).toBeGreaterThanOrEqual(8);
    const n = replicasForPeak(m, s, 16);
    // A handful of instances, not one per request: what was measured to serve such a load,
    // with the peak's requests waiting for a batch in flight as the steady load's do.
    expect(n).toBeLessThanOrEqual(4);
    expect(n * s.smLimit).toBeLessThanOrEqual(150);
  });

  it('plans a peak with its requests waiting for a batch in flight, as on a shared queue', () => {
    // ResNet152 at 80 ms, b = 32, l = 28: a full batch runs ~70 ms, so at 300 rps (two
    // thirds of T) one instance fits a request's own batch in the SLO, not the one before it.
    const resnet = bundledPredictor('resnet152');
    const m = createLatencyModel(resnet, 80, knobs);
    const c = { batch: 32, smRequest: 28, smLimit: 28 };
    expect(modelQuota(m, c, 300, { waitFactor: 1 })).toBeLessThanOrEqual(c.smLimit);
    const n = replicasForPeak(m, c, 300);
    expect(n).toBeGreaterThan(1);
    const fits = (k: number): boolean =>
      modelQuota(m, c, 300 / k, { waitFactor: steadyWaitFactor(knobs, k) }) <= c.smLimit;
    expect(fits(n)).toBe(true);
    expect(fits(n - 1)).toBe(false);
  });
});

describe('sizeInstance: best effort', () => {
  it('takes the largest batch at the throughput knee, request half the limit', () => {
    const p = bundledPredictor('resnet152');
    const s = sizeInstance(p, { class: 'best-effort' });
    expect(s.batch).toBe(32);
    const full = p.throughputRps(32, 100);
    expect(p.throughputRps(32, s.smLimit)).toBeGreaterThanOrEqual(0.98 * full);
    expect(p.throughputRps(32, s.smLimit - 1)).toBeLessThan(0.98 * full);
    expect(s.smRequest).toBe(Math.round(s.smLimit / 2));
    expect(s.feasible).toBe(true);
  });
});

describe('describeInstance', () => {
  const p = bundledPredictor('resnet152');

  it('reports a configuration as is when it still meets the SLO', () => {
    const d = describeInstance(p, { batch: 16, smRequest: 20, smLimit: 40 }, { sloMs: 200 });
    expect(d).toMatchObject({ batch: 16, smRequest: 20, smLimit: 40, feasible: true });
  });

  it('raises the request to the idle floor of the corrected model', () => {
    const d = describeInstance(
      p,
      { batch: 16, smRequest: 1, smLimit: 40 },
      { sloMs: 60, latencyFactor: 1.5 },
    );
    const corrected = predictorWithFactor(p, 1.5, knobs);
    expect(d.smRequest).toBe(idleFloorQuota(corrected, 40, 60, knobs));
    expect(d.smRequest).toBeGreaterThan(idleFloorQuota(p, 40, 60, knobs));
    expect(d.latencyBoundMs).toBeLessThanOrEqual(60);
  });

  it('says when the configuration cannot meet the SLO any more', () => {
    const d = describeInstance(p, { batch: 32, smRequest: 20, smLimit: 10 }, { sloMs: 150 });
    expect(d.feasible).toBe(false);
    expect(d.smRequest).toBe(10);
  });
});

describe('createInstanceSizer', () => {
  it('memoizes per predictor, knobs and request, and per load and peak bucket', () => {
    const sizer = createInstanceSizer();
    const p = bundledPredictor('bert_base');
    const a = sizer.size(p, { sloMs: 200, knobs });
    expect(sizer.size(p, { sloMs: 200, knobs })).toBe(a);
    expect(sizer.size(p, { sloMs: 200, knobs, latencyFactor: 1.001 })).toBe(a);
    expect(sizer.size(p, { sloMs: 100, knobs })).not.toBe(a);
    const l = sizer.size(p, { sloMs: 200, knobs, loadRps: 100 });
    expect(sizer.size(p, { sloMs: 200, knobs, loadRps: 104 })).toBe(l);
    expect(l).toEqual(sizeInstance(p, { sloMs: 200, loadRps: loadBucket(100) }));
    const peaked = sizer.size(p, { sloMs: 200, knobs, loadRps: 100, peakRps: 800 });
    expect(peaked).toEqual(
      sizeInstance(p, { sloMs: 200, loadRps: loadBucket(100), peakRps: loadBucket(800) }),
    );
  });

  it.each([
    [0, 0],
    [-3, 0],
    [1, 1],
    [100, Math.pow(2, 27 / 4)],
    [104, Math.pow(2, 27 / 4)],
    [90, Math.pow(2, 26 / 4)],
  ])('loadBucket(%d) = %d', (load, bucket) => {
    expect(loadBucket(load)).toBeCloseTo(bucket, 9);
  });

  it('answers the per-tick questions from its memos consistently with the model', () => {
    const p = bundledPredictor('resnet152');
    const h = createInstanceSizer().handle(p, { sloMs: 80, knobs });
    const m = createLatencyModel(p, 80, knobs);
    for (const q of [5, 10, 20, 30]) {
      const share = h.latencyShare(16, 30, q);
      // The largest share q serves: its quota fits q, a little more would not.
      if (share > 0 && Number.isFinite(share)) {
        expect(h.loadedQuota(16, 30, share)).toBeLessThanOrEqual(q);
        expect(h.loadedQuota(16, 30, share * 1.01 + 0.01)).toBeGreaterThan(q);
        // latencyQuota inverts the table: the same quota loadedQuota gives.
        expect(h.latencyQuota(16, 30, share * 0.99)).toBe(h.loadedQuota(16, 30, share * 0.99));
      }
    }
    const c = { batch: 16, smRequest: 5, smLimit: 30 };
    expect(h.peakReplicas(c, 600)).toBeGreaterThanOrEqual(replicasForPeak(m, c, 600));
    expect(h.latencyQuota(16, 30, 1e6)).toBe(Number.POSITIVE_INFINITY);
  });
});

import { describe, expect, it } from '@jest/globals';
import type { Predictor } from '../model/index.js';
import { instanceCapacityRps } from '../model/index.js';
import { resolveKnobs } from './knobs.js';
import { latencyFloorQuota, requestLatencyBoundMs } from './latency-bound.js';
import { PolicyInputError } from './policy-error.js';
import { createInstanceSizer, describeInstance, loadBucket, sizeInstance } from './sizing.js';
import { bundledPredictor, syntheticPredictor } from './test-fixtures.js';

const knobs = resolveKnobs();

/** Every (measured batch, integer limit) that meets the SLO, with its floor request. */
function grid(p: Predictor, slo: number): { b: number; r: number; l: number; cost: number }[] {
  const out = [];
  for (const b of p.batches) {
    for (let l = Math.ceil(p.smPercents[0] ?? 1); l <= 100; l++) {
      const r = latencyFloorQuota(p, b, l, slo, knobs);
      if (!Number.isFinite(r) || r > l) continue;
      out.push({ b, r, l, cost: l / instanceCapacityRps(p, { batch: b, smLimit: l, quota: l }) });
    }
  }
  return out;
}

const cases: [string, number][] = [
  ['resnet152', 60],
  ['resnet152', 100],
  ['resnet152', 200],
  ['resnet152', 400],
  ['bert_base', 100],
  ['bert_base', 200],
  ['llama2', 4000],
  ['llama2', 6000],
];

describe('sizeInstance: latency-critical, SM % per rps', () => {
  it.each(cases)('%s at %d ms meets the SLO at quota r with the band', (model, slo) => {
    const p = bundledPredictor(model);
    const s = sizeInstance(p, { sloMs: slo });
    expect(s.feasible).toBe(true);
    expect(p.batches).toContain(s.batch);
    expect(s.smRequest).toBeGreaterThanOrEqual(1);
    expect(s.smRequest).toBeLessThanOrEqual(s.smLimit);
    expect(s.smLimit).toBeLessThanOrEqual(100);
    const at = (q: number): number =>
      requestLatencyBoundMs(p, { batch: s.batch, smLimit: s.smLimit, quota: q }, knobs, true);
    expect(s.latencyBoundMs).toBeCloseTo(at(s.smRequest), 9);
    expect(at(s.smRequest)).toBeLessThanOrEqual(slo);
    // r is the floor: one point less would miss the SLO.
    expect(at(s.smRequest - 1)).toBeGreaterThan(slo);
    expect(s.capacityRps).toBeCloseTo(p.throughputRps(s.batch, s.smLimit), 9);
    expect(s.requestCapacityRps).toBeCloseTo((s.capacityRps * s.smRequest) / s.smLimit, 9);
  });

  it.each(cases)('%s at %d ms is within the documented tolerances of the cheapest', (m, slo) => {
    const p = bundledPredictor(m);
    const s = sizeInstance(p, { sloMs: slo });
    const all = grid(p, slo);
    const cheapest = Math.min(...all.map(c => c.cost));
    const slack = (1 + knobs.rangeCostTolerance) * (1 + knobs.sizingTieTolerance);
    expect(s.smPerRps).toBeLessThanOrEqual(cheapest * slack + 1e-12);
    if (s.smLimit / s.smRequest < knobs.minVerticalRange) {
      // Range was given up only because every configuration with enough of it costs more.
      const ranged = all.filter(c => c.l / c.r >= knobs.minVerticalRange);
      for (const c of ranged) {
        expect(c.cost).toBeGreaterThan(cheapest * (1 + knobs.rangeCostTolerance));
      }
    }
  });

  it.each(cases)('%s at %d ms trades at most the tolerance for vertical range', (m, slo) => {
    const p = bundledPredictor(m);
    const s = sizeInstance(p, { sloMs: slo });
    const flat = sizeInstance(p, { sloMs: slo, knobs: resolveKnobs({ minVerticalRange: 1 }) });
    expect(s.smLimit / s.smRequest).toBeGreaterThanOrEqual(flat.smLimit / flat.smRequest - 1e-9);
    expect(s.smPerRps).toBeGreaterThanOrEqual(flat.smPerRps * (1 - knobs.sizingTieTolerance));
  });

  it('keeps minVerticalRange when a configuration has it at little cost (BERT, 200 ms)', () => {
    const s = sizeInstance(bundledPredictor('bert_base'), { sloMs: 200 });
    expect(s.smLimit / s.smRequest).toBeGreaterThanOrEqual(knobs.minVerticalRange);
  });

  it('counts ~32 decode steps per request for the LLM profile', () => {
    const s = sizeInstance(bundledPredictor('llama2'), { sloMs: 6000 });
    expect(s.latencyBoundMs).toBeGreaterThan(2 * 32 * s.batchLatencyMs * 0.9);
  });

  it('returns the lowest-latency configuration at full duty when nothing meets the SLO', () => {
    const p = bundledPredictor('resnet152');
    const s = sizeInstance(p, { sloMs: 40 });
    expect(s.feasible).toBe(false);
    expect(s.smRequest).toBe(s.smLimit);
    expect(s.reason).toMatch(/no configuration meets 40 ms/);
    for (const b of p.batches) {
      for (const l of [10, 50, 100]) {
        const ms = requestLatencyBoundMs(p, { batch: b, smLimit: l, quota: l }, knobs, true);
        expect(s.latencyBoundMs).toBeLessThanOrEqual(ms + 1e-9);
      }
    }
  });

  it('honours pinned batch, limit, request and memory', () => {
    const p = bundledPredictor('resnet152');
    const b4 = sizeInstance(p, { sloMs: 200, fixed: { batch: 4 } });
    expect(b4.batch).toBe(4);
    const l50 = sizeInstance(p, { sloMs: 200, fixed: { smLimit: 50 } });
    expect(l50.smLimit).toBe(50);
    expect(l50.smRequest).toBe(latencyFloorQuota(p, l50.batch, 50, 200, knobs));
    const r40 = sizeInstance(p, { sloMs: 200, fixed: { smRequest: 40, memoryMiB: 3000 } });
    expect(r40.smRequest).toBe(40);
    expect(r40.smLimit).toBeGreaterThanOrEqual(40);
    expect(r40.memoryMiB).toBe(3000);
    expect(sizeInstance(p, { sloMs: 200, memoryMiB: 2048 }).memoryMiB).toBe(2048);
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

describe('sizeInstance: load-aware', () => {
  const p = bundledPredictor('resnet152');

  it('picks a small floor for a quiet function and efficiency for a busy one', () => {
    const efficient = sizeInstance(p, { sloMs: 200 });
    const quiet = sizeInstance(p, { sloMs: 200, loadRps: 5 });
    const busy = sizeInstance(p, { sloMs: 200, loadRps: 5000 });
    expect(quiet.smRequest).toBeLessThan(efficient.smRequest / 2);
    expect(quiet.batch).toBeLessThan(efficient.batch);
    expect(busy.smPerRps).toBeLessThanOrEqual(efficient.smPerRps * 1.05);
  });

  it('never costs more at its load than the load-blind choice', () => {
    const efficient = sizeInstance(p, { sloMs: 200 });
    for (const load of [1, 10, 50, 200, 800, 3000]) {
      const s = sizeInstance(p, { sloMs: 200, loadRps: load });
      const cost = (x: typeof s): number =>
        Math.max(
          Math.max(1, Math.ceil(load / (knobs.scaleOutUtilization * x.capacityRps))) * x.smRequest,
          (load * x.smPerRps) / knobs.targetUtilization,
        );
      const slack = (1 + knobs.rangeCostTolerance) * (1 + knobs.sizingTieTolerance);
      expect(cost(s)).toBeLessThanOrEqual(cost(efficient) * slack + 1e-9);
    }
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

  it('raises the request to the floor of the corrected model', () => {
    const d = describeInstance(
      p,
      { batch: 16, smRequest: 12, smLimit: 40 },
      { sloMs: 200, latencyFactor: 1.5 },
    );
    expect(d.smRequest).toBeGreaterThan(12);
    expect(d.latencyBoundMs).toBeLessThanOrEqual(200);
  });

  it('says when the configuration cannot meet the SLO any more', () => {
    const d = describeInstance(p, { batch: 32, smRequest: 20, smLimit: 20 }, { sloMs: 150 });
    expect(d.feasible).toBe(false);
    expect(d.smRequest).toBe(20);
  });
});

describe('createInstanceSizer', () => {
  it('memoizes per predictor, knobs and request, and per load bucket', () => {
    const sizer = createInstanceSizer();
    const p = bundledPredictor('bert_base');
    const a = sizer.size(p, { sloMs: 200, knobs });
    expect(sizer.size(p, { sloMs: 200, knobs })).toBe(a);
    expect(sizer.size(p, { sloMs: 200, knobs, latencyFactor: 1.001 })).toBe(a);
    expect(sizer.size(p, { sloMs: 100, knobs })).not.toBe(a);
    const l = sizer.size(p, { sloMs: 200, knobs, loadRps: 100 });
    expect(sizer.size(p, { sloMs: 200, knobs, loadRps: 104 })).toBe(l);
    expect(l).toEqual(sizeInstance(p, { sloMs: 200, loadRps: loadBucket(100) }));
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
});

import { describe, expect, it } from '@jest/globals';
import { correctedPredictor, createLatencyCorrection } from './online-correction.js';
import { createPredictor } from './predictor.js';

describe('createLatencyCorrection', () => {
  it('starts at the first ratio, then follows an EWMA within bounds', () => {
    const c = createLatencyCorrection({ alpha: 0.5 });
    expect(c.factor).toBe(1);
    c.observe(10, 12);
    expect(c.factor).toBeCloseTo(1.2, 9);
    c.observe(10, 14);
    expect(c.factor).toBeCloseTo(1.3, 9);
    c.observe(10, 1000);
    expect(c.factor).toBe(3);
    expect(c.observations).toBe(3);
    c.reset();
    expect(c.factor).toBe(1);
  });

  it('ignores non-positive samples', () => {
    const c = createLatencyCorrection();
    c.observe(0, 10);
    c.observe(10, -1);
    expect(c.observations).toBe(0);
  });

  it('validates its options', () => {
    expect(() => createLatencyCorrection({ alpha: 0 })).toThrow(/alpha/);
    expect(() => createLatencyCorrection({ minFactor: 2 })).toThrow(/minFactor/);
  });

  it('scales a predictor: latency up, throughput down by the factor', () => {
    const base = createPredictor({
      name: 'x',
      source: 'x',
      points: [{ batch: 1, smPercent: 50, latencyMs: 10, throughputRps: 100 }],
    });
    const c = createLatencyCorrection();
    c.observe(10, 15);
    const p = correctedPredictor(base, c);
    expect(p.latencyMs(1, 50)).toBeCloseTo(15, 9);
    expect(p.throughputRps(1, 50)).toBeCloseTo(100 / 1.5, 9);
    expect(p.predict(1, 50).latencyHighMs).toBeCloseTo(base.predict(1, 50).latencyHighMs * 1.5, 9);
  });
});

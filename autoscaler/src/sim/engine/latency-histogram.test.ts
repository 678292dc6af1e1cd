import { describe, expect, it } from '@jest/globals';
import { LatencyHistogram } from './latency-histogram.js';

describe('LatencyHistogram', () => {
  it('gives percentiles to 0.1 ms below 10 s and 10 ms above', () => {
    const h = new LatencyHistogram();
    for (let i = 1; i <= 100; i++) h.add(i / 1000); // 1..100 ms
    expect(h.count).toBe(100);
    expect(h.quantile(0.5)).toBeCloseTo(0.0501, 4);
    expect(h.quantile(0.99)).toBeCloseTo(0.0991, 4);
    expect(h.mean()).toBeCloseTo(0.0505, 9);
    h.add(42.123);
    expect(h.quantile(1)).toBeCloseTo(42.13, 2);
  });

  it('is NaN when empty and clamps negatives and the far tail', () => {
    const h = new LatencyHistogram();
    expect(h.quantile(0.5)).toBeNaN();
    expect(h.mean()).toBeNaN();
    h.add(-1);
    h.add(10_000);
    expect(h.quantile(0)).toBeCloseTo(0.0001, 6);
    expect(h.quantile(1)).toBeCloseTo(600.01, 2);
  });
});

import { describe, expect, it } from '@jest/globals';
import { createPredictor } from './predictor.js';
import {
  instanceCapacityRps,
  throttledBatchLatencyMs,
  unthrottledBatchLatencyMs,
} from './instance-performance.js';

const predictor = createPredictor({
  name: 'x',
  source: 'x',
  points: [
    { batch: 4, smPercent: 20, latencyMs: 40, throughputRps: 100 },
    { batch: 4, smPercent: 40, latencyMs: 25, throughputRps: 160 },
  ],
});

describe('instance performance under a duty-cycled quota', () => {
  it('serves T(b, l) * q / l when saturated', () => {
    expect(instanceCapacityRps(predictor, { batch: 4, smLimit: 40, quota: 40 })).toBeCloseTo(
      160,
      6,
    );
    expect(instanceCapacityRps(predictor, { batch: 4, smLimit: 40, quota: 20 })).toBeCloseTo(80, 6);
  });

  it('is less efficient than the same quota as a spatial share (why q <= l matters)', () => {
    // q = 20 on a 40 % partition: 80 rps; a 20 % partition at full duty: 100 rps.
    expect(instanceCapacityRps(predictor, { batch: 4, smLimit: 40, quota: 20 })).toBeLessThan(
      instanceCapacityRps(predictor, { batch: 4, smLimit: 20, quota: 20 }),
    );
  });

  it('stretches batch latency by l / q when throttled, not when it has its slice', () => {
    const c = { batch: 4, smLimit: 40, quota: 20 };
    expect(throttledBatchLatencyMs(predictor, c)).toBeCloseTo(50, 6);
    expect(unthrottledBatchLatencyMs(predictor, c)).toBeCloseTo(25, 6);
  });

  it('treats a zero quota as no capacity and unbounded latency', () => {
    const c = { batch: 4, smLimit: 40, quota: 0 };
    expect(instanceCapacityRps(predictor, c)).toBe(0);
    expect(throttledBatchLatencyMs(predictor, c)).toBe(Infinity);
  });

  it('never counts a quota above the limit as more than full duty', () => {
    expect(instanceCapacityRps(predictor, { batch: 4, smLimit: 40, quota: 60 })).toBeCloseTo(
      160,
      6,
    );
  });
});

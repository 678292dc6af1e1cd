import { describe, expect, it } from '@jest/globals';
import { createPredictor } from './predictor.js';
import {
  batchBusyMs,
  dutyCycledWallMs,
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

describe('batchBusyMs', () => {
  it('is the batch latency when throughput is batch / latency', () => {
    expect(batchBusyMs(predictor, 4, 40)).toBeCloseTo(25, 6);
  });

  it('spans every decode step when throughput counts one request per several steps', () => {
    const llm = createPredictor({
      name: 'llm',
      source: 'x',
      points: [
        { batch: 4, smPercent: 50, latencyMs: 40, throughputRps: 3.125 }, // 32 steps of 40 ms
        { batch: 4, smPercent: 100, latencyMs: 30, throughputRps: 4.1667 },
      ],
    });
    expect(batchBusyMs(llm, 4, 50)).toBeCloseTo(1280, 0);
  });
});

describe('dutyCycledWallMs (token bucket of duty x window, full at the start)', () => {
  it.each([
    // [work ms, duty, window ms, wall ms]
    [20, 1, 100, 20], // full duty: no throttling
    [20, 0.5, 100, 20], // bucket lasts 100 ms at full speed: the batch fits
    [20, 0.2, 100, 20], // 25 ms at full speed: still fits
    [40, 0.2, 100, 25 + 15 / 0.2], // 25 ms full speed, the other 15 ms at 20 %
    [1000, 0.5, 100, 100 + 900 / 0.5],
  ])('%d ms at duty %d, window %d -> %d ms', (work, duty, window, wall) => {
    expect(dutyCycledWallMs(work, duty, window)).toBeCloseTo(wall, 9);
  });

  it('is unbounded at zero duty and never below the work itself', () => {
    expect(dutyCycledWallMs(10, 0, 100)).toBe(Infinity);
    for (const d of [0.05, 0.3, 0.7, 0.99]) {
      expect(dutyCycledWallMs(50, d, 100)).toBeGreaterThanOrEqual(50);
    }
  });
});

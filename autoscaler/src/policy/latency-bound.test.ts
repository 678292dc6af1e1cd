import { describe, expect, it } from '@jest/globals';
import { resolveKnobs } from './knobs.js';
import {
  bandRatio,
  latencyFloorQuota,
  requestLatencyBoundMs,
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

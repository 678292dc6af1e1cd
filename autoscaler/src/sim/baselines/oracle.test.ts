import { describe, expect, it } from '@jest/globals';
import { createPredictor } from '../../model/index.js';
import { flatProfile, testScenario } from '../testing.js';
import { computeOracle, leastDuty, oracleConfigs, oracleShare } from './oracle.js';

describe('leastDuty', () => {
  it('is the duty at which a full bucket covers the batch at full speed, when the SLO needs it', () => {
    // work 10 ms = SLO, window 100 ms: full speed needs d x 0.1 / (1 - d) >= 0.01 -> d = 1/11.
    expect(leastDuty(0.01, 0.01, 0.1)).toBeCloseTo(1 / 11, 6);
  });

  it('otherwise solves full speed then throttled: x0 + (w - x0) / d = SLO', () => {
    // work 1 s, SLO 2 s, window 0.1 s.
    const d = leastDuty(1, 2, 0.1);
    const x0 = (d * 0.1) / (1 - d);
    expect(x0 + (1 - x0) / d).toBeCloseTo(2, 6);
  });

  it('is infinite when the work alone exceeds the SLO', () => {
    expect(leastDuty(0.2, 0.1, 0.1)).toBe(Infinity);
  });
});

describe('oracleShare', () => {
  const configs = oracleConfigs(createPredictor(flatProfile(10)), 100, 0.1);

  it('takes the best l / T for the throughput bound', () => {
    // Flat 10 ms at any SM: batch 8 at 1 % SM serves 800 rps for 1 % -> 1/800 % per rps.
    expect(oracleShare(configs, 8000, 1)).toBeCloseTo(10, 6);
  });

  it('never goes below one serving instance: l x least duty', () => {
    // 1 rps: the throughput bound is tiny; one instance at l = 1 must finish a 10 ms batch
    // within 100 ms from a full bucket: x0 + (0.01 - x0) / d = 0.1 with x0 = 0.1 d / (1 - d).
    const share = oracleShare(configs, 1, 1);
    const d = share / 1;
    const x0 = (d * 0.1) / (1 - d);
    expect(x0 + (0.01 - x0) / d).toBeCloseTo(0.1, 4);
  });

  it('is the minScale floor (1 % per instance) in a second without requests', () => {
    expect(oracleShare(configs, 0, 2)).toBe(2);
    expect(oracleShare(configs, 0, 0)).toBe(0);
  });
});

describe('computeOracle', () => {
  it('sums the per-second shares of every function into GPU-seconds', () => {
    const arrivals = Array.from({ length: 8000 }, (_, i) => (i % 8000) / 8000 + 1); // 8000 in second 1
    const s = testScenario({ durationSeconds: 3, functions: [{ arrivals }] });
    const r = computeOracle(s, 1);
    // second 0: minScale floor 1 % ; second 1: 10 % ; second 2: 1 %.
    expect(r.metrics.gpuSeconds).toBeCloseTo(0.01 + 0.1 + 0.01, 6);
    expect(r.metrics.requests).toBe(8000);
    expect(r.metrics.sloViolationRate).toBe(0);
    expect(r.metrics.peakActiveGpus).toBe(1);
    expect(r.activeGpus[1]).toBe(1);
  });
});

import { describe, expect, it } from '@jest/globals';
import { resolveKnobs } from './knobs.js';
import type { LoadEstimate } from './load-estimator.js';
import {
  EMPTY_LOAD_ESTIMATE,
  advanceLoadEstimate,
  forecastLoad,
  predictedLoad,
  sustainedLoad,
} from './load-estimator.js';

const kalman = resolveKnobs();
const feed = (samples: number[], knobs = kalman): LoadEstimate =>
  advanceLoadEstimate(EMPTY_LOAD_ESTIMATE, samples, knobs);

describe('load estimation: Kalman filter (HAS-GPU constants Q = 1, R = 10)', () => {
  it('starts at the first sample with the measurement noise as variance', () => {
    const e = feed([5]);
    expect(e).toMatchObject({ level: 5, variance: 10, trend: 0, short: 5, lastSample: 5 });
    expect(e.samples).toBe(1);
  });

  it('follows the scalar random-walk update worked out by hand', () => {
    // z=5: P = 10 + 1 = 11, K = 11/21, x = 5, P = 10/21 * 11 = 5.238
    // z=8: P = 6.238, K = 6.238/16.238 = 0.3842, x = 5 + 0.3842 * 3 = 6.1525, P = 3.8415
    const e = feed([5, 5, 8]);
    expect(e.level).toBeCloseTo(6.1525, 3);
    expect(e.variance).toBeCloseTo(3.8415, 3);
    expect(e.trend).toBeCloseTo(0.1 * 1.1525, 4);
    // The prediction adds one standard deviation and never falls below the newest sample.
    expect(predictedLoad(e, kalman)).toBeCloseTo(6.1525 + Math.sqrt(3.8415), 3);
  });

  it('follows a busy function faster than a quiet one (Q ~ rate^2, R ~ rate)', () => {
    const stepGain = (base: number): number => {
      const warm = feed(Array.from({ length: 60 }, () => base));
      const after = advanceLoadEstimate(warm, [2 * base], kalman);
      return (after.level - base) / base;
    };
    expect(stepGain(1000)).toBeGreaterThan(stepGain(10) + 0.2);
    expect(stepGain(5)).toBeCloseTo(stepGain(10), 6); // below 10 rps: HAS's fixed constants
  });

  it('never mutates the estimate it is given', () => {
    const e = feed([5, 6]);
    const copy = { ...e };
    advanceLoadEstimate(e, [100, 100], kalman);
    expect(e).toEqual(copy);
  });
});

describe('load estimation: EWMA', () => {
  const ewma = resolveKnobs({ loadPredictor: 'ewma', ewmaAlpha: 0.5, uncertaintySigmas: 0 });

  it.each([
    [[10], 10],
    [[10, 20], 15],
    [[10, 20, 20], 17.5],
    [[10, 0], 5],
  ])('%j -> level %d', (samples, level) => {
    expect(feed(samples, ewma).level).toBeCloseTo(level, 9);
  });

  it('tracks the spread of residuals as its uncertainty', () => {
    expect(feed([10, 10, 10], ewma).variance).toBe(0);
    expect(feed([10, 30, 10], ewma).variance).toBeGreaterThan(0);
  });
});

describe('predictedLoad and forecastLoad', () => {
  const base: LoadEstimate = {
    level: 100,
    variance: 25,
    trend: 2,
    short: 100,
    lastSample: 90,
    samples: 10,
  };

  it.each([
    ['no estimate yet', { ...base, samples: 0 }, {}, 0],
    ['level + 1 sigma', base, {}, 105],
    ['never below the newest sample', { ...base, lastSample: 140 }, {}, 140],
    ['two sigmas', base, { uncertaintySigmas: 2 }, 110],
    ['burst margin 10 %', base, { burstMarginFraction: 0.1 }, 115.5],
    ['burst margin 5 rps (HAS buffer)', base, { burstMarginRps: 5 }, 110],
  ])('%s', (_, est, knobs, expected) => {
    expect(predictedLoad(est, resolveKnobs(knobs))).toBeCloseTo(expected, 9);
  });

  it.each([
    ['extends a rising trend over the horizon', base, {}, 12, 105 + 24],
    ['ignores a falling trend', { ...base, trend: -5 }, {}, 12, 105],
    ['is capped at maxForecastGrowth x the prediction', { ...base, trend: 50 }, {}, 12, 210],
    ['can be switched off', base, { anticipateColdStart: false }, 12, 105],
    ['is the prediction at horizon 0', base, {}, 0, 105],
  ])('forecast %s', (_, est, knobs, horizon, expected) => {
    expect(forecastLoad(est, resolveKnobs(knobs), horizon)).toBeCloseTo(expected, 9);
  });

  it.each([
    ['level + 1 sigma', base, {}, 105],
    ['ignores the newest sample spike', { ...base, lastSample: 400 }, {}, 105],
    ['with the burst margins', base, { burstMarginFraction: 0.1, burstMarginRps: 5 }, 120.5],
    ['no estimate yet', { ...base, samples: 0 }, {}, 0],
  ])('sustainedLoad: %s', (_, est, knobs, expected) => {
    expect(sustainedLoad(est, resolveKnobs(knobs))).toBeCloseTo(expected, 9);
  });

  it('forecasts from a given base (instances follow the sustained load)', () => {
    const spiky = { ...base, lastSample: 400 };
    const k = resolveKnobs();
    expect(forecastLoad(spiky, k, 12)).toBeCloseTo(400 + 24, 9);
    expect(forecastLoad(spiky, k, 12, sustainedLoad(spiky, k))).toBeCloseTo(105 + 24, 9);
  });
});

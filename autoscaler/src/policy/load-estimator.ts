import type { PolicyKnobs } from './knobs.js';

/** What the policy remembers about a function's arrival rate. Plain numbers only. */
export interface LoadEstimate {
  /** Filtered arrival rate (rps): the Kalman state or the EWMA. */
  readonly level: number;
  /** Uncertainty of `level` (rps^2): the Kalman P, or the EW variance of the residuals. */
  readonly variance: number;
  /** Smoothed slope of `level`, rps per second (Holt). */
  readonly trend: number;
  /** Short-window mean (EMA over about `panicWindowS`) for panic detection. */
  readonly short: number;
  /** The newest one-second sample. */
  readonly lastSample: number;
  /** Samples seen so far; 0 means no estimate yet. */
  readonly samples: number;
}

export const EMPTY_LOAD_ESTIMATE: LoadEstimate = Object.freeze({
  level: 0,
  variance: 0,
  trend: 0,
  short: 0,
  lastSample: 0,
  samples: 0,
});

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/**
 * Folds one-second arrival-rate samples (oldest first) into the estimate, in place on a
 * draft the caller owns. The Kalman filter is the scalar random walk HAS-GPU uses
 * (Q = 1, R = 10, tuned there for 5-20 rps). Above `kalmanScaleRps` Q grows with the square
 * of the rate (real changes are proportional to the level) and R linearly (a Poisson count
 * has variance equal to its mean): a busy function, whose relative counting noise is
 * small, follows real changes faster, while a quiet one is smoothed exactly as in HAS-GPU.
 */
export function foldSamples(
  est: Mutable<LoadEstimate>,
  samples: readonly number[],
  knobs: PolicyKnobs,
): void {
  const shortAlpha = Math.min(1, 2 / (knobs.panicWindowS + 1));
  for (const z of samples) {
    const prev = est.level;
    if (est.samples === 0) {
      est.level = z;
      est.variance = knobs.loadPredictor === 'kalman' ? measurementNoise(z, knobs) : 0;
      est.trend = 0;
      est.short = z;
    } else {
      if (knobs.loadPredictor === 'kalman') kalmanStep(est, z, knobs);
      else ewmaStep(est, z, knobs.ewmaAlpha);
      est.trend += knobs.trendAlpha * (est.level - prev - est.trend);
      est.short += shortAlpha * (z - est.short);
    }
    est.lastSample = z;
    est.samples++;
  }
}

/** Pure form of foldSamples, for callers that keep estimates themselves. */
export function advanceLoadEstimate(
  prev: LoadEstimate,
  samples: readonly number[],
  knobs: PolicyKnobs,
): LoadEstimate {
  const next = { ...prev };
  foldSamples(next, samples, knobs);
  return next;
}

function scaleOf(level: number, knobs: PolicyKnobs): number {
  return Math.max(1, level / knobs.kalmanScaleRps);
}

function measurementNoise(level: number, knobs: PolicyKnobs): number {
  return knobs.kalmanMeasurementNoise * scaleOf(level, knobs);
}

function kalmanStep(est: Mutable<LoadEstimate>, z: number, knobs: PolicyKnobs): void {
  const s = scaleOf(est.level, knobs);
  const p = est.variance + knobs.kalmanProcessNoise * s * s;
  const gain = p / (p + knobs.kalmanMeasurementNoise * s);
  est.level += gain * (z - est.level);
  est.variance = (1 - gain) * p;
}

function ewmaStep(est: Mutable<LoadEstimate>, z: number, alpha: number): void {
  const residual = z - est.level;
  est.level += alpha * residual;
  est.variance = (1 - alpha) * (est.variance + alpha * residual * residual);
}

/**
 * The load the policy provisions for now: the filtered level plus `uncertaintySigmas`
 * standard deviations (HAS-GPU's over-provisioning bias), never below the newest sample,
 * plus the burst margin.
 */
export function predictedLoad(est: LoadEstimate, knobs: PolicyKnobs): number {
  if (est.samples === 0) return 0;
  const upper = est.level + knobs.uncertaintySigmas * Math.sqrt(Math.max(0, est.variance));
  const base = Math.max(est.lastSample, upper, 0);
  return base * (1 + knobs.burstMarginFraction) + knobs.burstMarginRps;
}

/**
 * The load that persists: the filtered level plus `uncertaintySigmas` standard deviations
 * and the burst margin, without the newest sample's own spike. Quotas follow the newest
 * sample (vertical scaling is instant and free to undo); instances, which take a cold start
 * to arrive and cost their floor while they stay, follow this.
 */
export function sustainedLoad(est: LoadEstimate, knobs: PolicyKnobs): number {
  if (est.samples === 0) return 0;
  const upper = est.level + knobs.uncertaintySigmas * Math.sqrt(Math.max(0, est.variance));
  return Math.max(0, upper) * (1 + knobs.burstMarginFraction) + knobs.burstMarginRps;
}

/**
 * The load expected `horizonS` seconds ahead: `base` (default the current prediction)
 * extended along a rising trend (a falling trend is ignored: capacity is never planned
 * below today's load), capped at `maxForecastGrowth` times the base.
 */
export function forecastLoad(
  est: LoadEstimate,
  knobs: PolicyKnobs,
  horizonS: number,
  base: number = predictedLoad(est, knobs),
): number {
  const now = base;
  if (!knobs.anticipateColdStart || horizonS <= 0 || est.trend <= 0) return now;
  return Math.min(now * knobs.maxForecastGrowth, now + est.trend * horizonS);
}

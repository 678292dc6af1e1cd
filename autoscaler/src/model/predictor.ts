import type { FunctionProfile } from './profile.js';
import { SM_PERCENT_MAX, SM_PERCENT_MIN } from './profile.js';
import type { LatencyGrid } from './latency-grid.js';
import { completeGrid, gridFromPoints } from './latency-grid.js';
import { leaveOneOutErrors } from './leave-one-out.js';

/** What the model expects of one instance at (batch, SM %). */
export interface Prediction {
  readonly batch: number;
  readonly smPercent: number;
  /** Expected wall time of one batch. */
  readonly latencyMs: number;
  /** Lower and upper edge of the uncertainty band around latencyMs. */
  readonly latencyLowMs: number;
  readonly latencyHighMs: number;
  /** Requests per second when batches of this size run back to back. */
  readonly throughputRps: number;
  /** True when (batch, SM %) lies outside the measured batch or SM range. */
  readonly extrapolated: boolean;
}

export interface Predictor {
  readonly profile: FunctionProfile;
  /** Batch sizes the profile measured, ascending: the ones a policy should choose from. */
  readonly batches: readonly number[];
  /** SM percentages the profile measured, ascending. */
  readonly smPercents: readonly number[];
  /** Relative half-width of the band for points inside the measured range. */
  readonly bandFraction: number;
  predict(batch: number, smPercent: number): Prediction;
  latencyMs(batch: number, smPercent: number): number;
  throughputRps(batch: number, smPercent: number): number;
  /** GPU memory of one instance running this batch size, when the profile says. */
  memoryMiB(batch: number): number | undefined;
}

export interface PredictorOptions {
  /**
   * Band half-width used when the profile is too small to measure its own error.
   * @default 0.25
   */
  readonly defaultBandFraction?: number;
}

/** Below this many points leave-one-out says little; the default band is used instead. */
const MIN_POINTS_FOR_LOO = 6;

/**
 * Builds the latency/throughput model of one function from its measured points.
 *
 * Method: the measured cells of the batch x SM grid are completed (interpolation along SM
 * in 1/SM, along batch in log(batch), and ratio transfer from neighbouring cells), each
 * batch row is made non-increasing in SM by isotonic regression, and queries are answered
 * by interpolating rows in 1/SM and between rows in log(batch). Latency is therefore
 * monotone non-increasing in SM % for every batch size. Throughput is rho * batch / latency,
 * with rho the profile's median of throughput * latency / batch (1 for most models; an LLM
 * that counts one request per several decode steps has rho < 1).
 *
 * The band is the 90th percentile of the profile's own leave-one-out error, doubled
 * outside the measured range.
 */
export function createPredictor(
  profile: FunctionProfile,
  options: PredictorOptions = {},
): Predictor {
  const grid = completeGrid(gridFromPoints(profile.points));
  const rho = median(profile.points.map(p => (p.throughputRps * p.latencyMs) / 1000 / p.batch));
  const bandFraction = computeBand(profile, options.defaultBandFraction ?? 0.25);
  const gammaHigh = batchExponent(grid, grid.batches.length - 2, grid.batches.length - 1);
  const gammaLow = batchExponent(grid, 0, 1);
  const memory = memoryByBatch(profile);
  const cache = new Map<number, number>();

  const latencyMs = (batch: number, smPercent: number): number => {
    const key = batch * 1e6 + Math.round(smPercent * 100);
    const hit = cache.get(key);
    if (hit !== undefined) return hit;
    const v = latencyAt(grid, batch, clampSm(smPercent), gammaLow, gammaHigh);
    cache.set(key, v);
    return v;
  };
  const throughputRps = (batch: number, smPercent: number): number =>
    (rho * batch * 1000) / latencyMs(batch, smPercent);

  const minB = grid.batches[0] ?? 1;
  const maxB = grid.batches.at(-1) ?? 1;
  const minS = grid.sms[0] ?? SM_PERCENT_MIN;
  const maxS = grid.sms.at(-1) ?? SM_PERCENT_MAX;

  return {
    profile,
    batches: grid.batches,
    smPercents: grid.sms,
    bandFraction,
    latencyMs,
    throughputRps,
    memoryMiB: batch => memory(batch),
    predict(batch, smPercent) {
      const l = latencyMs(batch, smPercent);
      const extrapolated = batch < minB || batch > maxB || smPercent < minS || smPercent > maxS;
      const u = extrapolated ? Math.min(0.95, bandFraction * 2) : bandFraction;
      return {
        batch,
        smPercent,
        latencyMs: l,
        latencyLowMs: l * (1 - u),
        latencyHighMs: l * (1 + u),
        throughputRps: throughputRps(batch, smPercent),
        extrapolated,
      };
    },
  };
}

function clampSm(s: number): number {
  return Math.min(SM_PERCENT_MAX, Math.max(SM_PERCENT_MIN, s));
}

/** Latency of one measured batch row at any SM %: linear in 1/SM between knots. */
function rowLatency(grid: LatencyGrid, bi: number, s: number): number {
  const row = grid.cells[bi] ?? [];
  const sms = grid.sms;
  const n = sms.length;
  const lastSm = sms[n - 1] ?? SM_PERCENT_MAX;
  if (n === 1) {
    const only = row[0] ?? NaN;
    return s >= lastSm ? only : (only * lastSm) / s;
  }
  if (s >= lastSm) return row[n - 1] ?? NaN;
  const hi = Math.max(1, upperKnot(sms, s));
  const sLo = sms[hi - 1] ?? 1;
  const sHi = sms[hi] ?? 1;
  const a = row[hi - 1] ?? NaN;
  const b = row[hi] ?? NaN;
  // Below the lowest knot this extends the first segment's slope in 1/SM (never negative
  // after the isotonic fit), i.e. the function keeps slowing down as it loses SMs.
  const t = (1 / s - 1 / sLo) / (1 / sHi - 1 / sLo);
  return a + (b - a) * t;
}

/** Index of the first knot >= s, at most the last index. */
function upperKnot(knots: readonly number[], s: number): number {
  let i = 0;
  while (i < knots.length - 1 && (knots[i] ?? 0) < s) i++;
  return i;
}

function latencyAt(
  grid: LatencyGrid,
  batch: number,
  s: number,
  gammaLow: number,
  gammaHigh: number,
): number {
  const bs = grid.batches;
  const n = bs.length;
  const minB = bs[0] ?? 1;
  const maxB = bs[n - 1] ?? 1;
  if (batch <= minB) return rowLatency(grid, 0, s) * Math.pow(batch / minB, gammaLow);
  if (batch >= maxB) return rowLatency(grid, n - 1, s) * Math.pow(batch / maxB, gammaHigh);
  let hi = 1;
  while (hi < n - 1 && (bs[hi] ?? 0) < batch) hi++;
  const lo = hi - 1;
  const bLo = bs[lo] ?? 1;
  const bHi = bs[hi] ?? 1;
  const t = (Math.log(batch) - Math.log(bLo)) / (Math.log(bHi) - Math.log(bLo));
  // A fixed convex combination of two non-increasing rows is non-increasing in SM.
  return rowLatency(grid, lo, s) * (1 - t) + rowLatency(grid, hi, s) * t;
}

/**
 * How latency grows with batch size beyond the measured range: the mean log-log slope
 * between two measured rows, clamped to [0, 2]. A single-row profile assumes linear growth,
 * the pessimistic choice for a compute-bound model.
 */
function batchExponent(grid: LatencyGrid, i: number, j: number): number {
  if (i < 0 || j < 0 || i === j || grid.batches.length < 2) return 1;
  const bi = grid.batches[i] ?? 1;
  const bj = grid.batches[j] ?? 1;
  const slopes = grid.sms.map((_, si) => {
    const li = grid.cells[i]?.[si] ?? NaN;
    const lj = grid.cells[j]?.[si] ?? NaN;
    return Math.log(lj / li) / Math.log(bj / bi);
  });
  const mean = slopes.reduce((a, b) => a + b, 0) / slopes.length;
  return Number.isFinite(mean) ? Math.min(2, Math.max(0, mean)) : 1;
}

function computeBand(profile: FunctionProfile, fallback: number): number {
  if (profile.points.length < MIN_POINTS_FOR_LOO) return fallback;
  const errors = leaveOneOutErrors(profile.points).map(e => e.relativeError);
  if (errors.length === 0) return fallback;
  errors.sort((a, b) => a - b);
  const p90 = errors[Math.min(errors.length - 1, Math.floor(0.9 * errors.length))] ?? fallback;
  return Math.max(0.01, p90);
}

function memoryByBatch(profile: FunctionProfile): (batch: number) => number | undefined {
  const byBatch = new Map<number, number>();
  for (const p of profile.points) {
    if (p.memoryMiB === undefined) continue;
    byBatch.set(p.batch, Math.max(byBatch.get(p.batch) ?? 0, p.memoryMiB));
  }
  const known = [...byBatch.entries()].sort((a, b) => a[0] - b[0]);
  return batch => {
    if (known.length === 0) return profile.memoryMiB;
    const exact = byBatch.get(batch);
    if (exact !== undefined) return exact;
    const [firstB, firstM] = known[0] ?? [1, 0];
    const [lastB, lastM] = known[known.length - 1] ?? [1, 0];
    if (batch <= firstB) return firstM;
    if (batch >= lastB) {
      if (known.length < 2) return lastM;
      const [prevB, prevM] = known[known.length - 2] ?? [1, 0];
      return lastM + ((lastM - prevM) / (lastB - prevB)) * (batch - lastB);
    }
    const hi = known.findIndex(([b]) => b > batch);
    const [b1, m1] = known[hi - 1] ?? [1, 0];
    const [b2, m2] = known[hi] ?? [1, 0];
    return m1 + ((m2 - m1) * (batch - b1)) / (b2 - b1);
  };
}

function median(values: readonly number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  if (s.length === 0) return 1;
  return s.length % 2 === 1 ? (s[mid] ?? 1) : ((s[mid - 1] ?? 1) + (s[mid] ?? 1)) / 2;
}

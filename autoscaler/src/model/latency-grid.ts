import type { ProfilePoint } from './profile.js';
import { nonIncreasingFit } from './isotonic.js';

/**
 * Latency (ms) over the measured batch sizes x measured SM percentages. A profile from the
 * pruning search covers only a few cells; `completeGrid` estimates the rest.
 */
export interface LatencyGrid {
  readonly batches: readonly number[];
  readonly sms: readonly number[];
  /** cells[bi][si], undefined where not measured (before completion). */
  readonly cells: (number | undefined)[][];
}

/** Weights of the three estimates, chosen by leave-one-out on the published A100 profiles. */
const W_ALONG_SM = 3;
const W_ALONG_BATCH = 0.5;
const W_RATIO = 2;

export function gridFromPoints(points: readonly ProfilePoint[]): LatencyGrid {
  const batches = [...new Set(points.map(p => p.batch))].sort((a, b) => a - b);
  const sms = [...new Set(points.map(p => p.smPercent))].sort((a, b) => a - b);
  const cells = batches.map(() => sms.map((): number | undefined => undefined));
  for (const p of points) {
    const row = cells[batches.indexOf(p.batch)];
    if (row) row[sms.indexOf(p.smPercent)] = p.latencyMs;
  }
  return { batches, sms, cells };
}

function cell(g: LatencyGrid, bi: number, si: number): number | undefined {
  return g.cells[bi]?.[si];
}

/** Latency is close to linear in 1/SM until the function stops being compute-bound. */
function alongSm(g: LatencyGrid, bi: number, si: number): number | undefined {
  let lo = si - 1;
  while (lo >= 0 && cell(g, bi, lo) === undefined) lo--;
  let hi = si + 1;
  while (hi < g.sms.length && cell(g, bi, hi) === undefined) hi++;
  const a = cell(g, bi, lo);
  const b = cell(g, bi, hi);
  if (a === undefined || b === undefined) return undefined;
  const sLo = g.sms[lo] ?? 1;
  const sHi = g.sms[hi] ?? 1;
  const s = g.sms[si] ?? 1;
  const t = (1 / s - 1 / sLo) / (1 / sHi - 1 / sLo);
  return a + (b - a) * t;
}

/** Between two measured batch sizes, latency is interpolated over log(batch). */
function alongBatch(g: LatencyGrid, bi: number, si: number): number | undefined {
  let lo = bi - 1;
  while (lo >= 0 && cell(g, lo, si) === undefined) lo--;
  let hi = bi + 1;
  while (hi < g.batches.length && cell(g, hi, si) === undefined) hi++;
  const a = cell(g, lo, si);
  const b = cell(g, hi, si);
  if (a === undefined || b === undefined) return undefined;
  const bLo = Math.log(g.batches[lo] ?? 1);
  const bHi = Math.log(g.batches[hi] ?? 1);
  const t = (Math.log(g.batches[bi] ?? 1) - bLo) / (bHi - bLo);
  return a + (b - a) * t;
}

/**
 * Ratio transfer: L(b,s) ~ L(b,s') * L(b',s) / L(b',s') for nearby b', s'. This is what
 * lets the model extrapolate to an edge (lowest SM, largest batch) from how neighbouring
 * batch sizes behave there.
 */
function byRatio(g: LatencyGrid, bi: number, si: number): number | undefined {
  const s = g.sms[si] ?? 1;
  const b = g.batches[bi] ?? 1;
  const otherSms = g.sms
    .map((_, j) => j)
    .filter(j => j !== si && cell(g, bi, j) !== undefined)
    .sort((x, y) => Math.abs(1 / (g.sms[x] ?? 1) - 1 / s) - Math.abs(1 / (g.sms[y] ?? 1) - 1 / s))
    .slice(0, 2);
  const otherBatches = g.batches
    .map((_, i) => i)
    .filter(i => i !== bi && cell(g, i, si) !== undefined)
    .sort(
      (x, y) =>
        Math.abs(Math.log((g.batches[x] ?? 1) / b)) - Math.abs(Math.log((g.batches[y] ?? 1) / b)),
    )
    .slice(0, 2);
  let sum = 0;
  let weights = 0;
  for (const j of otherSms) {
    for (const i of otherBatches) {
      const corner = cell(g, i, j);
      const sideS = cell(g, bi, j);
      const sideB = cell(g, i, si);
      if (corner === undefined || sideS === undefined || sideB === undefined) continue;
      const distance =
        100 * Math.abs(1 / (g.sms[j] ?? 1) - 1 / s) + Math.abs(Math.log((g.batches[i] ?? 1) / b));
      const w = 1 / distance;
      sum += ((sideS * sideB) / corner) * w;
      weights += w;
    }
  }
  return weights > 0 ? sum / weights : undefined;
}

/** Weighted geometric mean of whichever estimates exist for one cell. */
export function estimateCell(g: LatencyGrid, bi: number, si: number): number | undefined {
  const estimates: [number, number][] = [];
  const s = alongSm(g, bi, si);
  if (s !== undefined) estimates.push([s, W_ALONG_SM]);
  const b = alongBatch(g, bi, si);
  if (b !== undefined) estimates.push([b, W_ALONG_BATCH]);
  const r = byRatio(g, bi, si);
  if (r !== undefined) estimates.push([r, W_RATIO]);
  if (estimates.length === 0) return undefined;
  let logSum = 0;
  let wSum = 0;
  for (const [v, w] of estimates) {
    logSum += Math.log(v) * w;
    wSum += w;
  }
  return Math.exp(logSum / wSum);
}

/**
 * Fills every cell, then makes each batch row non-increasing in SM. Cells are filled in
 * order of how well their row is measured, so later estimates lean on earlier ones only
 * when nothing better exists. Cells no estimate reaches are filled pessimistically:
 * flat above the row's highest measured SM, and ideal 1/SM slowdown below its lowest.
 */
export function completeGrid(g: LatencyGrid): LatencyGrid {
  const cells = g.cells.map(row => [...row]);
  const work: LatencyGrid = { batches: g.batches, sms: g.sms, cells };
  const definedInRow = (bi: number): number =>
    (cells[bi] ?? []).filter(v => v !== undefined).length;
  let missing: [number, number][] = [];
  cells.forEach((row, bi) => {
    row.forEach((v, si) => {
      if (v === undefined) missing.push([bi, si]);
    });
  });
  while (missing.length > 0) {
    missing.sort((x, y) => definedInRow(y[0]) - definedInRow(x[0]));
    let filled = -1;
    for (let k = 0; k < missing.length; k++) {
      const [bi, si] = missing[k] ?? [0, 0];
      const v = estimateCell(work, bi, si);
      if (v !== undefined) {
        (cells[bi] ?? [])[si] = v;
        filled = k;
        break;
      }
    }
    if (filled < 0) break;
    missing = missing.filter((_, k) => k !== filled);
  }
  for (const [bi, si] of missing) (cells[bi] ?? [])[si] = pessimisticFill(work, bi, si);
  const smoothed = cells.map(row => nonIncreasingFit(row.map(v => v ?? 0)));
  return { batches: g.batches, sms: g.sms, cells: smoothed };
}

function pessimisticFill(g: LatencyGrid, bi: number, si: number): number {
  const row = g.cells[bi] ?? [];
  const s = g.sms[si] ?? 1;
  let best: number | undefined;
  let bestSm = 0;
  row.forEach((v, j) => {
    if (v === undefined) return;
    const sj = g.sms[j] ?? 1;
    if (best === undefined || Math.abs(sj - s) < Math.abs(bestSm - s)) {
      best = v;
      bestSm = sj;
    }
  });
  if (best === undefined) return NaN;
  return s >= bestSm ? best : (best * bestSm) / s;
}

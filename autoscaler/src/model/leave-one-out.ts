import type { FunctionProfile, ProfilePoint } from './profile.js';
import { completeGrid, gridFromPoints } from './latency-grid.js';

export interface LeaveOneOutError {
  readonly batch: number;
  readonly smPercent: number;
  readonly measuredMs: number;
  readonly predictedMs: number;
  /** |predicted - measured| / measured */
  readonly relativeError: number;
}

export interface LeaveOneOutReport {
  readonly profile: string;
  readonly points: number;
  /** Mean absolute percentage error on latency, in percent. */
  readonly mapePercent: number;
  readonly p90Percent: number;
  readonly maxPercent: number;
  readonly worst: readonly LeaveOneOutError[];
}

/**
 * Predicts each measured point from all the others. A point whose batch size or SM %
 * nobody else measured cannot be predicted from the rest and is left out of the figures.
 */
export function leaveOneOutErrors(points: readonly ProfilePoint[]): LeaveOneOutError[] {
  const out: LeaveOneOutError[] = [];
  points.forEach((held, k) => {
    const rest = points.filter((_, i) => i !== k);
    const grid = gridFromPoints(rest);
    const bi = grid.batches.indexOf(held.batch);
    const si = grid.sms.indexOf(held.smPercent);
    if (bi < 0 || si < 0) return;
    const predicted = completeGrid(grid).cells[bi]?.[si];
    if (predicted === undefined || !Number.isFinite(predicted)) return;
    out.push({
      batch: held.batch,
      smPercent: held.smPercent,
      measuredMs: held.latencyMs,
      predictedMs: predicted,
      relativeError: Math.abs(predicted - held.latencyMs) / held.latencyMs,
    });
  });
  return out;
}

export function leaveOneOutReport(profile: FunctionProfile, worstCount = 3): LeaveOneOutReport {
  const errors = leaveOneOutErrors(profile.points);
  const rel = errors.map(e => e.relativeError).sort((a, b) => a - b);
  const mean = rel.reduce((a, b) => a + b, 0) / Math.max(1, rel.length);
  return {
    profile: profile.name,
    points: errors.length,
    mapePercent: 100 * mean,
    p90Percent: 100 * (rel[Math.min(rel.length - 1, Math.floor(0.9 * rel.length))] ?? 0),
    maxPercent: 100 * (rel.at(-1) ?? 0),
    worst: [...errors].sort((a, b) => b.relativeError - a.relativeError).slice(0, worstCount),
  };
}

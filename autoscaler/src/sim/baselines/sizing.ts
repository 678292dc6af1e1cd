import type { Predictor } from '../../model/index.js';
import { instanceCapacityRps } from '../../model/index.js';

/**
 * Instance sizing rules the baselines share. None of the baseline systems fixes a batch size
 * for our profiles, so every baseline gets the same rule, the one common in batching inference
 * servers: a batch may take at most half the latency SLO when throttled to its quota, because a
 * request can wait for the batch in progress and then run in its own. No baseline is therefore
 * handed a configuration that cannot meet the SLO by construction.
 */
export const BATCH_BUDGET_FRACTION = 0.5;

/**
 * How long one batch of b holds an instance at (l, q), ms: b / T(b, l), stretched by the duty
 * cycle l / q. For most models b / T is the profiled batch latency; for an LLM profile whose
 * throughput counts one request per ~32 decode steps it is the whole decode, which is what a
 * request waits for.
 */
export function batchServiceMs(
  predictor: Predictor,
  c: { readonly batch: number; readonly smLimit: number; readonly quota: number },
): number {
  const t = predictor.throughputRps(c.batch, c.smLimit);
  if (!(t > 0) || !(c.quota > 0)) return Infinity;
  return ((c.batch * 1000) / t) * Math.max(1, c.smLimit / c.quota);
}

export interface Shape {
  readonly batch: number;
  /** MPS SM limit l (percent). */
  readonly smLimit: number;
  /** Effective quota q (percent of the GPU). */
  readonly quota: number;
  /** Requests per second one instance serves saturated. */
  readonly capacityRps: number;
}

/** Largest profiled batch whose throttled service time fits the budget; 1 if none does. */
export function largestBatchWithin(
  predictor: Predictor,
  smLimit: number,
  quota: number,
  budgetMs: number,
): number {
  let best = 1;
  for (const b of predictor.batches) {
    if (batchServiceMs(predictor, { batch: b, smLimit, quota }) <= budgetMs) {
      best = Math.max(best, b);
    }
  }
  return best;
}

/** Shape of an instance at (l, q) with the largest batch within the SLO budget. */
export function shapeAt(
  predictor: Predictor,
  sloMs: number,
  smLimit: number,
  quota: number,
): Shape {
  const batch = largestBatchWithin(predictor, smLimit, quota, sloMs * BATCH_BUDGET_FRACTION);
  return {
    batch,
    smLimit,
    quota,
    capacityRps: instanceCapacityRps(predictor, { batch, smLimit, quota }),
  };
}

/** Least profiled SM % at which a batch meets the budget unthrottled (an instance's real need). */
export function neededSm(predictor: Predictor, batch: number, budgetMs: number): number {
  for (const s of predictor.smPercents) {
    if (batchServiceMs(predictor, { batch, smLimit: s, quota: s }) <= budgetMs) return s;
  }
  return 100;
}

export interface EfficientOptions {
  /** SM partitions to consider (default: the profile's measured SM values). */
  readonly smValues?: readonly number[] | undefined;
  /** Time-quota steps, percent (default 10, 20, ..., 100). */
  readonly quotaSteps?: readonly number[] | undefined;
  /** Smallest useful pod capacity, rps; capped at what a pod can reach at all. */
  readonly minCapacityRps?: number | undefined;
}

/** Whether a pod at (b, S, Q) meets the SLO budget (sizing rule above). */
export function meetsBudget(
  predictor: Predictor,
  sloMs: number,
  c: { readonly batch: number; readonly sm: number; readonly timeQuota: number },
): boolean {
  const quota = (c.sm * c.timeQuota) / 100;
  return (
    batchServiceMs(predictor, { batch: c.batch, smLimit: c.sm, quota }) <=
    sloMs * BATCH_BUDGET_FRACTION
  );
}

/** An FaST-GShare / HAS-GPU pod configuration: SM partition S, time quota Q, batch b. */
export interface SpatioTemporalShape {
  readonly sm: number;
  /** Time quota Q, percent of time. */
  readonly timeQuota: number;
  readonly batch: number;
  /** Effective share q = S x Q / 100, percent of the GPU. */
  readonly quota: number;
  readonly capacityRps: number;
}

const DEFAULT_QUOTA_STEPS = [10, 20, 30, 40, 50, 60, 70, 80, 90, 100];

/**
 * The "most efficient configuration" of FaST-GShare and HAS-GPU
 * (HAS-GPU internal/controller GetMostEfficientConfig): the (S, Q, b) with the highest
 * throughput per unit of S x Q among those giving at least the minimum pod throughput — here
 * also meeting the SLO budget, which the systems rely on their profiler for. Ties go to the
 * smallest Q (the finest pod).
 */
export function mostEfficientShape(
  predictor: Predictor,
  sloMs: number,
  o: EfficientOptions = {},
): SpatioTemporalShape {
  const sms = o.smValues ?? predictor.smPercents;
  const steps = o.quotaSteps ?? DEFAULT_QUOTA_STEPS;
  const budget = sloMs * BATCH_BUDGET_FRACTION;
  const feasible: { s: number; b: number; Q: number; quota: number; cap: number }[] = [];
  let peak = 0;
  for (const s of sms) {
    for (const b of predictor.batches) {
      for (const Q of steps) {
        const quota = (s * Q) / 100;
        const cfg = { batch: b, smLimit: s, quota };
        if (batchServiceMs(predictor, cfg) > budget) continue;
        const cap = instanceCapacityRps(predictor, cfg);
        feasible.push({ s, b, Q, quota, cap });
        peak = Math.max(peak, cap);
      }
    }
  }
  // HAS-GPU asks 35 rps of a pod; a model that cannot reach that within the SLO asks its best.
  const minCap = Math.min(o.minCapacityRps ?? 35, peak);
  let best: SpatioTemporalShape | undefined;
  let bestEff = -1;
  for (const { s, b, Q, quota, cap } of feasible) {
    if (cap < minCap) continue;
    const eff = cap / quota;
    if (eff > bestEff * (1 + 1e-9)) {
      bestEff = eff;
      best = { sm: s, timeQuota: Q, batch: b, quota, capacityRps: cap };
    }
  }
  if (best) return best;
  // Nothing meets the SLO budget: the full GPU at batch 1, the best the system could do.
  return {
    sm: 100,
    timeQuota: 100,
    batch: 1,
    quota: 100,
    capacityRps: instanceCapacityRps(predictor, { batch: 1, smLimit: 100, quota: 100 }),
  };
}

import type { Predictor } from './predictor.js';

/**
 * Performance of one running instance: batch size b, MPS limit l (its spatial SM cap, fixed
 * at container start) and effective quota q in [r, l] (changed at run time).
 *
 * MPS cannot change a running client's SM share, so the runtime enforces q by duty-cycling:
 * GPU work runs for a fraction q / l of each time window (see docs/contracts/quota-file.md).
 * A saturated instance therefore serves T(b, l) * q / l requests per second, and a batch that
 * has to wait for its time slice takes up to L(b, l) * l / q. That pessimistic latency is the
 * one sizing and SLO checks use; at light load a batch runs at L(b, l).
 */
export interface InstanceConfig {
  readonly batch: number;
  /** MPS active-thread percentage l. */
  readonly smLimit: number;
  /** Effective quota q, percent of the GPU's SMs. */
  readonly quota: number;
}

function dutyCycle(c: InstanceConfig): number {
  if (!(c.smLimit > 0) || !(c.quota > 0)) return 0;
  return Math.min(1, c.quota / c.smLimit);
}

/** Requests per second the instance serves when saturated. */
export function instanceCapacityRps(predictor: Predictor, c: InstanceConfig): number {
  return predictor.throughputRps(c.batch, c.smLimit) * dutyCycle(c);
}

/** Wall time of one batch when the instance is throttled to its quota. */
export function throttledBatchLatencyMs(predictor: Predictor, c: InstanceConfig): number {
  const d = dutyCycle(c);
  return d > 0 ? predictor.latencyMs(c.batch, c.smLimit) / d : Infinity;
}

/** Wall time of one batch when the instance has its time slice (light load). */
export function unthrottledBatchLatencyMs(predictor: Predictor, c: InstanceConfig): number {
  return predictor.latencyMs(c.batch, c.smLimit);
}

/**
 * GPU time one batch of n requests occupies the instance for, ms: n / T(n, l). For most
 * models this is the batch latency L(n, l); for an LLM profile whose throughput counts one
 * request per several decode steps it is the whole decode (steps x L). This is what the
 * runtime measures as the batch's busy time (`dilu_batch_duration_seconds`) and charges its
 * duty-cycle tokens for.
 */
export function batchBusyMs(predictor: Predictor, batch: number, smLimit: number): number {
  const t = predictor.throughputRps(batch, smLimit);
  return t > 0 ? (1000 * batch) / t : Infinity;
}

/**
 * Wall time of `workMs` of GPU work at duty q / l when the instance's token bucket is full:
 * the runtime may run GPU work for a fraction `duty` of each `windowMs` window, so a batch
 * runs at full speed while the bucket (duty x window of GPU time) lasts — it drains at
 * 1 - duty while the batch runs — and at `duty` of full speed after that. A lone request
 * after a pause is therefore much faster than the throttled L x l / q.
 */
export function dutyCycledWallMs(workMs: number, duty: number, windowMs: number): number {
  if (!(duty > 0)) return Infinity;
  if (duty >= 1) return workMs;
  const fullSpeedMs = (duty * windowMs) / (1 - duty);
  return fullSpeedMs >= workMs ? workMs : fullSpeedMs + (workMs - fullSpeedMs) / duty;
}

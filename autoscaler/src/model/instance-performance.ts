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

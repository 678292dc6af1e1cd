import type { Predictor } from '../model/index.js';
import { throttledBatchLatencyMs } from '../model/index.js';
import type { PolicyKnobs } from './knobs.js';

/**
 * Batch executions one request spans: 1 for ordinary models; an LLM profile that counts one
 * request per ~32 decode steps has throughput = batch / (32 x latency), so a request keeps
 * its batch slot for ~32 executions. Derived from the predictor's own throughput/latency.
 */
export function stepsPerRequest(predictor: Predictor, batch: number, smPercent: number): number {
  const t = predictor.throughputRps(batch, smPercent);
  const l = predictor.latencyMs(batch, smPercent);
  const rho = (t * l) / (1000 * batch);
  return rho > 0 && rho < 1 ? 1 / rho : 1;
}

/**
 * The request latency the policy promises for an instance (b, l) at quota q:
 * batchWaitFactor x the throttled batch latency x steps per request, plus the fixed
 * overhead. With dynamic batching a request arriving at a busy instance waits for the
 * batch in flight and then runs in the next one, hence the factor (2 by default).
 * `withBand` uses the upper edge of the predictor's uncertainty band.
 */
export function requestLatencyBoundMs(
  predictor: Predictor,
  c: { readonly batch: number; readonly smLimit: number; readonly quota: number },
  knobs: PolicyKnobs,
  withBand: boolean,
): number {
  const throttled = throttledBatchLatencyMs(predictor, c);
  const band = withBand ? bandRatio(predictor, c.batch, c.smLimit) : 1;
  return (
    knobs.batchWaitFactor * throttled * band * stepsPerRequest(predictor, c.batch, c.smLimit) +
    knobs.overheadMs
  );
}

/** Upper band edge over the mid prediction at (b, l). */
export function bandRatio(predictor: Predictor, batch: number, smPercent: number): number {
  const p = predictor.predict(batch, smPercent);
  return p.latencyMs > 0 ? p.latencyHighMs / p.latencyMs : 1;
}

/**
 * The smallest integer quota q <= l at which the banded bound meets the latency budget
 * (sloFraction x SLO), or Infinity when even q = l misses it. The throttled latency is
 * L(b, l) x l / q, so the bound falls as 1/q and the floor is found in closed form.
 */
export function latencyFloorQuota(
  predictor: Predictor,
  batch: number,
  smLimit: number,
  sloMs: number,
  knobs: PolicyKnobs,
): number {
  const budget = knobs.sloFraction * sloMs - knobs.overheadMs;
  if (!(budget > 0)) return Number.POSITIVE_INFINITY;
  const atLimit =
    requestLatencyBoundMs(predictor, { batch, smLimit, quota: smLimit }, knobs, true) -
    knobs.overheadMs;
  if (atLimit > budget) return Number.POSITIVE_INFINITY;
  return Math.max(1, Math.ceil((atLimit * smLimit) / budget - 1e-9));
}

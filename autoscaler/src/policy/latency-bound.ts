import type { Predictor } from '../model/index.js';
import { batchBusyMs, dutyCycledWallMs, throttledBatchLatencyMs } from '../model/index.js';
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

/** The latency budget a request has on the GPU side: sloFraction x SLO - overheadMs. */
export function latencyBudgetMs(sloMs: number, knobs: PolicyKnobs): number {
  return knobs.sloFraction * sloMs - knobs.overheadMs;
}

/**
 * GPU busy time of a batch of n at limit l (`batchBusyMs`: the whole decode for an LLM
 * profile), at the upper edge of the predictor's band when `withBand`.
 */
export function bandedBusyMs(
  predictor: Predictor,
  batch: number,
  smLimit: number,
  withBand: boolean,
): number {
  const busy = batchBusyMs(predictor, batch, smLimit);
  return withBand ? busy * bandRatio(predictor, batch, smLimit) : busy;
}

/**
 * The idle floor of an instance (b, l): the smallest integer quota at which a lone request
 * that finds the duty-cycle bucket full (the instance was idle for a window) still finishes
 * within the latency budget. The runtime lets an instance at quota q run GPU work for q / l
 * of every `dutyCycleWindowMs` window; a lone batch of one runs at full speed while that
 * budget lasts (`dutyCycledWallMs`). This is what an instance costs while it waits for
 * requests — its SM request r — and it is far below the quota a loaded instance needs
 * (`loadedQuota`), because a loaded instance drains its bucket. Infinity when even q = l
 * misses the budget. Upper band edge, like every SLO check of the policy.
 */
export function idleFloorQuota(
  predictor: Predictor,
  smLimit: number,
  sloMs: number,
  knobs: PolicyKnobs,
): number {
  const budget = latencyBudgetMs(sloMs, knobs);
  if (!(budget > 0)) return Number.POSITIVE_INFINITY;
  const work = bandedBusyMs(predictor, 1, smLimit, true);
  const w = knobs.dutyCycleWindowMs;
  if (dutyCycledWallMs(work, 1, w) > budget) return Number.POSITIVE_INFINITY;
  // Wall time falls as the duty rises: bisect on integer quotas.
  let lo = 0; // misses (or 0)
  let hi = Math.max(1, Math.ceil(smLimit)); // meets
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (dutyCycledWallMs(work, Math.min(1, mid / smLimit), w) <= budget) hi = mid;
    else lo = mid;
  }
  return hi;
}

/**
 * The steady-state wait factor of a request when `instances` instances serve the function:
 * with one shared queue (knob sharedQueue) it waits for the first of them to finish its
 * batch, 1 + (batchWaitFactor - 1) / instances batch times in all; with requests spread
 * evenly, a whole batch (batchWaitFactor).
 */
export function steadyWaitFactor(knobs: PolicyKnobs, instances: number): number {
  if (!knobs.sharedQueue) return knobs.batchWaitFactor;
  return 1 + (knobs.batchWaitFactor - 1) / Math.max(1, instances);
}

/**
 * Requests that gather during one batch cycle of budget / waitFactor: those arriving during
 * it, plus the one that starts it. With dynamic batching they run as one batch when they
 * fit in b, else as several full batches back to back.
 */
export function formingRequests(shareRps: number, budgetMs: number, waitFactor: number): number {
  return Math.max(1, Math.ceil(1 + (shareRps * budgetMs) / (waitFactor * 1000) - 1e-9));
}

/**
 * GPU time to serve `requests` with batches of at most `batch`: one batch, or full ones and
 * the remainder.
 */
export function cycleBusyMs(
  requests: number,
  batch: number,
  smLimit: number,
  busyMs: (n: number, smLimit: number) => number,
): number {
  if (requests <= batch) return busyMs(requests, smLimit);
  const full = Math.floor(requests / batch);
  const rest = requests - full * batch;
  return full * busyMs(batch, smLimit) + (rest > 0 ? busyMs(rest, smLimit) : 0);
}

/**
 * The quota an instance (b, l) needs to serve `shareRps` within the SLO, latency-wise
 * (capacity is the caller's: T x q / l must also carry the share). Under load the
 * duty-cycle bucket is drained, so a batch takes its throttled time busy(n, l) x l / q, and
 * a request may wait for a batch in flight before its own runs: `waitFactor` (default
 * batchWaitFactor) x busy(n, l) x l / q <= budget, with n the requests that gather during
 * one cycle (budget / waitFactor) — one batch when they fit in b, else full batches and the
 * rest (a small batch size queues what a larger one would serve together). A quiet
 * instance mostly finds its bucket full (the idle floor suffices), so the two are blended by
 * the chance that a request finds the bucket drained: another request or batch within a
 * window before it, 1 - exp(-share x (window + busy(1, l))). `margin` (>= 1) stretches the
 * loaded part: what the policy learned from observed latency beyond this model. May exceed
 * l (then l cannot carry the share within the SLO); Infinity when even the idle floor is
 * out of reach.
 */
export function loadedQuota(
  predictor: Predictor,
  c: { readonly batch: number; readonly smLimit: number; readonly shareRps: number },
  sloMs: number,
  knobs: PolicyKnobs,
  opts: {
    readonly margin?: number | undefined;
    /** Batch times a request may take in all (default batchWaitFactor). */
    readonly waitFactor?: number | undefined;
    readonly idleFloor?: number | undefined;
    readonly busyMs?: ((n: number, smLimit: number) => number) | undefined;
  } = {},
): number {
  const shareRps = c.shareRps;
  const idleFloor = opts.idleFloor ?? idleFloorQuota(predictor, c.smLimit, sloMs, knobs);
  if (!Number.isFinite(idleFloor)) return idleFloor;
  if (!(shareRps > 0)) return idleFloor;
  const busyMs = opts.busyMs ?? ((n: number, l: number) => bandedBusyMs(predictor, n, l, true));
  const budget = latencyBudgetMs(sloMs, knobs);
  const wait = opts.waitFactor ?? knobs.batchWaitFactor;
  const n = formingRequests(shareRps, budget, wait);
  const busy = cycleBusyMs(n, c.batch, c.smLimit, busyMs);
  const loaded = (wait * busy * (opts.margin ?? 1) * c.smLimit) / budget;
  const busy1 = n === 1 ? busy : busyMs(1, c.smLimit);
  const drained = 1 - Math.exp((-shareRps * (knobs.dutyCycleWindowMs + busy1)) / 1000);
  return Math.ceil(idleFloor + drained * Math.max(0, loaded - idleFloor) - 1e-9);
}

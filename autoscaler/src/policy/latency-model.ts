import type { Predictor } from '../model/index.js';
import { dutyCycledWallMs } from '../model/index.js';
import type { PolicyKnobs } from './knobs.js';
import { bandedBusyMs, idleFloorQuota, loadedQuota, steadyWaitFactor } from './latency-bound.js';

/**
 * What a fleet of one configuration needs, from one function's latency model: the quota a
 * share needs (latency and throughput), the instances that reach a peak or carry a load,
 * and what they cost. Shared by instance sizing (sizing.ts) and the policy's per-tick
 * queries (sizer.ts), memoized per (corrected predictor, SLO, knobs).
 */

/** An instance configuration as these figures need it. */
export interface FleetConfig {
  readonly batch: number;
  readonly smRequest: number;
  readonly smLimit: number;
}

/** A load and the peak the fleet should reach, rps. */
export interface FleetLoad {
  readonly loadRps: number;
  readonly peakRps: number;
}

/**
 * The latency-side figures of one function's (corrected) model, memoized: what sizing and
 * the policy ask for hundreds of times per configuration.
 */
export interface LatencyModel {
  readonly predictor: Predictor;
  readonly knobs: PolicyKnobs;
  readonly sloMs: number;
  /** idleFloorQuota at limit l. */
  floor(smLimit: number): number;
  /** bandedBusyMs (upper band edge) of a batch of n at limit l. */
  busy(n: number, smLimit: number): number;
  /** T(b, l). */
  throughput(batch: number, smLimit: number): number;
}

/** A memoizing LatencyModel for (predictor, SLO, knobs). */
export function createLatencyModel(
  predictor: Predictor,
  sloMs: number,
  knobs: PolicyKnobs,
): LatencyModel {
  const floors = new Map<number, number>();
  const busy = new Map<number, number>();
  const throughput = new Map<number, number>();
  return {
    predictor,
    knobs,
    sloMs,
    floor(smLimit) {
      let hit = floors.get(smLimit);
      if (hit === undefined) {
        hit = idleFloorQuota(predictor, smLimit, sloMs, knobs);
        floors.set(smLimit, hit);
      }
      return hit;
    },
    busy(n, smLimit) {
      const key = n * 1000 + smLimit;
      let hit = busy.get(key);
      if (hit === undefined) {
        hit = bandedBusyMs(predictor, n, smLimit, true);
        busy.set(key, hit);
      }
      return hit;
    },
    throughput(batch, smLimit) {
      const key = batch * 1000 + smLimit;
      let hit = throughput.get(key);
      if (hit === undefined) {
        hit = predictor.throughputRps(batch, smLimit);
        throughput.set(key, hit);
      }
      return hit;
    },
  };
}

/** loadedQuota through a LatencyModel's memos. */
export function modelQuota(
  m: LatencyModel,
  c: { readonly batch: number; readonly smLimit: number },
  shareRps: number,
  opts: { readonly margin?: number | undefined; readonly waitFactor?: number | undefined } = {},
): number {
  const query = { batch: c.batch, smLimit: c.smLimit, shareRps };
  return loadedQuota(m.predictor, query, m.sloMs, m.knobs, {
    margin: opts.margin,
    waitFactor: opts.waitFactor,
    idleFloor: m.floor(c.smLimit),
    busyMs: (n, l) => m.busy(n, l),
  });
}

/** Largest fleet the sizing considers for a peak. */
const MAX_PEAK_REPLICAS = 256;

/**
 * What one instance absorbs in the first seconds of a burst, before any new instance is
 * ready: a request's own batch must fit the SLO, and waiting is the burst's cost. Planning
 * a fleet for a remembered peak counts the wait (replicasForPeak).
 */
export const PEAK_WAIT_FACTOR = 1;

/**
 * The quota one instance of `c` holds to serve `shareRps` at targetUtilization (throughput,
 * and latency for share / targetUtilization, as the policy's quota rule sets it), between r
 * and l; Infinity when l cannot serve the share.
 */
export function quotaForLoad(
  m: LatencyModel,
  c: FleetConfig,
  shareRps: number,
  instances = 1,
): number {
  const knobs = m.knobs;
  const latency = modelQuota(m, c, shareRps / knobs.targetUtilization, {
    waitFactor: steadyWaitFactor(knobs, instances),
  });
  const t = m.throughput(c.batch, c.smLimit);
  const capacity = Math.ceil((shareRps * c.smLimit) / (t * knobs.targetUtilization) - 1e-9);
  const q = Math.max(c.smRequest, latency, capacity);
  return q > c.smLimit + 1e-9 ? Number.POSITIVE_INFINITY : q;
}

/**
 * Instances of `c` that carry `peakRps` at their limits: the share of each within
 * scaleOutUtilization of T(b, l), and that share served within the SLO at l, counting the
 * wait for a batch in flight as the steady load does (steadyWaitFactor for n instances on
 * a shared queue). Sizing picks the range for the peak and keep-alive holds these
 * instances because the peak recurs; when it does, its requests queue like any others
 * (decision 0335). Infinity when no fleet up to MAX_PEAK_REPLICAS does.
 */
export function replicasForPeak(m: LatencyModel, c: FleetConfig, peakRps: number): number {
  if (!(peakRps > 0)) return 1;
  const t = m.throughput(c.batch, c.smLimit);
  if (!(t > 0)) return Number.POSITIVE_INFINITY;
  let n = Math.max(1, Math.ceil(peakRps / (m.knobs.scaleOutUtilization * t) - 1e-9));
  for (; n <= MAX_PEAK_REPLICAS; n++) {
    const q = modelQuota(m, c, peakRps / n, { waitFactor: steadyWaitFactor(m.knobs, n) });
    if (q <= c.smLimit) return n;
  }
  return Number.POSITIVE_INFINITY;
}

/**
 * Instances of `c` the policy runs for a steady `loadRps`: the fewest whose quotas for
 * their shares stay within l (quotaForLoad, with the wait of that many sharing a queue). Infinity when no fleet up to
 * MAX_PEAK_REPLICAS does.
 */
export function replicasForLoad(m: LatencyModel, c: FleetConfig, loadRps: number): number {
  if (!(loadRps > 0)) return 1;
  const t = m.throughput(c.batch, c.smLimit);
  if (!(t > 0)) return Number.POSITIVE_INFINITY;
  let n = Math.max(1, Math.ceil(loadRps / (m.knobs.targetUtilization * t) - 1e-9));
  for (; n <= MAX_PEAK_REPLICAS; n++) {
    if (Number.isFinite(quotaForLoad(m, c, loadRps / n, n))) return n;
  }
  return Number.POSITIVE_INFINITY;
}

/** The fleet sizing counts for a configuration: enough for the peak and for the load. */
export function fleetFor(m: LatencyModel, c: FleetConfig, load: FleetLoad): number {
  return Math.max(replicasForPeak(m, c, load.peakRps), replicasForLoad(m, c, load.loadRps));
}

/**
 * What serving the load costs with a configuration (SM %): the fleet that reaches the peak
 * and carries the load, at the quotas the load needs.
 */
export function fleetCostAt(m: LatencyModel, c: FleetConfig, load: FleetLoad): number {
  const n = fleetFor(m, c, load);
  if (!Number.isFinite(n)) return Number.POSITIVE_INFINITY;
  return n * quotaForLoad(m, c, load.loadRps / n, n);
}

/** A lone request's latency at quota q after a pause (full bucket), upper band edge, ms. */
export function idleLatencyMs(
  p: Predictor,
  smLimit: number,
  quota: number,
  knobs: PolicyKnobs,
): number {
  const work = bandedBusyMs(p, 1, smLimit, true);
  const duty = Math.min(1, quota / smLimit);
  return dutyCycledWallMs(work, duty, knobs.dutyCycleWindowMs) + knobs.overheadMs;
}

/** Steps of largestShare's bisection: relative precision 2^-12. */
const SHARE_STEPS = 40;

/**
 * The largest share whose needed quota stays within `quota` (the need grows with the
 * share); 0 when even an idle instance needs more. Exponential search, then bisection.
 */
export function largestShare(need: (shareRps: number) => number, quota: number): number {
  if (need(0) > quota) return 0;
  let lo = 0;
  let hi = 1;
  while (need(hi) <= quota) {
    lo = hi;
    hi *= 2;
    if (hi > 1e7) return Number.POSITIVE_INFINITY;
  }
  for (let i = 0; i < SHARE_STEPS && hi - lo > lo * 2 ** -12; i++) {
    const mid = (lo + hi) / 2;
    if (need(mid) <= quota) lo = mid;
    else hi = mid;
  }
  return lo;
}

import type { Predictor } from '../model/index.js';
import { instanceCapacityRps } from '../model/index.js';
import type { InstanceView } from './types.js';

/** What the model says about one instance this tick. */
export interface InstanceFigures {
  readonly view: InstanceView;
  /** Saturated throughput at the current quota, T(b, l) x q / l. */
  readonly capacityAtQuota: number;
  /** Saturated throughput at the limit, T(b, l). */
  readonly capacityAtLimit: number;
  /** The quota this instance can reach now: min(l, q + its share of the GPU's headroom). */
  readonly reachableQuota: number;
  readonly reachableCapacity: number;
  /** Smallest quota meeting the SLO bound (>= r); l when even l misses it. */
  readonly floorQuota: number;
}

/**
 * Per-instance figures from the (corrected) predictor. `floorOf` gives the latency floor
 * of a (batch, limit) (Infinity when the limit misses the SLO; 0 without an SLO).
 * Instances of this function on the same GPU split that GPU's headroom evenly for
 * planning; the quota step spends it exactly.
 */
export function assessInstances(
  instances: readonly InstanceView[],
  predictor: Predictor,
  floorOf: (batch: number, smLimit: number) => number,
): InstanceFigures[] {
  const out: InstanceFigures[] = new Array<InstanceFigures>(instances.length);
  const sharing = instances.length > SMALL ? gpuSharing(instances) : undefined;
  // One mutable config for the model calls: no allocation per call.
  const c = { batch: 1, smLimit: 1, quota: 1 };
  for (let i = 0; i < instances.length; i++) {
    const v = instances[i] as InstanceView;
    c.batch = v.batch;
    c.smLimit = v.smLimit;
    c.quota = v.smLimit;
    const capacityAtLimit = instanceCapacityRps(predictor, c);
    const sameGpu =
      sharing === undefined ? sameGpuCount(instances, i) : (sharing.get(v.gpu ?? '') ?? 1);
    const headroom = v.quotaHeadroom / sameGpu;
    const reachableQuota = Math.max(v.quota, Math.min(v.smLimit, v.quota + headroom));
    const f = floorOf(v.batch, v.smLimit);
    c.quota = v.quota;
    const capacityAtQuota = instanceCapacityRps(predictor, c);
    c.quota = reachableQuota;
    out[i] = {
      view: v,
      capacityAtQuota,
      capacityAtLimit,
      reachableQuota,
      reachableCapacity: instanceCapacityRps(predictor, c),
      floorQuota: Math.min(v.smLimit, Math.max(v.smRequest, f)),
    };
  }
  return out;
}

/** Up to this many instances, GPU sharing is counted by scanning (no allocation). */
const SMALL = 16;

function sameGpuCount(instances: readonly InstanceView[], i: number): number {
  const gpu = instances[i]?.gpu;
  if (gpu === undefined) return 1;
  let n = 0;
  for (const x of instances) if (x.gpu === gpu) n++;
  return n;
}

/** Instances per GPU key. */
function gpuSharing(instances: readonly InstanceView[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const x of instances) {
    if (x.gpu !== undefined) counts.set(x.gpu, (counts.get(x.gpu) ?? 0) + 1);
  }
  return counts;
}

/**
 * Quota (integer %) at which an instance carries `shareRps` at `utilization` of its
 * capacity: the inverse of instanceCapacityRps, which is linear in q.
 */
export function quotaForShare(f: InstanceFigures, shareRps: number, utilization: number): number {
  if (!(f.capacityAtLimit > 0)) return f.view.smLimit;
  const exact = (shareRps * f.view.smLimit) / (f.capacityAtLimit * utilization);
  return Math.max(0, Math.ceil(exact - 1e-9));
}

/**
 * The whole-percent quota nearest to carrying `shareRps` at `target` utilization, but never
 * one that leaves it above `ceiling`. Rounding to the nearest step instead of always up saves
 * half a step on average, which matters on small limits (one step of l = 10 is 10 % of the
 * instance's capacity), and the ceiling keeps the result clear of the scale-up trigger.
 */
export function quotaNear(
  f: InstanceFigures,
  shareRps: number,
  target: number,
  ceiling: number,
): number {
  if (!(f.capacityAtLimit > 0)) return f.view.smLimit;
  const exact = (shareRps * f.view.smLimit) / (f.capacityAtLimit * target);
  return Math.max(Math.round(exact), quotaForShare(f, shareRps, ceiling));
}

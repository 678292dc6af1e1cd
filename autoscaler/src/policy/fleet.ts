import { instanceCapacityRps } from '../model/index.js';
import { PEAK_WAIT_FACTOR } from './latency-model.js';
import type { SizingHandle } from './sizer.js';
import type { InstanceView } from './types.js';

/** What the model says about one instance this tick. */
export interface InstanceFigures {
  readonly view: InstanceView;
  /**
   * What the instance serves at its current quota: its throughput T(b, l) x q / l, or less
   * when a larger share would miss the SLO at that quota (a drained duty-cycle bucket
   * stretches each batch by l / q).
   */
  readonly capacityAtQuota: number;
  /** Saturated throughput at the limit, T(b, l). */
  readonly capacityAtLimit: number;
  /** Throughput alone at the current quota, T(b, l) x q / l. */
  readonly throughputAtQuota: number;
  /** The quota this instance can reach now: min(l, q + its share of the GPU's headroom). */
  readonly reachableQuota: number;
  /**
   * What it absorbs at the reachable quota during a burst: throughput, and the batches that
   * form running within the SLO (a transient may wait for a batch in flight; see
   * PEAK_WAIT_FACTOR). Scale-out and panic plan with it.
   */
  readonly reachableCapacity: number;
  /** What it serves at the reachable quota in a steady state (as capacityAtQuota). Scale-in plans with it. */
  readonly reachableSteadyCapacity: number;
  /** Idle floor: smallest quota at which a lone request meets the SLO (>= r); l when l cannot. */
  readonly floorQuota: number;
}

/** The latency-side context of an assessment. */
export interface AssessOptions {
  /** Latency margin in force (default 1). */
  readonly margin?: number | undefined;
  /** Steady-state wait factor (default batchWaitFactor; see steadyWaitFactor). */
  readonly waitFactor?: number | undefined;
}

/**
 * Per-instance figures from the (corrected) model of `handle`. Instances of this function
 * on the same GPU split that GPU's headroom evenly for planning; the quota step spends it
 * exactly.
 */
export function assessInstances(
  instances: readonly InstanceView[],
  handle: Pick<SizingHandle, 'predictor' | 'floorQuota' | 'latencyShare' | 'shareTable'>,
  opts: AssessOptions = {},
): InstanceFigures[] {
  const predictor = handle.predictor;
  const out: InstanceFigures[] = new Array<InstanceFigures>(instances.length);
  const sharing = instances.length > SMALL ? gpuSharing(instances) : undefined;
  const latency = { margin: opts.margin ?? 1, waitFactor: opts.waitFactor };
  const burst = { margin: opts.margin ?? 1, waitFactor: PEAK_WAIT_FACTOR };
  // One mutable config for the model calls: no allocation per call.
  const c = { batch: 1, smLimit: 1, quota: 1 };
  // The share tables of the last (b, l) seen: a fleet is mostly one configuration.
  let tableKey = -1;
  let steady: Float64Array = EMPTY;
  let transient: Float64Array = EMPTY;
  const share = (table: Float64Array, v: InstanceView, q: number, o: object): number => {
    const hit = table[Math.floor(q)];
    return hit !== undefined && !Number.isNaN(hit)
      ? hit
      : handle.latencyShare(v.batch, v.smLimit, q, o);
  };
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
    const f = handle.floorQuota(v.batch, v.smLimit);
    const key = v.batch * 1000 + v.smLimit;
    if (key !== tableKey) {
      tableKey = key;
      steady = handle.shareTable(v.batch, v.smLimit, latency);
      transient = handle.shareTable(v.batch, v.smLimit, burst);
    }
    c.quota = v.quota;
    const throughputAtQuota = instanceCapacityRps(predictor, c);
    const capacityAtQuota = Math.min(throughputAtQuota, share(steady, v, v.quota, latency));
    c.quota = reachableQuota;
    const reachableThroughput = instanceCapacityRps(predictor, c);
    out[i] = {
      view: v,
      capacityAtQuota,
      capacityAtLimit,
      throughputAtQuota,
      reachableQuota,
      reachableCapacity: Math.min(reachableThroughput, share(transient, v, reachableQuota, burst)),
      reachableSteadyCapacity: Math.min(
        reachableThroughput,
        share(steady, v, reachableQuota, latency),
      ),
      floorQuota: Math.min(v.smLimit, Math.max(v.smRequest, f)),
    };
  }
  return out;
}

const EMPTY = new Float64Array(0);

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
 * throughput: the inverse of instanceCapacityRps, which is linear in q.
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

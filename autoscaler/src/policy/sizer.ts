import type { Predictor } from '../model/index.js';
import { SM_PERCENT_MAX } from '../model/index.js';
import type { PolicyKnobs } from './knobs.js';
import { DEFAULT_KNOBS } from './knobs.js';
import { fleetCostAt, largestShare, modelQuota, replicasForPeak } from './latency-model.js';
import type { InstanceSizing, SizingRequest, SizingSpace } from './sizing.js';
import { buildSpace, choose, describeInstance } from './sizing.js';

/**
 * Everything derived from one function's (predictor, SLO, class, pinned values, knobs,
 * correction factor): the corrected predictor, the sized configurations per load bucket,
 * existing configurations described, latency floors. The policy asks it every tick.
 */
export interface SizingHandle {
  /** The predictor with the (rounded) correction factor applied. */
  readonly predictor: Predictor;
  /** The correction factor applied, rounded to 0.01. */
  readonly latencyFactor: number;
  /**
   * sizeInstance for this function at `loadRps` and `peakRps` (their buckets), or
   * load-blind without a load.
   */
  size(loadRps?: number, peakRps?: number): InstanceSizing;
  /** describeInstance for an existing configuration. */
  describe(config: InstanceConfigKey): InstanceSizing;
  /** idleFloorQuota on the corrected predictor (Infinity when l cannot meet the SLO; 0 without one). */
  readonly floorQuota: (batch: number, smLimit: number) => number;
  /**
   * loadedQuota on the corrected predictor: the quota (b, l) needs, latency-wise, to serve
   * `shareRps` (0 without an SLO).
   */
  loadedQuota(
    batch: number,
    smLimit: number,
    shareRps: number,
    opts?: { readonly margin?: number; readonly waitFactor?: number },
  ): number;
  /**
   * The largest share (rps) an instance (b, l) at `quota` serves within the SLO,
   * latency-wise (Infinity without an SLO); throughput is the caller's.
   */
  latencyShare(
    batch: number,
    smLimit: number,
    quota: number,
    opts?: { readonly margin?: number; readonly waitFactor?: number },
  ): number;
  /**
   * The table behind latencyShare for one (b, l, wait factor, margin): entry q is the share
   * at quota q, NaN until asked for (fill it with latencyShare). For loops over instances.
   */
  shareTable(
    batch: number,
    smLimit: number,
    opts?: { readonly margin?: number; readonly waitFactor?: number },
  ): Float64Array;
  /**
   * The smallest integer quota up to l at which (b, l) serves `shareRps` within the SLO
   * (latencyShare inverted over its table: the same as loadedQuota for shares it can
   * carry), or Infinity when l cannot.
   */
  latencyQuota(
    batch: number,
    smLimit: number,
    shareRps: number,
    opts?: { readonly margin?: number; readonly waitFactor?: number },
  ): number;
  /** replicasForPeak for an existing configuration (the peak rounded up to its load bucket). */
  peakReplicas(config: InstanceConfigKey, peakRps: number): number;
  /** What a fleet of this configuration costs at the load and peak (SM %), as sizing counts it. */
  fleetCost(config: InstanceConfigKey, loadRps: number, peakRps: number): number;
}

export interface InstanceSizer {
  /**
   * sizeInstance, memoized: the configuration space per (predictor, SLO, class, pinned
   * values, correction factor rounded to 0.01, the knobs sizing reads), the choice per
   * load bucket (steps of 2^(1/4), about 19 %), so the answer moves only when the load
   * moves noticeably.
   */
  size(predictor: Predictor, request?: SizingRequest): InstanceSizing;
  /** describeInstance, memoized the same way. */
  describe(
    predictor: Predictor,
    config: InstanceConfigKey,
    request?: SizingRequest,
  ): InstanceSizing;
  /** The memoized handle for one function (request.loadRps is ignored). */
  handle(predictor: Predictor, request?: SizingRequest): SizingHandle;
}

export interface InstanceConfigKey {
  readonly batch: number;
  readonly smRequest: number;
  readonly smLimit: number;
}

/** The knobs whose values change what sizing answers. */
const SIZING_KNOBS = [
  'batchWaitFactor',
  'sloFraction',
  'overheadMs',
  'minVerticalRange',
  'rangeCostTolerance',
  'smStep',
  'sizingTieTolerance',
  'kneeFraction',
  'bestEffortRequestFraction',
  'correctionMaxFactor',
  'scaleOutUtilization',
  'targetUtilization',
  'dutyCycleWindowMs',
  'sharedQueue',
] as const satisfies readonly (keyof PolicyKnobs)[];

/** The correction factor as sizing applies it: >= 1, in steps of 0.01. */
export function roundedFactor(factor: number | undefined): number {
  return Math.max(1, Math.round((factor ?? 1) * 100) / 100);
}

function spaceKey(request: SizingRequest, factor: number, knobsKey: string): string {
  const f = request.fixed ?? {};
  const parts = [
    request.class,
    request.sloMs,
    factor,
    f.batch,
    f.smRequest,
    f.smLimit,
    f.memoryMiB,
    request.memoryMiB,
  ];
  return `${knobsKey}#${parts.map(v => (v === undefined ? '' : String(v))).join('|')}`;
}

/** Load buckets: geometric steps of 2^(1/4); 0 stays 0. */
export function loadBucket(loadRps: number): number {
  if (!(loadRps > 0)) return 0;
  return Math.pow(2, Math.round(4 * Math.log2(loadRps)) / 4);
}

/** A small-integer key of (batch, limit). */
function configKey(batch: number, smLimit: number): number {
  return Math.round(batch) * 128 + Math.round(smLimit);
}

/** Index of a load bucket (steps of 2^(1/4)); -1e4 for no load. */
function bucketIndex(loadRps: number): number {
  return loadRps > 0 ? Math.round(4 * Math.log2(loadRps)) : -1e4;
}

function createHandle(space: SizingSpace, request: SizingRequest): SizingHandle {
  const byLoad = new Map<number, InstanceSizing>();
  const described = new Map<string, InstanceSizing>();
  // latencyShare per (batch, limit) and (wait factor, margin): a table over integer quotas.
  const shareTables = new Map<number, Map<number, Float64Array>>();
  const costs = new Map<string, number>();
  const peaks = new Map<number, Map<number, number>>();
  const shareTable = (
    batch: number,
    smLimit: number,
    opts: { readonly margin?: number; readonly waitFactor?: number } = {},
  ): Float64Array => {
    const margin = Math.round((opts.margin ?? 1) * 100);
    const waitFactor = Math.round((opts.waitFactor ?? knobs.batchWaitFactor) * 100);
    const outer = configKey(batch, smLimit);
    let tables = shareTables.get(outer);
    if (tables === undefined) {
      tables = new Map();
      shareTables.set(outer, tables);
    }
    const inner = waitFactor * 1024 + margin;
    let table = tables.get(inner);
    if (table === undefined) {
      table = new Float64Array(SM_PERCENT_MAX + 1).fill(Number.NaN);
      tables.set(inner, table);
    }
    return table;
  };
  const shareAt = (
    table: Float64Array,
    batch: number,
    smLimit: number,
    quota: number,
    opts: { readonly margin?: number; readonly waitFactor?: number },
  ): number => {
    const q = Math.min(SM_PERCENT_MAX, Math.max(0, Math.floor(quota)));
    let hit = table[q] ?? Number.NaN;
    if (Number.isNaN(hit)) {
      const margin = Math.round((opts.margin ?? 1) * 100) / 100;
      const waitFactor = Math.round((opts.waitFactor ?? knobs.batchWaitFactor) * 100) / 100;
      hit = largestShare(s => quotaAt(batch, smLimit, s, { margin, waitFactor }), q);
      table[q] = hit;
    }
    return hit;
  };
  let efficient: InstanceSizing | undefined;
  const { predictor, knobs } = space;
  const latencyFactor = roundedFactor(request.latencyFactor);
  const model = space.model;
  const quotaAt = (
    batch: number,
    smLimit: number,
    share: number,
    opts: { readonly margin?: number; readonly waitFactor?: number } = {},
  ): number => (model === undefined ? 0 : modelQuota(model, { batch, smLimit }, share, opts));
  return {
    predictor,
    latencyFactor,
    size(loadRps, peakRps) {
      if (loadRps === undefined && peakRps === undefined) {
        efficient ??= choose(space, undefined);
        return efficient;
      }
      const load = loadBucket(loadRps ?? 0);
      const peak = Math.max(load, loadBucket(peakRps ?? 0));
      const key = bucketIndex(load) * 1e5 + bucketIndex(peak);
      let hit = byLoad.get(key);
      if (hit === undefined) {
        hit = choose(space, { loadRps: load, peakRps: peak });
        byLoad.set(key, hit);
      }
      return hit;
    },
    describe(config) {
      const key = `${config.batch}|${config.smRequest}|${config.smLimit}`;
      let hit = described.get(key);
      if (hit === undefined) {
        // The space's predictor is already corrected: describe it at factor 1.
        hit = describeInstance(predictor, config, { ...request, knobs, latencyFactor: 1 });
        described.set(key, hit);
      }
      return hit;
    },
    floorQuota: (_batch, smLimit) => (model === undefined ? 0 : model.floor(smLimit)),
    loadedQuota: quotaAt,
    shareTable,
    latencyQuota(batch, smLimit, shareRps, opts = {}) {
      if (model === undefined) return 0;
      const table = shareTable(batch, smLimit, opts);
      const l = Math.min(SM_PERCENT_MAX, Math.floor(smLimit));
      if (shareAt(table, batch, smLimit, l, opts) < shareRps) return Number.POSITIVE_INFINITY;
      let lo = 0; // cannot (or 0)
      let hi = l; // can
      while (hi - lo > 1) {
        const mid = (lo + hi) >> 1;
        if (shareAt(table, batch, smLimit, mid, opts) >= shareRps) hi = mid;
        else lo = mid;
      }
      return lo === 0 && shareAt(table, batch, smLimit, 0, opts) >= shareRps ? 0 : hi;
    },
    latencyShare(batch, smLimit, quota, opts = {}) {
      if (model === undefined) return Number.POSITIVE_INFINITY;
      return shareAt(shareTable(batch, smLimit, opts), batch, smLimit, quota, opts);
    },
    peakReplicas(config, peakRps) {
      if (model === undefined) {
        const t = predictor.throughputRps(config.batch, config.smLimit);
        return Math.max(1, Math.ceil(peakRps / (knobs.scaleOutUtilization * t) - 1e-9));
      }
      // Rounded up to the peak's bucket: keep-alive never holds fewer than the peak needs.
      if (!(peakRps > 0)) return 1;
      const i = Math.ceil(4 * Math.log2(peakRps) - 1e-9);
      const outer = configKey(config.batch, config.smLimit) * 128 + config.smRequest;
      let byPeak = peaks.get(outer);
      if (byPeak === undefined) {
        byPeak = new Map();
        peaks.set(outer, byPeak);
      }
      let hit = byPeak.get(i);
      if (hit === undefined) {
        hit = replicasForPeak(model, config, Math.pow(2, i / 4));
        byPeak.set(i, hit);
      }
      return hit;
    },
    fleetCost(config, loadRps, peakRps) {
      if (model === undefined) return config.smRequest;
      // Costed at the load buckets sizing uses, memoized like it.
      const load = loadBucket(loadRps);
      const peak = Math.max(load, loadBucket(peakRps));
      const key = `${config.batch}|${config.smRequest}|${config.smLimit}|${bucketIndex(load)}|${bucketIndex(peak)}`;
      let hit = costs.get(key);
      if (hit === undefined) {
        hit = fleetCostAt(model, config, { loadRps: load, peakRps: peak });
        costs.set(key, hit);
      }
      return hit;
    },
  };
}

/**
 * A memoizing sizer shared by the policy, the simulator and the webhook. Entries are held
 * per predictor object (weakly: dropping a predictor frees them); functions with equal
 * SLOs and knob values share them, so 10,000 functions of a few models size a few times.
 */
export function createInstanceSizer(): InstanceSizer {
  const cache = new WeakMap<Predictor, Map<string, SizingHandle>>();
  const knobKeys = new WeakMap<PolicyKnobs, string>();
  const knobsKeyOf = (knobs: PolicyKnobs): string => {
    let key = knobKeys.get(knobs);
    if (key === undefined) {
      key = SIZING_KNOBS.map(k => String(knobs[k])).join(',');
      knobKeys.set(knobs, key);
    }
    return key;
  };
  const handle = (predictor: Predictor, request: SizingRequest = {}): SizingHandle => {
    const knobs = request.knobs ?? DEFAULT_KNOBS;
    const factor = roundedFactor(request.latencyFactor);
    const key = spaceKey(request, factor, knobsKeyOf(knobs));
    let entries = cache.get(predictor);
    if (entries === undefined) {
      entries = new Map();
      cache.set(predictor, entries);
    }
    let hit = entries.get(key);
    if (hit === undefined) {
      const fixedRequest = {
        ...request,
        knobs,
        latencyFactor: factor,
        loadRps: undefined,
        peakRps: undefined,
      };
      hit = createHandle(buildSpace(predictor, fixedRequest), fixedRequest);
      entries.set(key, hit);
    }
    return hit;
  };
  return {
    handle,
    size: (predictor, request = {}) =>
      handle(predictor, request).size(request.loadRps, request.peakRps),
    describe: (predictor, config, request = {}) => handle(predictor, request).describe(config),
  };
}

import type { Predictor } from '../model/index.js';
import { SM_PERCENT_MAX, instanceCapacityRps } from '../model/index.js';
import { predictorWithFactor } from './correction.js';
import type { PolicyKnobs } from './knobs.js';
import { DEFAULT_KNOBS } from './knobs.js';
import { latencyFloorQuota, requestLatencyBoundMs } from './latency-bound.js';
import { PolicyInputError } from './policy-error.js';
import type { FixedInstanceValues, FunctionClass } from './spec.js';

export interface SizingRequest {
  readonly class?: FunctionClass | undefined;
  /** Required for latency-critical functions. */
  readonly sloMs?: number | undefined;
  /** Values pinned by explicit annotations; the search honours them. */
  readonly fixed?: FixedInstanceValues | undefined;
  /** Memory when neither `fixed` nor the profile says. */
  readonly memoryMiB?: number | undefined;
  /** Online correction factor of the profile's latencies (>= 1). */
  readonly latencyFactor?: number | undefined;
  /**
   * The function's load (rps) the instances are for; absent: size for SM % per rps alone.
   * The memoized sizer rounds it to a load bucket.
   */
  readonly loadRps?: number | undefined;
  readonly knobs?: PolicyKnobs | undefined;
}

/** The configuration (b, r, l, m) of a new instance and what the model expects of it. */
export interface InstanceSizing {
  readonly batch: number;
  readonly smRequest: number;
  readonly smLimit: number;
  readonly memoryMiB: number | undefined;
  /** Saturated throughput at quota = limit, T(b, l). */
  readonly capacityRps: number;
  /** Saturated throughput at quota = request, T(b, l) x r / l. */
  readonly requestCapacityRps: number;
  /** Batch latency at the limit, L(b, l), as the (corrected) model predicts it. */
  readonly batchLatencyMs: number;
  /** The promised request latency at quota r, upper band edge: what the SLO was checked on. */
  readonly latencyBoundMs: number;
  /** SM % per rps: l / T(b, l), the same at any quota of a duty-cycled instance. */
  readonly smPerRps: number;
  /** False when no measured configuration meets the SLO; the lowest-latency one is returned. */
  readonly feasible: boolean;
  readonly reason: string;
}

interface Candidate {
  readonly batch: number;
  readonly smRequest: number;
  readonly smLimit: number;
  readonly capacityRps: number;
  readonly smPerRps: number;
}

/**
 * Every configuration of a function that meets its SLO, plus the lowest-latency fallback:
 * the expensive part of sizing (a few hundred predictor calls), independent of the load.
 */
interface SizingSpace {
  readonly predictor: Predictor;
  readonly knobs: PolicyKnobs;
  readonly sloMs: number | undefined;
  readonly fixed: FixedInstanceValues;
  readonly memoryMiB: number | undefined;
  readonly candidates: readonly Candidate[];
  /** Set for best-effort functions (one answer whatever the load). */
  readonly bestEffort?: InstanceSizing | undefined;
}

/**
 * Chooses the instance configuration (b, r, l, m) of a function. Pure; createInstanceSizer
 * is the memoized form the policy and the webhook use.
 *
 * Latency-critical. For every measured batch b and every limit l (integer SM %, from the
 * lowest measured SM to 100) the request r is the latency floor: the smallest quota at
 * which batchWaitFactor x L_high(b, l) x l / r (the duty-cycled batch latency at quota r
 * at the band's upper edge, times the wait for a batch to form) stays within
 * sloFraction x SLO. At any quota q a duty-cycled instance serves T(b, l) x q / l, so:
 * - without a load: the cost is SM % per rps, l / T(b, l), the same at every q;
 * - with the function's load L: the cost is what serving L takes, the larger of the
 *   floors n x r (n = the instances needed at scaleOutUtilization) and L x l / (T x target
 *   utilization). A large batch is the most efficient per rps but its floor r grows with b
 *   (r ~ b x l / T): at low load a small batch is far cheaper.
 * Configurations within rangeCostTolerance of the cheapest compete on vertical range l / r
 * (up to minVerticalRange), then on cost, ties within sizingTieTolerance going to the lower
 * SM % per rps, the larger capacity (fewer replicas), then the smaller r. When nothing meets
 * the SLO, the lowest-latency configuration is returned at r = l with feasible = false.
 *
 * Best-effort: the largest measured batch at the throughput knee (smallest SM reaching
 * kneeFraction of full-GPU throughput, Dilu's training search), r a fixed fraction of l.
 */
export function sizeInstance(predictor: Predictor, request: SizingRequest = {}): InstanceSizing {
  return choose(buildSpace(predictor, request), request.loadRps);
}

function buildSpace(predictor: Predictor, request: SizingRequest): SizingSpace {
  const knobs = request.knobs ?? DEFAULT_KNOBS;
  const fixed = request.fixed ?? {};
  const factor = request.latencyFactor ?? 1;
  if (!(factor >= 1) || !Number.isFinite(factor)) {
    throw new PolicyInputError('latencyFactor', `must be a finite number >= 1, got ${factor}`);
  }
  const p = predictorWithFactor(predictor, factor, knobs);
  const base = { predictor: p, knobs, fixed, memoryMiB: request.memoryMiB };
  if ((request.class ?? 'latency-critical') === 'best-effort') {
    const bestEffort = sizeBestEffort(p, fixed, request.memoryMiB, knobs);
    return { ...base, sloMs: undefined, candidates: [], bestEffort };
  }
  const slo = request.sloMs;
  if (slo === undefined || !(slo > 0)) {
    throw new PolicyInputError('sloMs', 'a latency-critical function needs an SLO > 0 ms');
  }
  const batches = fixed.batch === undefined ? p.batches : [fixed.batch];
  const limits = limitCandidates(p, fixed, knobs);
  return {
    ...base,
    sloMs: slo,
    candidates: feasibleCandidates(p, { batches, limits, slo, fixed, knobs }),
  };
}

function choose(space: SizingSpace, loadRps: number | undefined): InstanceSizing {
  if (space.bestEffort !== undefined) return space.bestEffort;
  const { predictor: p, knobs, fixed, sloMs } = space;
  const slo = sloMs ?? 0;
  const chosen = pick(space.candidates, loadRps, knobs);
  if (chosen === undefined) {
    const batches = fixed.batch === undefined ? p.batches : [fixed.batch];
    const fallback = fastest(p, batches, limitCandidates(p, fixed, knobs), fixed, knobs);
    const why = `no configuration meets ${slo} ms; using the lowest-latency one`;
    return finish(space, fallback, false, why);
  }
  const range = chosen.smLimit / chosen.smRequest;
  const load = loadRps === undefined ? '' : ` at ${loadRps.toPrecision(3)} rps`;
  const why =
    range >= knobs.minVerticalRange - 1e-9 || fixed.smRequest !== undefined
      ? `cheapest configuration meeting ${slo} ms${load}, vertical range ${range.toFixed(2)}`
      : `cheapest configuration meeting ${slo} ms${load}; vertical range ${range.toFixed(2)} < ${
          knobs.minVerticalRange
        } (more would cost over ${Math.round(knobs.rangeCostTolerance * 100)} %)`;
  return finish(space, chosen, true, why);
}

function limitCandidates(p: Predictor, fixed: FixedInstanceValues, knobs: PolicyKnobs): number[] {
  if (fixed.smLimit !== undefined) return [fixed.smLimit];
  const lowest = Math.max(fixed.smRequest ?? 1, Math.ceil(p.smPercents[0] ?? 1));
  const out: number[] = [];
  for (let l = lowest; l < SM_PERCENT_MAX; l += knobs.smStep) out.push(l);
  out.push(SM_PERCENT_MAX);
  return out;
}

function feasibleCandidates(
  p: Predictor,
  grid: {
    readonly batches: readonly number[];
    readonly limits: readonly number[];
    readonly slo: number;
    readonly fixed: FixedInstanceValues;
    readonly knobs: PolicyKnobs;
  },
): Candidate[] {
  const { batches, limits, slo, fixed, knobs } = grid;
  const out: Candidate[] = [];
  for (const batch of batches) {
    for (const smLimit of limits) {
      const floor = latencyFloorQuota(p, batch, smLimit, slo, knobs);
      if (!Number.isFinite(floor)) continue;
      const smRequest = fixed.smRequest ?? floor;
      if (smRequest < floor || smRequest > smLimit) continue;
      const capacityRps = instanceCapacityRps(p, { batch, smLimit, quota: smLimit });
      out.push({ batch, smRequest, smLimit, capacityRps, smPerRps: smLimit / capacityRps });
    }
  }
  return out;
}

/** What serving `loadRps` with this configuration costs (SM %), or SM % per rps without a load. */
function costOf(c: Candidate, loadRps: number | undefined, knobs: PolicyKnobs): number {
  if (loadRps === undefined) return c.smPerRps;
  const needed = loadRps / (knobs.scaleOutUtilization * c.capacityRps);
  const replicas = Math.max(1, Math.ceil(needed - 1e-9));
  return Math.max(replicas * c.smRequest, (loadRps * c.smPerRps) / knobs.targetUtilization);
}

function pick(
  candidates: readonly Candidate[],
  loadRps: number | undefined,
  knobs: PolicyKnobs,
): Candidate | undefined {
  const cost = candidates.map(c => costOf(c, loadRps, knobs));
  let cheapest = Number.POSITIVE_INFINITY;
  for (const v of cost) cheapest = Math.min(cheapest, v);
  // 1. Vertical range is worth at most rangeCostTolerance of extra cost.
  const rangeOf = (c: Candidate): number =>
    Math.min(c.smLimit / c.smRequest, knobs.minVerticalRange);
  const eligible = (i: number): boolean =>
    (cost[i] ?? Infinity) <= cheapest * (1 + knobs.rangeCostTolerance);
  let bestRange = 0;
  candidates.forEach((c, i) => {
    if (eligible(i)) bestRange = Math.max(bestRange, rangeOf(c));
  });
  // 2. The cheapest of those with the most range; ties are judged against the cheapest of
  //    the group, not pairwise, so a chain of near-ties cannot creep up to a costlier one.
  const inGroup = (i: number, c: Candidate): boolean =>
    eligible(i) && rangeOf(c) >= bestRange - 1e-9;
  let groupCheapest = Number.POSITIVE_INFINITY;
  candidates.forEach((c, i) => {
    if (inGroup(i, c)) groupCheapest = Math.min(groupCheapest, cost[i] ?? Infinity);
  });
  const bound = groupCheapest * (1 + knobs.sizingTieTolerance);
  let best: Candidate | undefined;
  candidates.forEach((c, i) => {
    if (!inGroup(i, c) || (cost[i] ?? Infinity) > bound) return;
    if (best === undefined || preferred(c, best, loadRps !== undefined)) best = c;
  });
  return best;
}

/**
 * Among near-equal costs. Without a load: more capacity (fewer replicas), then a smaller r.
 * With a load: the lower SM % per rps first (it stays cheap if the load grows), then the same.
 */
function preferred(a: Candidate, b: Candidate, loadAware: boolean): boolean {
  if (loadAware && a.smPerRps !== b.smPerRps) return a.smPerRps < b.smPerRps;
  if (a.capacityRps !== b.capacityRps) return a.capacityRps > b.capacityRps;
  return a.smRequest < b.smRequest;
}

/** The configuration with the lowest promised latency, at full duty (r = l unless pinned). */
function fastest(
  p: Predictor,
  batches: readonly number[],
  limits: readonly number[],
  fixed: FixedInstanceValues,
  knobs: PolicyKnobs,
): Candidate {
  let best: Candidate | undefined;
  let bestMs = Number.POSITIVE_INFINITY;
  for (const batch of batches) {
    for (const smLimit of limits) {
      const ms = requestLatencyBoundMs(p, { batch, smLimit, quota: smLimit }, knobs, true);
      if (ms < bestMs) {
        bestMs = ms;
        const capacityRps = instanceCapacityRps(p, { batch, smLimit, quota: smLimit });
        const smRequest = Math.min(smLimit, fixed.smRequest ?? smLimit);
        best = { batch, smRequest, smLimit, capacityRps, smPerRps: smLimit / capacityRps };
      }
    }
  }
  if (best === undefined) throw new PolicyInputError('profile', 'has no batch size to size with');
  return best;
}

function sizeBestEffort(
  p: Predictor,
  fixed: FixedInstanceValues,
  memoryMiB: number | undefined,
  knobs: PolicyKnobs,
): InstanceSizing {
  const batch = fixed.batch ?? p.batches[p.batches.length - 1] ?? 1;
  let smLimit = fixed.smLimit;
  if (smLimit === undefined) {
    const full = p.throughputRps(batch, SM_PERCENT_MAX);
    const limits = limitCandidates(p, fixed, knobs);
    smLimit =
      limits.find(l => p.throughputRps(batch, l) >= knobs.kneeFraction * full) ?? SM_PERCENT_MAX;
  }
  const smRequest =
    fixed.smRequest ?? Math.max(1, Math.round(smLimit * knobs.bestEffortRequestFraction));
  const capacityRps = instanceCapacityRps(p, { batch, smLimit, quota: smLimit });
  const c = { batch, smRequest, smLimit, capacityRps, smPerRps: smLimit / capacityRps };
  const space = { predictor: p, knobs, sloMs: undefined, fixed, memoryMiB, candidates: [] };
  return finish(space, c, true, `throughput knee (best effort)`);
}

function finish(
  space: SizingSpace,
  c: Candidate,
  feasible: boolean,
  reason: string,
): InstanceSizing {
  const { predictor: p, knobs, fixed } = space;
  const atRequest = { batch: c.batch, smLimit: c.smLimit, quota: c.smRequest };
  return Object.freeze({
    batch: c.batch,
    smRequest: c.smRequest,
    smLimit: c.smLimit,
    memoryMiB: fixed.memoryMiB ?? p.memoryMiB(c.batch) ?? space.memoryMiB,
    capacityRps: c.capacityRps,
    requestCapacityRps: instanceCapacityRps(p, atRequest),
    batchLatencyMs: p.latencyMs(c.batch, c.smLimit),
    latencyBoundMs: requestLatencyBoundMs(p, atRequest, knobs, true),
    smPerRps: c.smPerRps,
    feasible,
    reason: `${reason} (b=${c.batch}, r=${c.smRequest}, l=${c.smLimit})`,
  });
}

/**
 * The sizing record of an existing configuration (b, r, l): what new instances of the
 * fleet's own configuration get. The request is raised to the current latency floor when
 * the correction factor has grown since the fleet was sized.
 */
export function describeInstance(
  predictor: Predictor,
  config: { readonly batch: number; readonly smRequest: number; readonly smLimit: number },
  request: SizingRequest = {},
): InstanceSizing {
  const knobs = request.knobs ?? DEFAULT_KNOBS;
  const p = predictorWithFactor(predictor, request.latencyFactor ?? 1, knobs);
  const fixed = request.fixed ?? {};
  const { batch, smLimit } = config;
  let smRequest = config.smRequest;
  let feasible = true;
  const slo =
    (request.class ?? 'latency-critical') === 'latency-critical' ? request.sloMs : undefined;
  if (slo !== undefined) {
    const floor = latencyFloorQuota(p, batch, smLimit, slo, knobs);
    feasible = Number.isFinite(floor);
    smRequest = Math.min(smLimit, Math.max(smRequest, feasible ? floor : smLimit));
  }
  const capacityRps = instanceCapacityRps(p, { batch, smLimit, quota: smLimit });
  const c = { batch, smRequest, smLimit, capacityRps, smPerRps: smLimit / capacityRps };
  const space = {
    predictor: p,
    knobs,
    sloMs: slo,
    fixed,
    memoryMiB: request.memoryMiB,
    candidates: [],
  };
  return finish(
    space,
    c,
    feasible,
    feasible ? "the fleet's configuration" : `the fleet's configuration misses ${String(slo)} ms`,
  );
}

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
  /** sizeInstance for this function at `loadRps` (its bucket), or load-blind. */
  size(loadRps?: number): InstanceSizing;
  /** describeInstance for an existing configuration. */
  describe(config: InstanceConfigKey): InstanceSizing;
  /** latencyFloorQuota on the corrected predictor (Infinity when l cannot meet the SLO). */
  readonly floorQuota: (batch: number, smLimit: number) => number;
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

function createHandle(space: SizingSpace, request: SizingRequest): SizingHandle {
  const byLoad = new Map<number, InstanceSizing>();
  const described = new Map<string, InstanceSizing>();
  const floors = new Map<number, number>();
  let efficient: InstanceSizing | undefined;
  const { predictor, knobs } = space;
  const latencyFactor = roundedFactor(request.latencyFactor);
  const slo = space.bestEffort === undefined ? space.sloMs : undefined;
  return {
    predictor,
    latencyFactor,
    size(loadRps) {
      if (loadRps === undefined) {
        efficient ??= choose(space, undefined);
        return efficient;
      }
      const bucket = loadBucket(loadRps);
      let hit = byLoad.get(bucket);
      if (hit === undefined) {
        hit = choose(space, bucket);
        byLoad.set(bucket, hit);
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
    floorQuota: (batch, smLimit) => {
      if (slo === undefined) return 0;
      const key = batch * 1000 + smLimit;
      let hit = floors.get(key);
      if (hit === undefined) {
        hit = latencyFloorQuota(predictor, batch, smLimit, slo, knobs);
        floors.set(key, hit);
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
      const fixedRequest = { ...request, knobs, latencyFactor: factor, loadRps: undefined };
      hit = createHandle(buildSpace(predictor, fixedRequest), fixedRequest);
      entries.set(key, hit);
    }
    return hit;
  };
  return {
    handle,
    size: (predictor, request = {}) => handle(predictor, request).size(request.loadRps),
    describe: (predictor, config, request = {}) => handle(predictor, request).describe(config),
  };
}

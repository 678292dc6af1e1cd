import type { Predictor } from '../model/index.js';
import { SM_PERCENT_MAX, instanceCapacityRps } from '../model/index.js';
import { predictorWithFactor } from './correction.js';
import type { PolicyKnobs } from './knobs.js';
import { DEFAULT_KNOBS } from './knobs.js';
import {
  bandedBusyMs,
  idleFloorQuota,
  latencyBudgetMs,
  requestLatencyBoundMs,
} from './latency-bound.js';
import type { FleetLoad, LatencyModel } from './latency-model.js';
import {
  createLatencyModel,
  fleetCostAt,
  fleetFor,
  idleLatencyMs,
  quotaForLoad,
} from './latency-model.js';
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
  /**
   * The load peak (rps) the fleet should reach without a cold start: enough instances of
   * the configuration to carry it at their limits. Default: loadRps. Rounded like loadRps.
   */
  readonly peakRps?: number | undefined;
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
  /**
   * The latency a lone request gets at quota r after a pause (full duty-cycle bucket), upper
   * band edge: what the SLO was checked on for the request r.
   */
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
/** Internal to sizing.ts and sizer.ts: the configurations of one function and its model. */
export interface SizingSpace {
  readonly predictor: Predictor;
  readonly knobs: PolicyKnobs;
  readonly sloMs: number | undefined;
  readonly fixed: FixedInstanceValues;
  readonly memoryMiB: number | undefined;
  readonly candidates: readonly Candidate[];
  /** Set for latency-critical functions. */
  readonly model?: LatencyModel | undefined;
  /** Set for best-effort functions (one answer whatever the load). */
  readonly bestEffort?: InstanceSizing | undefined;
}

/**
 * Chooses the instance configuration (b, r, l, m) of a function. Pure; createInstanceSizer
 * is the memoized form the policy and the webhook use.
 *
 * Latency-critical. Candidates: every measured batch b and every limit l (integer SM %, from
 * the lowest measured SM to 100). The request r is the idle floor (`idleFloorQuota`): the
 * smallest quota at which a lone request, finding the duty-cycle bucket full after a pause,
 * meets the SLO. That is what an instance costs while it waits; under load it needs more
 * (`loadedQuota`: a drained bucket stretches each batch by l / q), which the policy grants
 * vertically, between r and l.
 * - Without a load: the cost is SM % per rps, l / T(b, l).
 * - With the function's load L and peak P (default L): n instances, the fewest that carry
 *   P at their limits (P / n <= scaleOutUtilization x T(b, l), and the quota P / n needs for
 *   the SLO <= l), so that the peak is reached vertically, without a cold start; the cost
 *   is what they hold at L: n x the quota L / n needs (latency, and capacity at
 *   targetUtilization), never below r. A wide l reaches a high peak with few instances but
 *   needs more quota per request under load (its throttled batches are l / q longer); many
 *   small instances each cost their floor — the cheapest balance wins.
 * Configurations within rangeCostTolerance of the cheapest compete on vertical range l / r
 * (up to minVerticalRange), then on cost, ties within sizingTieTolerance going to the lower
 * SM % per rps, the larger capacity (fewer replicas), then the smaller r. When nothing meets
 * the SLO, the lowest-latency configuration is returned at r = l with feasible = false.
 *
 * Best-effort: the largest measured batch at the throughput knee (smallest SM reaching
 * kneeFraction of full-GPU throughput, Dilu's training search), r a fixed fraction of l.
 */
export function sizeInstance(predictor: Predictor, request: SizingRequest = {}): InstanceSizing {
  return choose(buildSpace(predictor, request), loadOf(request));
}

type SizingLoad = FleetLoad;

function loadOf(request: SizingRequest): SizingLoad | undefined {
  if (request.loadRps === undefined && request.peakRps === undefined) return undefined;
  const loadRps = Math.max(0, request.loadRps ?? 0);
  return { loadRps, peakRps: Math.max(loadRps, request.peakRps ?? 0) };
}

/** Internal to sizing.ts and sizer.ts. */
export function buildSpace(predictor: Predictor, request: SizingRequest): SizingSpace {
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
  const model = createLatencyModel(p, slo, knobs);
  return {
    ...base,
    sloMs: slo,
    model,
    candidates: feasibleCandidates(model, { batches, limits, fixed }),
  };
}

/** Internal to sizing.ts and sizer.ts. */
export function choose(space: SizingSpace, load: SizingLoad | undefined): InstanceSizing {
  if (space.bestEffort !== undefined) return space.bestEffort;
  const { predictor: p, knobs, fixed, sloMs } = space;
  const slo = sloMs ?? 0;
  const chosen = pick(space, load);
  if (chosen === undefined) {
    const batches = fixed.batch === undefined ? p.batches : [fixed.batch];
    const fallback = fastest(p, batches, limitCandidates(p, fixed, knobs), fixed, knobs);
    const why = `no configuration meets ${slo} ms; using the lowest-latency one`;
    return finish(space, fallback, false, why);
  }
  const range = chosen.smLimit / chosen.smRequest;
  const sized = load === undefined ? chosen : withSteadyRequest(space, chosen, load);
  const at =
    load === undefined
      ? ''
      : ` at ${load.loadRps.toPrecision(3)} rps (peak ${load.peakRps.toPrecision(3)})`;
  const why =
    range >= knobs.minVerticalRange - 1e-9 || fixed.smRequest !== undefined
      ? `cheapest configuration meeting ${slo} ms${at}, vertical range ${range.toFixed(2)}`
      : `cheapest configuration meeting ${slo} ms${at}; vertical range ${range.toFixed(2)} < ${
          knobs.minVerticalRange
        } (more would cost over ${Math.round(knobs.rangeCostTolerance * 100)} %)`;
  return finish(space, sized, true, why);
}

/**
 * The request r of a configuration sized for a load: what each of the instances that reach
 * the peak holds at the load (`quotaForLoad`), never below the idle floor. Placement packs
 * requests (Σ r <= 100 per GPU) and the node agent guarantees them, so a request below the
 * steady need would let placement crowd a GPU with instances that then compete for its
 * quota; the range above r (up to l, overcommitted within Σ l <= 150) is for bursts, and
 * quotas come down to r when the load does. A pinned request is kept.
 */
function withSteadyRequest(space: SizingSpace, c: Candidate, load: SizingLoad): Candidate {
  const m = space.model;
  if (space.fixed.smRequest !== undefined || m === undefined) return c;
  const n = fleetFor(m, c, load);
  if (!Number.isFinite(n)) return c;
  const steady = quotaForLoad(m, c, load.loadRps / n, n);
  const smRequest = Math.min(c.smLimit, Math.max(c.smRequest, steady));
  return smRequest === c.smRequest ? c : { ...c, smRequest };
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
  m: LatencyModel,
  grid: {
    readonly batches: readonly number[];
    readonly limits: readonly number[];
    readonly fixed: FixedInstanceValues;
  },
): Candidate[] {
  const { batches, limits, fixed } = grid;
  const budget = latencyBudgetMs(m.sloMs, m.knobs);
  const out: Candidate[] = [];
  for (const smLimit of limits) {
    // The idle floor is the lone request's: the same for every batch size.
    const floor = m.floor(smLimit);
    if (!Number.isFinite(floor)) continue;
    for (const batch of batches) {
      // A full batch must run within the SLO at the limit (the sizing never hands out a
      // batch size the instance could not serve within it); whether the batches that form
      // under a load wait too long is the loaded quota's concern.
      if (m.busy(batch, smLimit) > budget) continue;
      const smRequest = Math.min(smLimit, fixed.smRequest ?? floor);
      if (smRequest < floor && fixed.smRequest === undefined) continue;
      const capacityRps = m.throughput(batch, smLimit);
      out.push({ batch, smRequest, smLimit, capacityRps, smPerRps: smLimit / capacityRps });
    }
  }
  return out;
}

/** fleetCostAt, or SM % per rps without a load. */
function costOf(c: Candidate, load: SizingLoad | undefined, space: SizingSpace): number {
  if (load === undefined || space.model === undefined) return c.smPerRps;
  return fleetCostAt(space.model, c, load);
}

function pick(space: SizingSpace, load: SizingLoad | undefined): Candidate | undefined {
  const { candidates, knobs } = space;
  const cost = candidates.map(c => costOf(c, load, space));
  let cheapest = Number.POSITIVE_INFINITY;
  for (const v of cost) cheapest = Math.min(cheapest, v);
  if (!Number.isFinite(cheapest)) return undefined;
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
    if (best === undefined || preferred(c, best, load !== undefined)) best = c;
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
    latencyBoundMs: idleLatencyMs(p, c.smLimit, c.smRequest, knobs),
    smPerRps: c.smPerRps,
    feasible,
    reason: `${reason} (b=${c.batch}, r=${c.smRequest}, l=${c.smLimit})`,
  });
}

/**
 * The sizing record of an existing configuration (b, r, l): what new instances of the
 * fleet's own configuration get. The request is raised to the current idle floor when the
 * correction factor has grown since the fleet was sized.
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
    const floor = idleFloorQuota(p, smLimit, slo, knobs);
    feasible =
      Number.isFinite(floor) &&
      bandedBusyMs(p, batch, smLimit, true) <= latencyBudgetMs(slo, knobs);
    smRequest = Math.min(smLimit, Math.max(smRequest, Number.isFinite(floor) ? floor : smLimit));
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

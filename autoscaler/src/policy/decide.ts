import type { Predictor } from '../model/index.js';
import { restoreCorrection } from './correction.js';
import type { InstanceFigures } from './fleet.js';
import { assessInstances } from './fleet.js';
import { planReplicas, removalOrder } from './horizontal.js';
import type { PolicyKnobs } from './knobs.js';
import { requestLatencyBoundMs } from './latency-bound.js';
import { foldSamples, forecastLoad, predictedLoad } from './load-estimator.js';
import type { InstanceSizer, SizingHandle } from './sizing.js';
import { createInstanceSizer, roundedFactor } from './sizing.js';
import { decideResize, newestInstance } from './resize.js';
import type { FunctionSpec } from './spec.js';
import { scaleBounds } from './spec.js';
import type { DraftState } from './state.js';
import { createPolicyState, draftOf } from './state.js';
import type { TickContext } from './tick-context.js';
import { addReason, rps } from './tick-context.js';
import type { Decision, DecisionInput, QuotaChange, Reason } from './types.js';
import { validateDecisionInput } from './validate-input.js';
import { planQuotas } from './vertical.js';

export interface CoScalingPolicy {
  /**
   * One decision for one function. Pure: the result depends only on the input (the sizer
   * cache only memoizes a pure function); `input.state` is not modified.
   */
  decide(input: DecisionInput): Decision;
}

export interface CoScalingPolicyDeps {
  /** Shared with the webhook or simulator so each (predictor, SLO) is sized once. */
  readonly sizer?: InstanceSizer | undefined;
}

/** The 2-D co-scaling policy: vertical (SM quota) first, then horizontal (replicas). */
export function createCoScalingPolicy(deps: CoScalingPolicyDeps = {}): CoScalingPolicy {
  const sizer = deps.sizer ?? createInstanceSizer();
  // Memo of each spec's sizing handle (a pure function of spec, predictor and factor),
  // keyed weakly by the spec object the caller keeps between ticks.
  const handles = new WeakMap<FunctionSpec, { base: Predictor; handle: SizingHandle }>();
  const handleFor: HandleFor = (spec, predictor, factor) => {
    const hit = handles.get(spec);
    const rounded = roundedFactor(factor);
    if (hit?.base === predictor && hit.handle.latencyFactor === rounded) return hit.handle;
    const handle = sizer.handle(predictor, {
      class: spec.class,
      sloMs: spec.sloMs,
      fixed: spec.fixed,
      memoryMiB: spec.memoryMiB,
      latencyFactor: rounded,
      knobs: spec.knobs,
    });
    handles.set(spec, { base: predictor, handle });
    return handle;
  };
  return { decide: input => decide(input, handleFor) };
}

type HandleFor = (spec: FunctionSpec, predictor: Predictor, factor: number) => SizingHandle;

function decide(input: DecisionInput, handleFor: HandleFor): Decision {
  validateDecisionInput(input);
  const { spec, instances, load, nowS } = input;
  const knobs = spec.knobs;
  const prev = input.state ?? createPolicyState();
  const state = draftOf(prev);
  const reasons: Reason[] = [];
  const samples = load.samples;
  const hasData = samples !== undefined && samples.length > 0;
  if (hasData) foldSamples(state.load, samples, knobs);
  state.lastTickS = nowS;

  const predictedRps = predictedLoad(state.load, knobs);
  let handle = handleFor(spec, input.predictor, prev.correctionFactor);
  let figures = assessInstances(instances, handle.predictor, handle.floorQuota);
  const alarm = hasData ? introspect(input, state, figures, predictedRps, reasons) : false;
  if (roundedFactor(state.correctionFactor) !== handle.latencyFactor) {
    handle = handleFor(spec, input.predictor, state.correctionFactor);
    figures = assessInstances(instances, handle.predictor, handle.floorQuota);
  }
  const coldStartS =
    (input.predictor.profile.modelLoadSeconds ?? knobs.defaultModelLoadS) + knobs.podStartS;
  const forecastRps = forecastLoad(state.load, knobs, coldStartS);
  // New instances keep the fleet's configuration (its newest instance's); an empty fleet
  // gets the one sizing chooses for the forecast.
  const bestSizing = handle.size(forecastRps);
  const newest = newestInstance(instances);
  const sizing = newest === undefined ? bestSizing : handle.describe(newest);
  if (!sizing.feasible) reasons.push({ code: 'slo-infeasible', message: sizing.reason });
  let readyCount = 0;
  for (const x of instances) if (x.ready) readyCount++;
  if (readyCount >= spec.initialScale) state.initialized = true;

  const ctx: TickContext = {
    spec,
    knobs,
    nowS,
    figures,
    readyCount,
    sizing,
    bestSizing,
    predictedRps,
    forecastRps,
    shortRps: Math.max(state.load.short, state.load.lastSample),
    waiting: load.waiting ?? 0,
    coldStartS,
    panic: state.panicSinceS !== null,
    latencyAlarm: alarm,
    scaleBounds: scaleBounds(spec),
    state,
    reasons,
  };
  if (!hasData) return hold(ctx);

  trackZeroLoad(ctx, samples);
  ctx.panic = updatePanic(ctx, prev);
  if (decideResize(ctx)) ctx.sizing = bestSizing;
  const plan = planReplicas(ctx);
  const quotaChanges = planQuotas(ctx, plan.remove);
  return finish(ctx, quotaChanges, plan.desired, plan.add, plan.remove);
}

/**
 * Missing metrics: hold every quota and the replica count. Only the configured bounds
 * (min/max/initial scale) still apply, because they are the user's spec, not a load
 * decision. Timers restart: a gap is no evidence that the load stayed low.
 */
function hold(ctx: TickContext): Decision {
  const { state, spec } = ctx;
  state.quotaDownSinceS = null;
  state.quotaDownPeakRps = 0;
  state.replicaDownSinceS = null;
  state.replicaDownPeakRps = 0;
  state.resizeSinceS = null;
  state.zeroSinceS = null;
  const n = ctx.figures.length;
  let desired = n;
  if (!state.initialized) desired = Math.max(desired, spec.initialScale);
  const { lo, hi } = ctx.scaleBounds;
  desired = Math.min(hi, Math.max(lo, desired));
  addReason(
    ctx,
    'metrics-missing',
    `no load samples this tick: holding ${n} instance(s) and quotas`,
  );
  if (desired !== n) {
    addReason(ctx, 'scale-bounds', `${n} -> ${desired} to honour min/max/initial scale`);
  }
  const remove = desired < n ? removalOrder(ctx.figures, ctx.sizing).slice(0, n - desired) : [];
  return finish(ctx, [], desired, Math.max(0, desired - n), remove);
}

/** Scale-to-zero grace: since when every sample (and the activator queue) was zero. */
function trackZeroLoad(ctx: TickContext, samples: readonly number[]): void {
  if (ctx.waiting > 0 || samples.some(v => v > 0)) {
    ctx.state.zeroSinceS = null;
    return;
  }
  ctx.state.zeroSinceS ??= ctx.nowS - samples.length + 1;
}

/**
 * Knative panic mode: enter when the short-window load reaches panicThreshold x the
 * capacity the ready instances can reach at targetUtilization (so a jump that vertical
 * scaling absorbs is not a panic); leave after panicExitS below it. A fresh state with
 * more than one ready instance starts in panic, as KPA does after a restart, so a
 * restarted autoscaler never scales down on its first, uninformed ticks.
 */
function updatePanic(ctx: TickContext, prev: Decision['state']): boolean {
  const { state, knobs: k, nowS } = ctx;
  let reachable = 0;
  for (const f of ctx.figures) if (f.view.ready) reachable += f.reachableCapacity;
  const reference = k.targetUtilization * Math.max(reachable, ctx.sizing.capacityRps);
  const over = ctx.shortRps >= k.panicThreshold * reference;
  const fresh = prev.lastTickS === null;
  if (state.panicSinceS === null) {
    if (over || (fresh && ctx.readyCount > 1)) {
      state.panicSinceS = nowS;
      state.calmSinceS = over ? null : nowS;
      state.panicReplicas = ctx.figures.length;
      addReason(
        ctx,
        'panic-enter',
        over
          ? `short-window load ${rps(ctx.shortRps)} rps >= ${k.panicThreshold}x target capacity ${rps(reference)} rps`
          : 'fresh state with several ready instances: no scale-down until the load is known',
      );
      return true;
    }
    return false;
  }
  if (over) {
    state.calmSinceS = null;
    return true;
  }
  state.calmSinceS ??= nowS;
  if (nowS - state.calmSinceS >= k.panicExitS) {
    state.panicSinceS = null;
    state.calmSinceS = null;
    state.panicReplicas = 0;
    addReason(ctx, 'panic-exit', `load below the panic threshold for ${k.panicExitS} s`);
    return false;
  }
  return true;
}

/**
 * Introspection from observed p95 latency (latency-critical functions with ready
 * instances, load within capacity so that queueing from overload is not mistaken for a
 * slow profile). The promised bound is batchWaitFactor x the throttled batch latency at
 * each instance's quota, from the uncorrected profile:
 * - observed above the bound x current factor: the profile is optimistic; the correction
 *   (model/online-correction, an EWMA of observed / predicted) moves the factor up;
 * - observed at most correctionRelaxFraction x SLO: the factor relaxes toward
 *   max(1, observed / bound), so a transient slowdown does not inflate quotas forever;
 * - observed at or above latencyAlarmFraction x SLO: alarm, quotas go up one step now.
 */
function introspect(
  input: DecisionInput,
  state: DraftState,
  figures: readonly InstanceFigures[],
  predictedRps: number,
  reasons: Reason[],
): boolean {
  const observed = input.load.p95LatencyMs;
  const slo = input.spec.sloMs;
  if (observed === undefined || slo === undefined || input.spec.class !== 'latency-critical') {
    return false;
  }
  const knobs = input.spec.knobs;
  let capacity = 0;
  let bound = 0;
  let ready = 0;
  for (const f of figures) {
    if (!f.view.ready) continue;
    capacity += f.capacityAtQuota;
    bound += requestLatencyBoundMs(input.predictor, f.view, knobs, false);
    ready++;
  }
  if (ready === 0 || predictedRps > capacity) return false;
  bound /= ready;
  const factor = state.correctionFactor;
  if (observed > bound * factor) {
    feed(state, knobs, bound, observed);
  } else if (factor > 1 && observed <= knobs.correctionRelaxFraction * slo) {
    feed(state, knobs, bound, Math.max(bound, observed));
  }
  if (state.correctionFactor !== factor) {
    reasons.push({
      code: 'profile-correction',
      message: `profile correction ${factor.toFixed(2)} -> ${state.correctionFactor.toFixed(2)}: observed p95 ${observed.toFixed(
        0,
      )} ms vs model bound ${bound.toFixed(0)} ms`,
    });
  }
  const alarm = observed >= knobs.latencyAlarmFraction * slo;
  if (alarm) {
    reasons.push({
      code: 'latency-alarm',
      message: `observed p95 ${observed.toFixed(0)} ms >= ${Math.round(
        knobs.latencyAlarmFraction * 100,
      )} % of the ${slo} ms SLO at ${rps(predictedRps)} rps (capacity ${rps(capacity)} rps)`,
    });
  }
  return alarm;
}

function feed(state: DraftState, knobs: PolicyKnobs, predicted: number, observed: number): void {
  const c = restoreCorrection(state.correctionFactor, state.correctionObservations, knobs);
  c.observe(predicted, observed);
  state.correctionFactor = c.factor;
  state.correctionObservations++;
}

const NO_IDS: readonly string[] = Object.freeze([]);

function finish(
  ctx: TickContext,
  quotaChanges: QuotaChange[],
  desired: number,
  add: number,
  remove: readonly InstanceFigures[],
): Decision {
  let reachable = 0;
  let capacity = 0;
  for (const f of ctx.figures) {
    reachable += f.reachableCapacity;
    if (f.view.ready) capacity += f.capacityAtQuota;
  }
  return {
    quotaChanges,
    desiredReplicas: desired,
    add,
    remove: remove.length === 0 ? NO_IDS : remove.map(f => f.view.id),
    newInstance: ctx.sizing,
    state: ctx.state,
    reasons: ctx.reasons,
    figures: {
      predictedRps: ctx.predictedRps,
      forecastRps: ctx.forecastRps,
      capacityRps: capacity,
      reachableRps: reachable,
      coldStartS: ctx.coldStartS,
      panic: ctx.panic,
      correctionFactor: ctx.state.correctionFactor,
      readyReplicas: ctx.readyCount,
      startingReplicas: ctx.figures.length - ctx.readyCount,
    },
  };
}

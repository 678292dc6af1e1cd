import type { Predictor } from '../model/index.js';
import { batchBusyMs } from '../model/index.js';
import { restoreCorrection } from './correction.js';
import type { InstanceFigures } from './fleet.js';
import { assessInstances } from './fleet.js';
import { steadyWaitFactor } from './latency-bound.js';
import { planReplicas, removalOrder } from './horizontal.js';
import type { PolicyKnobs } from './knobs.js';
import { foldSamples, forecastLoad, predictedLoad, sustainedLoad } from './load-estimator.js';
import type { InstanceSizing } from './sizing.js';
import type { InstanceSizer, SizingHandle } from './sizer.js';
import { PEAK_WAIT_FACTOR } from './latency-model.js';
import { createInstanceSizer, roundedFactor } from './sizer.js';
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
  const { spec, load, nowS } = input;
  const knobs = spec.knobs;
  const prev = input.state ?? createPolicyState();
  const state = draftOf(prev);
  const reasons: Reason[] = [];
  const samples = load.samples;
  const hasData = samples !== undefined && samples.length > 0;
  if (hasData) {
    foldSamples(state.load, samples, knobs);
    trackPeak(state, samples, spec);
    correctFromExecution(input, state, reasons);
  }
  state.lastTickS = nowS;

  const ctx = tickContext(input, handleFor, state, reasons, hasData);
  if (!hasData) return hold(ctx);

  trackZeroLoad(ctx, samples);
  ctx.panic = updatePanic(ctx, prev);
  if (decideResize(ctx)) {
    ctx.sizing = ctx.bestSizing;
    ctx.newCapacityRps = newCapacityOf(ctx.handle, ctx.bestSizing, ctx.margin);
  }
  const plan = planReplicas(ctx);
  const quotaChanges = planQuotas(ctx, plan.remove);
  return finish(ctx, quotaChanges, plan.desired, plan.add, plan.remove);
}

/** The figures one decision works with, from the updated state. */
function tickContext(
  input: DecisionInput,
  handleFor: HandleFor,
  state: DraftState,
  reasons: Reason[],
  hasData: boolean,
): TickContext {
  const { spec, instances, load, nowS } = input;
  const knobs = spec.knobs;
  const predictedRps = predictedLoad(state.load, knobs);
  const handle = handleFor(spec, input.predictor, state.correctionFactor);
  let readyCount = 0;
  for (const x of instances) if (x.ready) readyCount++;
  const margin = state.latencyMargin ?? 1;
  const assess = { margin, waitFactor: steadyWaitFactor(knobs, readyCount) };
  const figures = assessInstances(instances, handle, assess);
  const alarm = hasData ? latencyAlarm(input, state, figures, predictedRps, reasons) : false;
  const coldStartS =
    (input.predictor.profile.modelLoadSeconds ?? knobs.defaultModelLoadS) + knobs.podStartS;
  // Instances follow the sustained load (no single-sample spike), one cold start ahead.
  const sustained = sustainedLoad(state.load, knobs);
  const forecastRps = forecastLoad(state.load, knobs, coldStartS, sustained);
  const peakRps = state.peakRps ?? 0;
  // New instances keep the fleet's configuration (its newest instance's); an empty fleet
  // gets the one sizing chooses for the load and burstHeadroom x the remembered peak. A
  // function that has never had a request is sized load-blind, as the webhook sizes it
  // (decision 0336): the zero-load configuration has no room for a first load.
  const reach = Math.max(knobs.burstHeadroom * peakRps, forecastRps);
  const bestSizing = peakRps > 0 ? handle.size(predictedRps, reach) : handle.size();
  const newest = newestInstance(instances);
  const sizing = newest === undefined ? bestSizing : handle.describe(newest);
  if (!sizing.feasible) reasons.push({ code: 'slo-infeasible', message: sizing.reason });
  if (readyCount >= spec.initialScale) state.initialized = true;
  return {
    spec,
    knobs,
    nowS,
    figures,
    handle,
    margin,
    peakRps,
    readyCount,
    sizing,
    bestSizing,
    newCapacityRps: newCapacityOf(handle, sizing, margin),
    predictedRps,
    forecastRps,
    shortRps: state.load.short,
    waiting: load.waiting ?? 0,
    coldStartS,
    panic: state.panicSinceS !== null,
    latencyAlarm: alarm,
    scaleBounds: scaleBounds(spec),
    state,
    reasons,
  };
}

/** What a new instance of `s` absorbs at its limit in a burst (as reachableCapacity). */
function newCapacityOf(handle: SizingHandle, s: InstanceSizing, margin: number): number {
  const latency = handle.latencyShare(s.batch, s.smLimit, s.smLimit, {
    margin,
    waitFactor: PEAK_WAIT_FACTOR,
  });
  return Math.min(s.capacityRps, latency);
}

/**
 * The remembered peak: the load smoothed over the SLO (an EMA over max(1, SLO) seconds: a
 * request may wait that long, so a burst shorter than the SLO is served over it) at its
 * highest, decaying by half every burstHalfLifeS.
 */
function trackPeak(state: DraftState, samples: readonly number[], spec: FunctionSpec): void {
  const k = spec.knobs;
  const windowS = Math.max(1, (spec.sloMs ?? 1000) / 1000);
  const alpha = Math.min(1, 2 / (windowS + 1));
  const decay = Math.pow(2, -1 / k.burstHalfLifeS);
  let mean = state.sloMeanRps ?? 0;
  let peak = state.peakRps ?? 0;
  for (const z of samples) {
    mean += alpha * (z - mean);
    peak = Math.max(mean, peak * decay);
  }
  state.sloMeanRps = mean;
  state.peakRps = peak;
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
 * Introspection: the GPU busy time the runtimes measured for the batches they ran (never
 * the request latency, which includes queueing and quota waits) against what the profile
 * predicts for batches of those sizes at those limits. Their ratio moves the correction
 * factor (model/online-correction, an EWMA of observed / predicted, never below 1): a
 * slower GPU, interference or a stale profile stretch every batch, and the corrected model
 * then asks for more quota and sizes new instances larger. Needs correctionMinBatches
 * batches in the tick (latency-critical and best-effort functions alike).
 */
function correctFromExecution(input: DecisionInput, state: DraftState, reasons: Reason[]): void {
  const execution = input.load.execution;
  if (execution === undefined || execution.length === 0) return;
  const knobs = input.spec.knobs;
  const p = input.predictor;
  let batches = 0;
  let observedMs = 0;
  let predictedMs = 0;
  for (const e of execution) {
    if (e.batches <= 0) continue;
    const n = e.requests / e.batches;
    const perBatch = batchBusyMs(p, n, e.smLimit);
    if (!Number.isFinite(perBatch)) continue;
    batches += e.batches;
    observedMs += e.busySeconds * 1000;
    predictedMs += perBatch * e.batches;
  }
  if (batches < knobs.correctionMinBatches || !(predictedMs > 0) || !(observedMs > 0)) return;
  const factor = state.correctionFactor;
  feed(state, knobs, predictedMs, observedMs);
  if (roundedFactor(state.correctionFactor) !== roundedFactor(factor)) {
    reasons.push({
      code: 'profile-correction',
      message: `profile correction ${factor.toFixed(2)} -> ${state.correctionFactor.toFixed(
        2,
      )}: ${batches} batches took ${observedMs.toFixed(0)} ms of GPU time, the profile predicts ${predictedMs.toFixed(
        0,
      )} ms`,
    });
  }
}

/**
 * The latency alarm (latency-critical functions with ready instances): observed p95 at or
 * above latencyAlarmFraction x SLO while the load is within what the instances serve (so
 * that an overload, which the load rules handle, is not mistaken for it). It is a capacity
 * action, never a model correction — request latency includes queueing: quotas go up one
 * latencyQuotaStep now and quota-down waits; an alarm that lasts raises the latency margin
 * (the quota a share needs beyond the model's, up to latencyMarginMax) by the same step,
 * and adds an instance once no quota can rise (horizontal.ts). The margin relaxes (EWMA
 * with correctionAlpha) while p95 stays at or below correctionRelaxFraction x SLO.
 */
function latencyAlarm(
  input: DecisionInput,
  state: DraftState,
  figures: readonly InstanceFigures[],
  predictedRps: number,
  reasons: Reason[],
): boolean {
  const observed = input.load.p95LatencyMs;
  const slo = input.spec.sloMs;
  const knobs = input.spec.knobs;
  if (observed === undefined || slo === undefined || input.spec.class !== 'latency-critical') {
    state.alarmSinceS = null;
    return false;
  }
  relaxMargin(state, knobs, observed <= knobs.correctionRelaxFraction * slo);
  // Overload is judged on throughput alone: a load within it that still misses the SLO is
  // a latency problem, which the alarm is for.
  const capacity = readyThroughput(figures);
  const alarm =
    capacity > 0 && predictedRps <= capacity && observed >= knobs.latencyAlarmFraction * slo;
  if (!alarm) {
    state.alarmSinceS = null;
    return false;
  }
  const since = state.alarmSinceS ?? null;
  state.alarmSinceS = since ?? input.nowS;
  if (since !== null && since < input.nowS) {
    const margin = (state.latencyMargin ?? 1) * (1 + knobs.latencyQuotaStep);
    state.latencyMargin = Math.min(knobs.latencyMarginMax, margin);
  }
  const pct = Math.round(knobs.latencyAlarmFraction * 100);
  reasons.push({
    code: 'latency-alarm',
    message:
      `observed p95 ${observed.toFixed(0)} ms >= ${pct} % of the ${slo} ms SLO at ` +
      `${rps(predictedRps)} rps (capacity ${rps(capacity)} rps); latency margin ` +
      (state.latencyMargin ?? 1).toFixed(2),
  });
  return true;
}

/** Σ throughput at the current quota of the ready instances. */
function readyThroughput(figures: readonly InstanceFigures[]): number {
  let capacity = 0;
  for (const f of figures) if (f.view.ready) capacity += f.throughputAtQuota;
  return capacity;
}

/** The latency margin's EWMA back toward 1 while observed latency is well under the SLO. */
function relaxMargin(state: DraftState, knobs: PolicyKnobs, calm: boolean): void {
  const margin = state.latencyMargin ?? 1;
  if (calm && margin > 1) {
    state.latencyMargin = Math.max(1, margin + knobs.correctionAlpha * (1 - margin));
  }
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
      peakRps: ctx.peakRps,
      latencyMargin: ctx.margin,
    },
  };
}

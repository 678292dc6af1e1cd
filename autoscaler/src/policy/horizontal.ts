import type { InstanceFigures } from './fleet.js';
import type { InstanceSizing } from './sizing.js';
import type { FleetConfig } from './latency-model.js';
import { PEAK_WAIT_FACTOR } from './latency-model.js';
import type { TickContext } from './tick-context.js';
import { addReason, rps } from './tick-context.js';

export interface ReplicaPlan {
  readonly desired: number;
  readonly add: number;
  /** Instances to delete, in removal order. */
  readonly remove: readonly InstanceFigures[];
}

/**
 * The replica count, after the vertical dimension has been counted in: every instance is
 * credited with the capacity at the quota its GPU lets it reach (vertical first), and
 * instances are added only for what that cannot cover.
 *
 * Scale out (at once): with one shared queue (knob sharedQueue: Knative's activator and
 * queue-proxy at containerConcurrency = batch) a request goes to whichever instance frees
 * up first, so n instances carry the sum of what each reaches: they are enough when the
 * forecast <= scaleOutUtilization x that sum, and each new one adds a fresh instance's
 * capacity. With an even split (sharedQueue off) the weakest instance bounds every share:
 * scaleOutUtilization x n x (the smallest reachable capacity among them and a new
 * instance). The forecast looks one cold start ahead, so new instances are ready when the
 * load arrives.
 *
 * Scale in (lazy): once instances would sit at their floor quota r and fewer would carry
 * the load at scaleInUtilization (< scaleOut, for hysteresis) for scaleDownDelayS, remove
 * down to what the highest forecast seen in that window needs (Knative's
 * scale-down-delay: the max over the window). Only ready instances count for what
 * remains, each bounded by the weakest of them even with a shared queue: keeping an
 * instance too many costs its idle floor, removing one too many a cold start. Never in
 * panic.
 *
 * Resize (resize.ts): when a new configuration is adopted, every existing instance is
 * stale: enough new instances to carry the forecast on their own are started, and the
 * stale ones leave, without further delay, as soon as the new ones carry the load.
 *
 * Then the Knative semantics: scale to zero, activation, initial scale, panic, rate
 * limits, min/max scale.
 */
export function planReplicas(ctx: TickContext): ReplicaPlan {
  const { knobs: k, figures } = ctx;
  const n = figures.length;
  // Instances follow the sustained forecast (the short window in panic); at zero instances
  // the newest sample counts too: whatever arrives waits for a cold start anyway.
  const atZero = n === 0 ? ctx.state.load.lastSample : 0;
  const load = Math.max(ctx.forecastRps, ctx.panic ? ctx.shortRps : 0, atZero);
  const fleet = fleetOf(ctx);
  let cached: InstanceFigures[] | undefined;
  const order = (): InstanceFigures[] => (cached ??= removalOrder(figures, ctx.sizing));
  let nOut = outCount(ctx, fleet, load);
  if (nOut > n) nOut = resizeOnScaleOut(ctx, fleet, load, nOut);
  let desired: number;
  if (nOut <= n && alarmNeedsInstance(ctx)) {
    desired = n + 1;
    resetReplicaDown(ctx);
    addReason(
      ctx,
      'scale-out',
      `${n} -> ${desired}: observed latency stays near the SLO and every instance is at the quota it can reach`,
    );
  } else if (nOut > n) {
    desired = nOut;
    resetReplicaDown(ctx);
    addReason(
      ctx,
      'scale-out',
      `${n} -> ${nOut}: forecast ${rps(ctx.forecastRps)} rps ${Math.round(ctx.coldStartS)} s ` +
        `ahead (cold start) needs more than the instances reach at ${pct(k.scaleOutUtilization)}`,
    );
  } else {
    desired = scaleIn(ctx, fleet, order, load);
  }
  desired = applySemantics(ctx, desired, n);
  const remove = desired < n ? order().slice(0, n - desired) : NOTHING;
  return { desired, add: Math.max(0, desired - n), remove };
}

const NOTHING: readonly InstanceFigures[] = Object.freeze([]);

/**
 * A scale-out pays cold starts anyway: when the configuration sizing chooses for the load
 * and the remembered peak (bestSizing) is cheaper than the fleet's and carries the load on
 * its own with no more new instances than the fleet's configuration needs, the new
 * instances get it, and the fleet's become stale (they leave once the new ones carry the
 * load). This is how a fleet started before its load was known — or one that outgrew its
 * configuration during a burst — reaches the right size without a separate resize.
 */
function resizeOnScaleOut(
  ctx: TickContext,
  fleet: CurrentFleet,
  load: number,
  nOut: number,
): number {
  const { bestSizing: best, sizing: current, knobs: k } = ctx;
  if (sameConfiguration(best, current)) return nOut;
  if (!best.feasible && current.feasible) return nOut;
  const per = ctx.handle.latencyShare(best.batch, best.smLimit, best.smLimit, {
    margin: ctx.margin,
    waitFactor: PEAK_WAIT_FACTOR,
  });
  const cap = Math.min(best.capacityRps, per);
  if (!(cap > 0)) return nOut;
  const fresh = Math.max(1, Math.ceil(load / (k.scaleOutUtilization * cap) - 1e-9));
  const added = nOut - ctx.figures.length;
  if (fresh > added) return nOut;
  const peak = Math.max(k.burstHeadroom * ctx.peakRps, load);
  const newCost = ctx.handle.fleetCost(best, ctx.predictedRps, peak);
  const oldCost = ctx.handle.fleetCost(current, ctx.predictedRps, peak);
  if (!(newCost < oldCost * (1 - k.sizingTieTolerance)) && current.feasible) return nOut;
  ctx.sizing = best;
  ctx.newCapacityRps = cap;
  addReason(
    ctx,
    'resize',
    `scale-out with configuration b=${best.batch}, r=${best.smRequest}, l=${best.smLimit} (was b=${
      current.batch
    }, l=${current.smLimit}): ${fresh} new instance(s) carry ${rps(load)} rps instead of ${added}`,
  );
  return fleet.stale + fleet.count + fresh;
}

/**
 * The latency alarm is a capacity action: quotas rise first (vertical.ts); when it has
 * lasted `ALARM_PERSIST_S` and no ready instance can rise any more (each at the quota its
 * limit and GPU allow), one instance is added.
 */
function alarmNeedsInstance(ctx: TickContext): boolean {
  const since = ctx.state.alarmSinceS;
  if (!ctx.latencyAlarm || since === null || since === undefined) return false;
  if (ctx.nowS - since < ALARM_PERSIST_S) return false;
  let ready = 0;
  for (const f of ctx.figures) {
    if (!f.view.ready) continue;
    ready++;
    if (f.view.quota < f.reachableQuota - 1e-9) return false;
  }
  return ready > 0 && ready === ctx.figures.length;
}

/** Seconds a latency alarm must last before it adds an instance. */
const ALARM_PERSIST_S = 2;

/** The instances of the fleet's configuration (what they reach) and the stale ones. */
interface CurrentFleet extends Reach {
  readonly stale: number;
}

function fleetOf(ctx: TickContext): CurrentFleet {
  let count = 0;
  let minReach = Number.POSITIVE_INFINITY;
  let totalReach = 0;
  for (const f of ctx.figures) {
    if (isStale(f, ctx.sizing)) continue;
    count++;
    minReach = Math.min(minReach, f.reachableCapacity);
    totalReach += f.reachableCapacity;
  }
  return { count, stale: ctx.figures.length - count, minReach, totalReach };
}

/**
 * Instances wanted for `load`: enough of the fleet's configuration to carry it at
 * scaleOutUtilization of what each absorbs at the quota it can reach. Stale instances (an
 * older configuration, being replaced) are kept in the count but not relied on: they leave
 * as soon as the others carry the load. Room for bursts comes from the configuration's
 * range (sized to reach the remembered peak) and from keep-alive, not from extra instances.
 */
function outCount(ctx: TickContext, fleet: CurrentFleet, load: number): number {
  const u = ctx.knobs.scaleOutUtilization;
  const forLoad = countFor(load, fleet, ctx.newCapacityRps, u, ctx.knobs.sharedQueue);
  if (fleet.stale === 0) return forLoad;
  // A fleet being replaced: the new configuration gets the instances the remembered peak
  // needs of it (what the resize was costed with, and what keep-alive held of the old
  // one), not only those for the load, or the next burst finds the fleet a fraction of
  // the size it had (decision 0336).
  return fleet.stale + Math.max(forLoad, keepForPeak(ctx));
}

function pct(f: number): string {
  return `${Math.round(f * 100)} %`;
}

/**
 * Whether an instance is of another configuration than the one new instances get: another
 * (batch, limit), or a higher request (it holds SM the new configuration does not need; a
 * lower one only means its quota rises above r, which it may).
 */
export function isStale(f: InstanceFigures, s: InstanceSizing): boolean {
  return f.view.batch !== s.batch || f.view.smLimit !== s.smLimit || f.view.smRequest > s.smRequest;
}

/** Whether `best` is `current` or only differs by asking more (no resize for that). */
export function sameConfiguration(best: FleetConfig, current: FleetConfig): boolean {
  return (
    best.batch === current.batch &&
    best.smLimit === current.smLimit &&
    best.smRequest >= current.smRequest
  );
}

/**
 * Smallest count >= current that carries `demand` at `utilization`, with one shared queue
 * (the instances' capacities add up) or under an even split (the weakest bounds each share).
 * Existing instances count with their reachable capacity, new ones with a fresh instance's.
 */
export function replicasFor(
  demand: number,
  figures: readonly InstanceFigures[],
  newCapacity: number,
  utilization: number,
  sharedQueue = false,
): number {
  let minReach = Number.POSITIVE_INFINITY;
  let totalReach = 0;
  for (const f of figures) {
    minReach = Math.min(minReach, f.reachableCapacity);
    totalReach += f.reachableCapacity;
  }
  const reach = { count: figures.length, minReach, totalReach };
  return countFor(demand, reach, newCapacity, utilization, sharedQueue);
}

/** What a count of instances reaches: the weakest one's capacity and theirs in all. */
interface Reach {
  readonly count: number;
  readonly minReach: number;
  readonly totalReach: number;
}

function countFor(
  demand: number,
  reach: Reach,
  newCapacity: number,
  utilization: number,
  sharedQueue: boolean,
): number {
  const n = reach.count;
  if (!(demand > 0)) return n;
  if (sharedQueue) {
    // Capacities add up; each new instance brings a fresh one's.
    if (demand <= utilization * reach.totalReach || !(newCapacity > 0)) return n;
    return n + Math.ceil((demand / utilization - reach.totalReach) / newCapacity - 1e-9);
  }
  // Even split: the weakest instance, old or new, bounds every share.
  if (n > 0 && demand <= utilization * n * reach.minReach) return n;
  const per = Math.min(reach.minReach, newCapacity);
  if (!(per > 0)) return n;
  return Math.max(n, Math.ceil(demand / (utilization * per) - 1e-9));
}

/**
 * Removal order, total and deterministic: stale starting instances, stale ready ones,
 * current starting ones (newest first: they serve nothing yet), then current ready ones by
 * ascending reachable capacity (the bottleneck of an even split goes first), lower quota,
 * then id.
 */
export function removalOrder(
  figures: readonly InstanceFigures[],
  sizing: InstanceSizing,
): InstanceFigures[] {
  const rank = (f: InstanceFigures): number =>
    (isStale(f, sizing) ? 0 : 2) + (f.view.ready ? 1 : 0);
  return [...figures].sort((a, b) => {
    const ra = rank(a);
    const rb = rank(b);
    if (ra !== rb) return ra - rb;
    if (!a.view.ready) {
      const ta = a.view.createdAtS ?? Number.NEGATIVE_INFINITY;
      const tb = b.view.createdAtS ?? Number.NEGATIVE_INFINITY;
      if (ta !== tb) return tb - ta;
    }
    if (a.reachableCapacity !== b.reachableCapacity) {
      return a.reachableCapacity - b.reachableCapacity;
    }
    if (a.view.quota !== b.view.quota) return a.view.quota - b.view.quota;
    return a.view.id < b.view.id ? -1 : a.view.id > b.view.id ? 1 : 0;
  });
}

/**
 * Fewest instances (>= max(1, floor)) left once the first ones in removal order are gone,
 * such that the ready ones among them carry `demand` at `utilization` under an even split.
 */
export function replicasAfterRemoval(
  demand: number,
  order: readonly InstanceFigures[],
  utilization: number,
  floor: number,
): number {
  const n = order.length;
  // Over order[i..]: the smallest reachable capacity of a ready instance, and their count.
  const minCap = new Float64Array(n + 1);
  const ready = new Int32Array(n + 1);
  minCap[n] = Number.POSITIVE_INFINITY;
  for (let i = n - 1; i >= 0; i--) {
    const f = order[i] as InstanceFigures;
    const isReady = f.view.ready;
    minCap[i] = Math.min(minCap[i + 1] ?? 0, isReady ? f.reachableSteadyCapacity : Infinity);
    ready[i] = (ready[i + 1] ?? 0) + (isReady ? 1 : 0);
  }
  // Not monotone in m: removing a weak (stale) instance can raise the bottleneck, so the
  // smallest count that works is searched for, not the first failure from the top.
  for (let m = Math.max(1, floor); m < n; m++) {
    const from = n - m;
    const count = ready[from] ?? 0;
    if (count > 0 && demand <= utilization * count * (minCap[from] ?? 0)) return m;
  }
  return n;
}

function scaleIn(
  ctx: TickContext,
  fleet: CurrentFleet,
  order: () => readonly InstanceFigures[],
  load: number,
): number {
  const { knobs: k, state, nowS } = ctx;
  const n = ctx.figures.length;
  // Fast path, the steady state: no stale instance and the remembered peak needs them all.
  const keepAll = fleet.stale === 0 && keepForPeak(ctx) >= n;
  const now = ctx.panic || keepAll ? n : inCount(ctx, fleet, order(), load);
  if (now >= n) {
    resetReplicaDown(ctx);
    return n;
  }
  const stale = staleLeading(order(), ctx.sizing, n - now);
  if (stale > 0) {
    // Replaced instances go as soon as the new ones carry the load: the resize that made
    // them stale already waited its delay, and with an even split they hold every
    // instance back to their own capacity.
    addReason(ctx, 'scale-in', `${n} -> ${n - stale}: removing ${stale} replaced instance(s)`);
    return n - stale;
  }
  state.replicaDownSinceS ??= nowS;
  state.replicaDownPeakRps = Math.max(state.replicaDownPeakRps, load);
  if (nowS - state.replicaDownSinceS < k.scaleDownDelayS) return n;
  const m = inCount(ctx, fleet, order(), state.replicaDownPeakRps);
  if (m >= n) return n;
  addReason(
    ctx,
    'scale-in',
    `${n} -> ${m}: forecast stayed at or below ${rps(state.replicaDownPeakRps)} rps for ${
      k.scaleDownDelayS
    } s; ${m} instance(s) carry it at ${pct(k.scaleInUtilization)} of reachable capacity`,
  );
  resetReplicaDown(ctx);
  return m;
}

/** How many of the first `limit` instances in removal order are stale. */
function staleLeading(order: readonly InstanceFigures[], s: InstanceSizing, limit: number): number {
  let i = 0;
  while (i < limit && i < order.length && isStale(order[i] as InstanceFigures, s)) i++;
  return i;
}

/**
 * Instances to keep for `load`: the fewest that carry it at scaleInUtilization, or more as
 * long as the remembered peak needs them (keep-alive): instances of the fleet's
 * configuration that reach the peak at their limits stay until the peak has decayed below
 * what fewer reach, in the spirit of Dilu's keep-alive from idle-interval histograms — a
 * function whose bursts recur keeps the instances they need instead of paying a cold start
 * each time, at the cost of their idle floors.
 */
function inCount(
  ctx: TickContext,
  fleet: CurrentFleet,
  order: readonly InstanceFigures[],
  load: number,
): number {
  const { scaleInUtilization } = ctx.knobs;
  const needed = replicasAfterRemoval(load, order, scaleInUtilization, ctx.scaleBounds.lo);
  return Math.max(needed, Math.min(fleet.count, keepForPeak(ctx)));
}

/**
 * Instances of the fleet's configuration that reach burstHeadroom x the remembered peak at
 * their limits.
 */
export function keepForPeak(ctx: TickContext): number {
  if (!(ctx.peakRps > 0)) return 0;
  const n = ctx.handle.peakReplicas(ctx.sizing, ctx.knobs.burstHeadroom * ctx.peakRps);
  return Number.isFinite(n) ? n : 0;
}

function resetReplicaDown(ctx: TickContext): void {
  ctx.state.replicaDownSinceS = null;
  ctx.state.replicaDownPeakRps = 0;
}

/** Knative semantics on top of the load-driven count, in the order KPA applies them. */
function applySemantics(ctx: TickContext, wanted: number, n: number): number {
  const { knobs: k, spec, state, nowS } = ctx;
  let desired = wanted;
  const zeroAllowed = ctx.scaleBounds.lo === 0;
  const idleFor = state.zeroSinceS === null ? 0 : nowS - state.zeroSinceS;
  if (zeroAllowed && state.zeroSinceS !== null && idleFor >= k.scaleToZeroGraceS && !ctx.panic) {
    if (n > 0) addReason(ctx, 'scale-to-zero', `no requests for ${Math.round(idleFor)} s`);
    desired = 0;
  }
  if (n === 0 && (ctx.waiting > 0 || state.load.lastSample > 0)) {
    const first = Math.max(desired, k.activationScale);
    addReason(ctx, 'activate', `request(s) at zero instances: starting ${first}`);
    desired = first;
  }
  if (!state.initialized && desired < spec.initialScale) {
    addReason(ctx, 'initial-scale', `holding initial scale ${spec.initialScale}`);
    desired = spec.initialScale;
  }
  if (ctx.panic) {
    desired = Math.max(desired, state.panicReplicas);
    state.panicReplicas = Math.max(state.panicReplicas, desired);
  }
  desired = rateLimited(ctx, desired, n);
  const { lo, hi } = ctx.scaleBounds;
  const bounded = Math.min(hi, Math.max(lo, desired));
  if (bounded !== desired) {
    addReason(ctx, 'scale-bounds', `${desired} clamped to ${bounded} (min ${lo}, max ${hi})`);
  }
  return bounded;
}

/** Knative max-scale-up-rate and max-scale-down-rate (scale to zero is not limited). */
function rateLimited(ctx: TickContext, desired: number, n: number): number {
  const k = ctx.knobs;
  let limited = desired;
  if (desired > n) {
    limited = Math.min(desired, Math.ceil(k.maxScaleUpRate * Math.max(1, ctx.readyCount)));
  } else if (desired > 0 && desired < n) {
    limited = Math.max(desired, Math.floor(n / k.maxScaleDownRate));
  }
  if (limited !== desired) {
    const which = desired > n ? 'max-scale-up-rate' : 'max-scale-down-rate';
    addReason(ctx, 'rate-limit', `${which}: ${n} -> ${limited} this tick instead of ${desired}`);
  }
  return limited;
}

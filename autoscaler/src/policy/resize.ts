import { isStale, sameConfiguration } from './horizontal.js';
import type { TickContext } from './tick-context.js';
import { addReason, rps } from './tick-context.js';
import type { InstanceView } from './types.js';

/**
 * The fleet's configuration: that of its newest instance (by createdAtS, then list order),
 * since it reflects the latest sizing decision. New instances keep to it, so the fleet
 * stays uniform: with requests split evenly, a weaker instance among stronger ones would
 * cap what every instance may carry.
 */
export function newestInstance(instances: readonly InstanceView[]): InstanceView | undefined {
  let newest: InstanceView | undefined;
  for (const x of instances) {
    if (newest === undefined) {
      newest = x;
      continue;
    }
    const a = x.createdAtS ?? Number.NEGATIVE_INFINITY;
    const b = newest.createdAtS ?? Number.NEGATIVE_INFINITY;
    if (a >= b) newest = x;
  }
  return newest;
}

/**
 * Resize: the load moved so far that another configuration (bestSizing, chosen for the
 * load and the remembered peak) serves them at least resizeSavings cheaper than the fleet's
 * (both costed as sizing costs them: the instances that reach the peak, at the quotas the
 * load needs), or the fleet's no longer meets the SLO under the corrected model while
 * another does, and this has held for resizeDelayS. Returns true on the tick that adopts
 * it. Never in panic, never while instances are starting (one change at a time): every
 * resize costs cold starts, so it is kept for large, lasting savings.
 */
export function decideResize(ctx: TickContext): boolean {
  const { bestSizing: best, sizing: current, knobs: k, state, nowS } = ctx;
  const same = sameConfiguration(best, current);
  // One change at a time: not while instances start, a resize is replaced, or the fleet
  // is about to shrink (the scale-in timer runs); and not for an idle function that may
  // scale to zero (scale-to-zero governs it).
  const idleToZero = ctx.scaleBounds.lo === 0 && state.zeroSinceS !== null;
  const busy = state.replicaDownSinceS !== null || idleToZero;
  if (same || ctx.panic || busy || !settled(ctx)) {
    state.resizeSinceS = null;
    return false;
  }
  const load = ctx.predictedRps;
  const peak = Math.max(k.burstHeadroom * ctx.peakRps, ctx.forecastRps);
  const fleetCost = ctx.handle.fleetCost(current, load, peak);
  const newCost = ctx.handle.fleetCost(best, load, peak);
  const rescue = !current.feasible && best.feasible;
  if (!rescue && newCost > (1 - k.resizeSavings) * fleetCost) {
    state.resizeSinceS = null;
    return false;
  }
  state.resizeSinceS ??= nowS;
  if (nowS - state.resizeSinceS < k.resizeDelayS) return false;
  state.resizeSinceS = null;
  addReason(
    ctx,
    'resize',
    `new configuration b=${best.batch}, r=${best.smRequest}, l=${best.smLimit} (was b=${
      current.batch
    }, l=${current.smLimit}): ${newCost.toFixed(0)} % SM instead of ${fleetCost.toFixed(
      0,
    )} % at ${rps(load)} rps`,
  );
  return true;
}

/** All instances ready and of the fleet's configuration: no resize is under way. */
function settled(ctx: TickContext): boolean {
  const { figures, sizing } = ctx;
  if (figures.length === 0 || figures.length > ctx.readyCount) return false;
  for (const f of figures) {
    if (isStale(f, sizing)) return false;
  }
  return true;
}

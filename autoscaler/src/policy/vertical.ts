import type { InstanceFigures } from './fleet.js';
import { quotaNear } from './fleet.js';
import { steadyWaitFactor } from './latency-bound.js';
import type { TickContext } from './tick-context.js';
import { addReason, rps } from './tick-context.js';
import type { QuotaChange } from './types.js';

/**
 * Quota changes for the ready instances that stay. Requests are spread over the instances,
 * so each carries predicted / m; what it serves at quota q is the smaller of its throughput
 * T(b, l) x q / l and the share whose requests still meet the SLO at q (a loaded instance
 * drains its duty-cycle bucket, so its batches run l / q longer; see loadedQuota). The quota
 * a share needs is the larger of the two, never below the idle floor.
 *
 * - Up, at once: an instance whose share exceeds scaleUpUtilization of what it serves now
 *   goes to the quota that puts the share at targetUtilization (throughput: the nearest
 *   whole percent that stays under scaleUpUtilization; latency: the quota for share /
 *   targetUtilization); one latencyQuotaStep more when observed latency nears the SLO.
 * - Down, lazily: when the load stayed below quotaDownUtilization of what the instances serve
 *   for quotaDownDelayS (and no latency alarm), quotas go to what the highest load of that
 *   window needs, never below the idle floor or r. Panic does not stop it: lowering a quota
 *   is instant and free to undo, unlike removing an instance.
 * - Raises spend the GPU's headroom; instances of this function on one GPU share it.
 */
export function planQuotas(ctx: TickContext, removed: readonly InstanceFigures[]): QuotaChange[] {
  const serving = servingAfter(ctx.figures, removed);
  const m = serving.length;
  const changes: QuotaChange[] = [];
  if (m === 0) {
    resetQuotaDown(ctx);
    return changes;
  }
  const reserve = (ctx.knobs.burstReserve * ctx.peakRps) / m;
  const share = Math.max(ctx.predictedRps / m, reserve);
  const lowerShare = quotaDownShare(ctx, serving, share);
  const tally = { raised: 0, lowered: 0, floored: 0, starved: 0 };
  let spent: Map<string, number> | undefined;
  for (const f of serving) {
    const v = f.view;
    let target = wantedQuota(ctx, f, share, lowerShare, m);
    if (v.quota < f.floorQuota) tally.floored++;
    if (target > v.quota) {
      const allowed = headroomLeft(v.gpu, v.quotaHeadroom, spent);
      if (target - v.quota > allowed) {
        target = v.quota + Math.floor(allowed);
        tally.starved++;
      }
      if (v.gpu !== undefined) {
        spent ??= new Map();
        spent.set(v.gpu, (spent.get(v.gpu) ?? 0) + (target - v.quota));
      }
    }
    if (target === v.quota) continue;
    changes.push({ id: v.id, from: v.quota, to: target });
    if (target > v.quota) tally.raised++;
    else tally.lowered++;
  }
  if (tally.raised + tally.lowered + tally.floored + tally.starved > 0) {
    explain(ctx, { ...tally, share, lowerShare, m });
  }
  return changes;
}

/**
 * The quota that lets one of m instances carry `share` at targetUtilization: throughput
 * (nearest whole percent, never above scaleUpUtilization) and latency (the quota for
 * share / targetUtilization), never below the idle floor.
 */
export function quotaForShareOf(
  ctx: TickContext,
  f: InstanceFigures,
  share: number,
  m: number,
): number {
  const k = ctx.knobs;
  const v = f.view;
  const throughput = quotaNear(f, share, k.targetUtilization, k.scaleUpUtilization);
  const latency = ctx.handle.latencyQuota(v.batch, v.smLimit, share / k.targetUtilization, {
    margin: ctx.margin,
    waitFactor: steadyWaitFactor(k, m),
  });
  return Math.max(f.floorQuota, throughput, latency);
}

/** The quota one instance should have, before the GPU's headroom is accounted for. */
function wantedQuota(
  ctx: TickContext,
  f: InstanceFigures,
  share: number,
  lowerShare: number | undefined,
  m: number,
): number {
  const k = ctx.knobs;
  const v = f.view;
  let target = Math.max(v.quota, f.floorQuota);
  if (share > k.scaleUpUtilization * f.capacityAtQuota) {
    target = Math.max(target, quotaForShareOf(ctx, f, share, m));
  }
  if (ctx.latencyAlarm) {
    target = Math.max(target, v.quota + Math.max(1, Math.round(k.latencyQuotaStep * v.smLimit)));
  }
  if (lowerShare !== undefined && target === v.quota) {
    target = Math.min(v.quota, quotaForShareOf(ctx, f, lowerShare, m));
  }
  return Math.min(v.smLimit, Math.max(v.smRequest, Math.ceil(target - 1e-9)));
}

/** Ready instances that stay after the removals. */
function servingAfter(
  figures: readonly InstanceFigures[],
  removed: readonly InstanceFigures[],
): readonly InstanceFigures[] {
  let ready = 0;
  for (const f of figures) if (f.view.ready) ready++;
  if (removed.length === 0 && ready === figures.length) return figures;
  return figures.filter(f => f.view.ready && !removed.includes(f));
}

function headroomLeft(
  gpu: string | undefined,
  headroom: number,
  spent: Map<string, number> | undefined,
): number {
  if (gpu === undefined || spent === undefined) return headroom;
  return Math.max(0, headroom - (spent.get(gpu) ?? 0));
}

/**
 * Runs the quota scale-down timer; returns the per-instance share to size quotas down to
 * when the delay has passed, undefined otherwise.
 */
function quotaDownShare(
  ctx: TickContext,
  serving: readonly InstanceFigures[],
  share: number,
): number | undefined {
  const { knobs: k, state, nowS } = ctx;
  let capacity = 0;
  let above = false;
  for (const f of serving) {
    capacity += f.capacityAtQuota;
    if (f.view.quota > f.floorQuota) above = true;
  }
  const low = ctx.predictedRps < k.quotaDownUtilization * capacity;
  if (!low || !above || ctx.latencyAlarm) {
    resetQuotaDown(ctx);
    return undefined;
  }
  state.quotaDownSinceS ??= nowS;
  state.quotaDownPeakRps = Math.max(state.quotaDownPeakRps, ctx.predictedRps);
  if (nowS - state.quotaDownSinceS < k.quotaDownDelayS) return undefined;
  const lowerShare = Math.max(share, state.quotaDownPeakRps / serving.length);
  resetQuotaDown(ctx);
  return lowerShare;
}

function resetQuotaDown(ctx: TickContext): void {
  ctx.state.quotaDownSinceS = null;
  ctx.state.quotaDownPeakRps = 0;
}

function explain(
  ctx: TickContext,
  c: {
    raised: number;
    lowered: number;
    floored: number;
    starved: number;
    share: number;
    lowerShare: number | undefined;
    m: number;
  },
): void {
  const k = ctx.knobs;
  if (c.floored > 0) {
    addReason(ctx, 'latency-floor', `${c.floored} instance(s) below the quota the SLO bound needs`);
  }
  if (c.raised > 0) {
    addReason(
      ctx,
      'quota-up',
      `${c.raised} of ${c.m} instance(s) raised: ${rps(c.share)} rps each, quota set for ${Math.round(
        k.targetUtilization * 100,
      )} % utilization`,
    );
  }
  if (c.lowered > 0 && c.lowerShare !== undefined) {
    addReason(
      ctx,
      'quota-down',
      `${c.lowered} of ${c.m} instance(s) lowered: load under ${Math.round(
        k.quotaDownUtilization * 100,
      )} % of capacity for ${k.quotaDownDelayS} s (peak ${rps(c.lowerShare)} rps each)`,
    );
  }
  if (c.starved > 0) {
    addReason(
      ctx,
      'headroom-exhausted',
      `${c.starved} instance(s) capped by their GPU's free quota`,
    );
  }
}

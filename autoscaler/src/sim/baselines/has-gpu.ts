import { instanceCapacityRps } from '../../model/index.js';
import type { PolicyContext, ScalingPolicy } from '../policy.js';
import type { ScenarioFunction } from '../scenario.js';
import { HasKalman } from './has-kalman.js';
import type { SpatioTemporalShape } from './sizing.js';
import { meetsBudget, mostEfficientShape } from './sizing.js';
import type { RowPod } from './sm-rows.js';
import { ROWS_PER_GPU, SmRows } from './sm-rows.js';

/**
 * HAS-GPU's constants (internal/controller/has_autoscaling.go, persistentReconcile.go;
 * notes/papers.md §2.5).
 */
export const HAS = {
  tickSeconds: 2,
  /** Prometheus rate(gateway_function_invocation_total[10s]). */
  rateWindowSeconds: 10,
  scaleUpThreshold: 0.9,
  scaleDownThreshold: 0.3,
  scaleDownCooldownSeconds: 10,
  quotaStep: 10,
  maxHgoForNewPods: 0.95,
  /** Pods with a larger SM partition are not removed by scale-down (while smaller ones exist). */
  removableMaxSm: 50,
  /** The last pod keeps at least this capacity when its quota is cut. */
  minRps: 0.1,
  /** Fallback partition for a row that has none. */
  defaultSm: 50,
} as const;

/**
 * `has-gpu`: HAS-GPU's hybrid auto-scaling, reimplemented. Every 2 s per function: the
 * observed rate (10 s window) feeds a Kalman predictor (has-kalman.ts); capacity is the sum of
 * the pods' profiled throughput at their (batch, SM partition S, time quota Q). Above 90 % of
 * capacity it scales up by the missing rate, first vertically (pods by S descending, +10 %
 * quota steps within their row's free quota), then horizontally (new pods on used GPUs with
 * HGO < 0.95, least occupied first, in the row and quota giving the most throughput; then on
 * an unused GPU with the most efficient configuration). Below 30 % of capacity, at most every
 * 10 s, it scales down by 0.9 x capacity - prediction: quotas first (pods by S ascending, -10 %
 * steps), then removes pods with S <= 50 whose throughput fits the excess (any pod when the
 * function has no smaller one), never the last pod.
 * Placement is its own (SM rows, no complementary placement). RaPP's role — throughput at any
 * (b, S, Q) — is played by the shared performance model. HAS-GPU calls itself SLO-aware but
 * its code checks no latency when it sizes pods; here every pod it creates, and every quota it
 * cuts to, must meet the SLO budget (sizing.ts) — the stronger reading of the paper.
 */
export function createHasGpu(gpuCount: number): ScalingPolicy {
  const rows = new SmRows(gpuCount);
  const kalman: HasKalman[] = [];
  const shapes: SpatioTemporalShape[] = [];
  const lastDown: number[] = [];

  return {
    name: 'has-gpu',
    tickSeconds: HAS.tickSeconds,
    start(ctx) {
      ctx.functions.forEach((f, fn) => {
        kalman[fn] = new HasKalman();
        const shape = mostEfficientShape(f.predictor, f.sloMs);
        shapes[fn] = shape;
        lastDown[fn] = -Infinity;
        for (let i = 0; i < Math.min(f.maxScale, Math.max(1, f.initialScale)); i++) {
          placeFirst(ctx, rows, fn, shape);
        }
      });
    },
    tick(ctx) {
      ctx.functions.forEach((f, fn) => {
        const k = kalman[fn];
        const shape = shapes[fn];
        if (!k || !shape) return;
        const pods = rows.podsOf(fn);
        const predicted = k.update(observedRate(ctx, fn));
        if (!pods.some(p => (instanceOf(ctx, p)?.readyAt ?? Infinity) <= ctx.now)) return;
        const cap = pods.reduce((s, p) => s + podCapacity(f, p.batch, p.sm, p.timeQuota), 0);
        if (predicted > HAS.scaleUpThreshold * cap) {
          scaleUp(ctx, rows, fn, shape, predicted - HAS.scaleUpThreshold * cap);
        } else if (
          predicted < HAS.scaleDownThreshold * cap &&
          ctx.now - (lastDown[fn] ?? -Infinity) >= HAS.scaleDownCooldownSeconds
        ) {
          if (scaleDown(ctx, rows, fn, HAS.scaleUpThreshold * cap - predicted))
            lastDown[fn] = ctx.now;
        }
      });
    },
  };
}

function observedRate(ctx: PolicyContext, fn: number): number {
  const a = ctx.series(fn).arrivals;
  const w = Math.min(HAS.rateWindowSeconds, ctx.now);
  let sum = 0;
  for (let s = ctx.now - w; s < ctx.now; s++) sum += a[s] ?? 0;
  return w > 0 ? sum / w : 0;
}

function instanceOf(ctx: PolicyContext, p: RowPod): { readyAt: number } | undefined {
  return ctx.instances(p.fn).find(i => i.id === p.id);
}

export function podCapacity(
  f: ScenarioFunction,
  batch: number,
  sm: number,
  timeQuota: number,
): number {
  return instanceCapacityRps(f.predictor, { batch, smLimit: sm, quota: (sm * timeQuota) / 100 });
}

/** Starts a pod on `gpu` in the row for `sm`; the pod takes the row's partition. */
export function spawnPod(
  ctx: PolicyContext,
  rows: SmRows,
  at: { fn: number; gpu: number; sm: number; timeQuota: number; batch: number },
): RowPod | undefined {
  const f = ctx.functions[at.fn];
  if (!f || ctx.instances(at.fn).length >= f.maxScale) return undefined;
  const row = rows.rowFor(at.gpu, at.sm);
  const sm = rows.rowSm(at.gpu, row) ?? at.sm;
  const timeQuota = Math.min(at.timeQuota, rows.rowFree(at.gpu, row));
  if (timeQuota <= 0) return undefined;
  const quota = (sm * timeQuota) / 100;
  const inst = ctx.addInstance(at.fn, {
    batch: at.batch,
    smRequest: quota,
    smLimit: sm,
    quota,
    memoryMiB: f.memoryMiB,
    requestFollowsQuota: true,
    gpu: at.gpu,
  });
  if (!inst) return undefined;
  const pod: RowPod = { id: inst.id, fn: at.fn, gpu: at.gpu, row, sm, timeQuota, batch: at.batch };
  rows.add(pod);
  return pod;
}

/** HAS-GPU's first pod: a GPU with HGO < 0.5 (least occupied), else an unused one. */
function placeFirst(
  ctx: PolicyContext,
  rows: SmRows,
  fn: number,
  shape: SpatioTemporalShape,
): void {
  const spec = { fn, sm: shape.sm, timeQuota: shape.timeQuota, batch: shape.batch };
  for (const gpu of [...rows.usedByHgo(0.5), ...rows.unused()]) {
    if (spawnPod(ctx, rows, { ...spec, gpu })) return;
  }
}

function setTimeQuota(ctx: PolicyContext, rows: SmRows, pod: RowPod, timeQuota: number): boolean {
  if (!ctx.setQuota(pod.id, (pod.sm * timeQuota) / 100)) return false;
  pod.timeQuota = timeQuota;
  return rows.pod(pod.id) !== undefined;
}

function scaleUp(
  ctx: PolicyContext,
  rows: SmRows,
  fn: number,
  shape: SpatioTemporalShape,
  need: number,
): void {
  const f = ctx.functions[fn];
  if (!f) return;
  let deficit = need;
  // 1) vertical: pods with larger partitions first, +10 % quota steps within the row.
  for (const pod of rows.podsOf(fn).sort((a, b) => b.sm - a.sm)) {
    const free = rows.rowFree(pod.gpu, pod.row);
    const now = podCapacity(f, pod.batch, pod.sm, pod.timeQuota);
    let q = pod.timeQuota;
    let gain = 0;
    for (let add = HAS.quotaStep; add <= free && gain < deficit; add += HAS.quotaStep) {
      q = pod.timeQuota + add;
      gain = podCapacity(f, pod.batch, pod.sm, q) - now;
    }
    if (q !== pod.timeQuota && setTimeQuota(ctx, rows, pod, q)) deficit -= gain;
  }
  // 2) horizontal: used GPUs first, then an unused one, until the deficit is covered.
  let before = NaN;
  while (deficit > 0 && deficit !== before) {
    before = deficit;
    deficit = fillUsedGpus(ctx, rows, fn, shape, deficit);
    if (deficit <= 0) return;
    const fresh = rows.unused()[0];
    if (fresh !== undefined) {
      const pod = spawnPod(ctx, rows, {
        fn,
        gpu: fresh,
        sm: shape.sm,
        timeQuota: shape.timeQuota,
        batch: shape.batch,
      });
      if (pod) deficit -= podCapacity(f, pod.batch, pod.sm, pod.timeQuota);
    } else {
      deficit = fallback(ctx, rows, fn, shape, deficit);
    }
  }
}

/** New pods on used GPUs (HGO < 0.95, ascending), each with the row and quota giving the most. */
function fillUsedGpus(
  ctx: PolicyContext,
  rows: SmRows,
  fn: number,
  shape: SpatioTemporalShape,
  deficit: number,
): number {
  const f = ctx.functions[fn];
  if (!f) return deficit;
  let left = deficit;
  for (const gpu of rows.usedByHgo(HAS.maxHgoForNewPods)) {
    let best: { sm: number; q: number; cap: number } | undefined;
    for (let r = 0; r < ROWS_PER_GPU; r++) {
      const sm = rows.rowSm(gpu, r) ?? shape.sm;
      const free = rows.rowFree(gpu, r);
      for (let q = HAS.quotaStep; q <= free; q += HAS.quotaStep) {
        if (!meetsBudget(f.predictor, f.sloMs, { batch: shape.batch, sm, timeQuota: q })) continue;
        const cap = podCapacity(f, shape.batch, sm, q);
        if (cap > (best?.cap ?? 0)) best = { sm, q, cap };
      }
    }
    if (!best) continue;
    const pod = spawnPod(ctx, rows, {
      fn,
      gpu,
      sm: best.sm,
      timeQuota: best.q,
      batch: shape.batch,
    });
    if (!pod) continue;
    left -= podCapacity(f, pod.batch, pod.sm, pod.timeQuota);
    if (left <= 0) break;
  }
  return left;
}

/** No unused GPU: the least occupied GPU with any free row quota, at the minimum quota. */
function fallback(
  ctx: PolicyContext,
  rows: SmRows,
  fn: number,
  shape: SpatioTemporalShape,
  deficit: number,
): number {
  const f = ctx.functions[fn];
  if (!f) return deficit;
  for (const gpu of rows.usedByHgo(Infinity)) {
    for (let r = 0; r < ROWS_PER_GPU; r++) {
      const free = rows.rowFree(gpu, r);
      if (free <= 0) continue;
      const sm = rows.rowSm(gpu, r) ?? HAS.defaultSm;
      const timeQuota = Math.min(HAS.quotaStep, free);
      if (!meetsBudget(f.predictor, f.sloMs, { batch: shape.batch, sm, timeQuota })) continue;
      const pod = spawnPod(ctx, rows, { fn, gpu, sm, timeQuota, batch: shape.batch });
      if (pod) return deficit - podCapacity(f, pod.batch, pod.sm, pod.timeQuota);
    }
  }
  return deficit;
}

function scaleDown(ctx: PolicyContext, rows: SmRows, fn: number, excess: number): boolean {
  const f = ctx.functions[fn];
  if (!f) return false;
  const pods = rows.podsOf(fn).sort((a, b) => a.sm - b.sm);
  let left = excess;
  let acted = false;
  // 1) vertical: smaller partitions first, -10 % quota steps.
  for (const pod of pods) {
    if (left <= 0) break;
    const cut = quotaCut(f, pod, left, pods.length === 1);
    if (cut && setTimeQuota(ctx, rows, pod, cut.timeQuota)) {
      left -= cut.loss;
      acted = true;
    }
  }
  // 2) horizontal: remove small-partition pods whose throughput fits the excess. HAS-GPU
  // keeps pods above 50 % SM ("more efficient"); when a function has only such pods that rule
  // would block scale-in altogether, which is not its intent, so then they may go too.
  let remaining = pods.length;
  const keepLarge = pods.some(p => p.sm <= HAS.removableMaxSm);
  for (const pod of pods) {
    if (left <= 0 || remaining <= Math.max(1, f.minScale)) break;
    if (keepLarge && pod.sm > HAS.removableMaxSm) continue;
    const cap = podCapacity(f, pod.batch, pod.sm, pod.timeQuota);
    if (cap > left) continue;
    left -= cap;
    ctx.removeInstance(pod.id);
    rows.remove(pod.id);
    remaining--;
    acted = true;
  }
  return acted;
}

/** The quota a pod steps down to (-10 % at a time) to shed `excess`, or undefined. */
function quotaCut(
  f: ScenarioFunction,
  pod: RowPod,
  excess: number,
  lastPod: boolean,
): { timeQuota: number; loss: number } | undefined {
  const now = podCapacity(f, pod.batch, pod.sm, pod.timeQuota);
  let out: { timeQuota: number; loss: number } | undefined;
  for (let next = pod.timeQuota - HAS.quotaStep; next > 0; next -= HAS.quotaStep) {
    if ((out?.loss ?? 0) >= excess) break;
    if (!meetsBudget(f.predictor, f.sloMs, { batch: pod.batch, sm: pod.sm, timeQuota: next }))
      break;
    const cap = podCapacity(f, pod.batch, pod.sm, next);
    if (lastPod && cap < HAS.minRps) break;
    out = { timeQuota: next, loss: now - cap };
  }
  return out;
}

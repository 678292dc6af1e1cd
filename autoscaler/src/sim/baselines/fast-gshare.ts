import type { PolicyContext, ScalingPolicy } from '../policy.js';
import { HAS, podCapacity, spawnPod } from './has-gpu.js';
import type { SpatioTemporalShape } from './sizing.js';
import { mostEfficientShape } from './sizing.js';
import { SmRows } from './sm-rows.js';

/** FaST-GShare's default autoscaler (KontonGu/FaST-GShare-Autoscaler; notes/papers.md §2.5). */
export const FAST_GSHARE = {
  tickSeconds: 2,
  rateWindowSeconds: 10,
  /** Scale when load and capacity differ by more than 20 % of capacity. */
  band: 0.2,
} as const;

/**
 * `fast-gshare`: FaST-GShare with its default autoscaler, the spatio-temporal sharing baseline
 * of HAS-GPU. Every pod of a function has one fixed configuration, the most efficient
 * (SM partition S, time quota Q, batch b) per FaST-GShare's profiler (sizing.ts); scaling is
 * horizontal only: every 2 s, with rps the 10 s request rate and cap = pods x pod throughput,
 * it sets pods = ceil(rps / pod throughput) when rps - cap > 0.2 cap or cap - rps > 0.2 cap.
 * Pods are placed like HAS-GPU's (FaST-GShare's SM rows, least-occupied used GPU first, then
 * an unused one).
 */
export function createFastGshare(gpuCount: number): ScalingPolicy {
  const rows = new SmRows(gpuCount);
  const shapes: SpatioTemporalShape[] = [];

  const addPod = (ctx: PolicyContext, fn: number): boolean => {
    const shape = shapes[fn];
    if (!shape) return false;
    const spec = { fn, sm: shape.sm, timeQuota: shape.timeQuota, batch: shape.batch };
    for (const gpu of [...rows.usedByHgo(HAS.maxHgoForNewPods), ...rows.unused()]) {
      // A pod only goes where its row can give it its full fixed quota.
      const row = rows.rowFor(gpu, shape.sm);
      if ((rows.rowSm(gpu, row) ?? shape.sm) !== shape.sm) continue;
      if (rows.rowFree(gpu, row) < shape.timeQuota) continue;
      if (spawnPod(ctx, rows, { ...spec, gpu })) return true;
    }
    return false;
  };

  return {
    name: 'fast-gshare',
    tickSeconds: FAST_GSHARE.tickSeconds,
    start(ctx) {
      ctx.functions.forEach((f, fn) => {
        shapes[fn] = mostEfficientShape(f.predictor, f.sloMs);
        for (let i = 0; i < Math.min(f.maxScale, Math.max(1, f.initialScale)); i++) addPod(ctx, fn);
      });
    },
    tick(ctx) {
      ctx.functions.forEach((f, fn) => {
        const shape = shapes[fn];
        if (!shape) return;
        const rps = rate(ctx, fn);
        const pods = rows.podsOf(fn);
        const podCap = podCapacity(f, shape.batch, shape.sm, shape.timeQuota);
        const cap = pods.length * podCap;
        if (Math.abs(rps - cap) <= FAST_GSHARE.band * cap) return;
        const want = Math.min(f.maxScale, Math.max(1, f.minScale, Math.ceil(rps / podCap)));
        for (let n = pods.length; n < want; n++) if (!addPod(ctx, fn)) break;
        // Newest pods go first.
        const extra = pods.sort((a, b) => b.id - a.id).slice(0, Math.max(0, pods.length - want));
        for (const p of extra) {
          ctx.removeInstance(p.id);
          rows.remove(p.id);
        }
      });
    },
  };
}

function rate(ctx: PolicyContext, fn: number): number {
  const a = ctx.series(fn).arrivals;
  const w = Math.min(FAST_GSHARE.rateWindowSeconds, ctx.now);
  let sum = 0;
  for (let s = ctx.now - w; s < ctx.now; s++) sum += a[s] ?? 0;
  return w > 0 ? sum / w : 0;
}

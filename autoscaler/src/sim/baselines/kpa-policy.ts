import type { InstanceView, NewInstance, PolicyContext, ScalingPolicy } from '../policy.js';
import type { KpaSpec } from '../scenario-schema.js';
import { KpaDecider } from './kpa-decider.js';

/** The fixed shape of every instance of a function under a KPA baseline. */
export interface KpaInstanceShape extends NewInstance {
  /** Per-pod total of the KPA metric: requests per second, or concurrency, of one pod. */
  readonly perPodTotal: number;
}

/**
 * A Knative revision autoscaled by the KPA (kpa-decider.ts), with the reconciler's part:
 * min/max scale, and scale-to-zero only when the desired count has been 0 for the
 * scale-to-zero grace period (30 s) after the revision was active a full stable window. Pods
 * added are cold starts; removed pods are the not-ready ones first, then the newest, as the
 * ReplicaSet controller picks them.
 */
export function createKpaPolicy(
  name: string,
  kpa: KpaSpec,
  shapeOf: (fn: number, ctx: PolicyContext) => KpaInstanceShape,
): ScalingPolicy {
  const deciders: KpaDecider[] = [];
  const shapes: KpaInstanceShape[] = [];
  const lastRecorded: number[] = [];
  const zeroSince: (number | undefined)[] = [];
  const activeSince: number[] = [];

  const addPods = (ctx: PolicyContext, fn: number, n: number): void => {
    const shape = shapes[fn];
    if (!shape) return;
    for (let i = 0; i < n; i++) if (ctx.addInstance(fn, shape) === undefined) return;
  };

  return {
    name,
    tickSeconds: kpa.tickSeconds,
    start(ctx) {
      ctx.functions.forEach((f, fn) => {
        const shape = shapeOf(fn, ctx);
        shapes[fn] = shape;
        const target = shape.perPodTotal * kpa.targetUtilization;
        deciders[fn] = new KpaDecider(
          {
            targetPerPod: Math.max(0.01, target),
            stableWindowSeconds: kpa.stableWindowSeconds,
            panicWindowPercentage: kpa.panicWindowPercentage,
            panicThresholdPercentage: kpa.panicThresholdPercentage,
            maxScaleUpRate: kpa.maxScaleUpRate,
            maxScaleDownRate: kpa.maxScaleDownRate,
          },
          f.initialScale,
        );
        lastRecorded[fn] = -1;
        activeSince[fn] = 0;
        addPods(ctx, fn, Math.min(f.maxScale, f.initialScale));
      });
    },
    tick(ctx) {
      ctx.functions.forEach((f, fn) => {
        const decider = deciders[fn];
        if (!decider) return;
        const series = ctx.series(fn);
        const metric = kpa.metric === 'rps' ? series.arrivals : series.concurrency;
        for (let s = (lastRecorded[fn] ?? -1) + 1; s < ctx.now; s++)
          decider.record(s, metric[s] ?? 0);
        lastRecorded[fn] = ctx.now - 1;
        const pods = ctx.instances(fn);
        const ready = pods.filter(p => p.readyAt <= ctx.now).length;
        const desired = decider.decide(ctx.now, ready);
        let want = Math.min(f.maxScale, Math.max(f.minScale, desired));
        if (want === 0) {
          // Scale to zero only after the grace period, and not before the revision has been
          // active for a stable window (Knative's handleScaleToZero).
          const since = zeroSince[fn] ?? ctx.now;
          zeroSince[fn] = since;
          const graceOver = ctx.now - since >= kpa.scaleToZeroGraceSeconds;
          const activeLongEnough = ctx.now - (activeSince[fn] ?? 0) >= kpa.stableWindowSeconds;
          if (!(graceOver && activeLongEnough)) want = Math.min(1, pods.length);
        } else {
          zeroSince[fn] = undefined;
          if (pods.length === 0) activeSince[fn] = ctx.now;
        }
        if (want > pods.length) addPods(ctx, fn, want - pods.length);
        else if (want < pods.length) removePods(ctx, pods, pods.length - want);
      });
    },
  };
}

/** Removes n pods: not ready before ready, newest first. */
function removePods(ctx: PolicyContext, pods: readonly InstanceView[], n: number): void {
  const order = [...pods].sort((a, b) => {
    const ra = a.readyAt <= ctx.now ? 1 : 0;
    const rb = b.readyAt <= ctx.now ? 1 : 0;
    return ra - rb || b.createdAt - a.createdAt || b.id - a.id;
  });
  for (const p of order.slice(0, n)) ctx.removeInstance(p.id);
}

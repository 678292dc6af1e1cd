/**
 * The Knative Pod Autoscaler's decision, as Knative Serving computes it
 * (pkg/autoscaler/scaling/autoscaler.go and aggregation/bucketing.go, knative/serving v1.x;
 * notes/knative-openfaas.md §A2–A3), reimplemented for the simulator:
 *
 * - the metric (total requests per second, or total concurrency, of the revision) is kept in
 *   1-second buckets; the stable value is its average over the stable window (60 s), the panic
 *   value over the panic window (stable x 10 % = 6 s), each over the part of the window that
 *   has data when the revision is younger than the window;
 * - desired pods = ceil(value / target), with target = per-pod total x target utilisation
 *   (70 %), each clamped to [floor(ready / maxScaleDownRate), ceil(maxScaleUpRate x ready)]
 *   with ready = max(1, ready pods);
 * - panic starts when ceil(panic / target) / ready >= panic threshold (200 %), is extended
 *   while that holds, and ends a full stable window after it last held; in panic the desired
 *   count is max(stable, panic) and never decreases;
 * - a decider created with more than one ready pod starts in panic, as Knative's does.
 *
 * The reconciler's part — min/max scale and scale-to-zero — is in kpa-policy.ts.
 */
export interface KpaDeciderConfig {
  /** Target metric value per pod: per-pod total x target utilisation. */
  readonly targetPerPod: number;
  readonly stableWindowSeconds: number;
  readonly panicWindowPercentage: number;
  readonly panicThresholdPercentage: number;
  readonly maxScaleUpRate: number;
  readonly maxScaleDownRate: number;
}

export class KpaDecider {
  readonly #c: KpaDeciderConfig;
  readonly #panicWindow: number;
  /** buckets[s % window] = metric value of second s. */
  readonly #buckets: Float64Array;
  #firstSecond = -1;
  #lastSecond = -1;
  #panicSince: number | undefined;
  #maxPanicPods = 0;

  constructor(c: KpaDeciderConfig, readyPodsAtStart: number, now = 0) {
    if (!(c.targetPerPod > 0)) throw new RangeError('targetPerPod must be > 0');
    this.#c = c;
    this.#panicWindow = Math.max(
      1,
      Math.round((c.stableWindowSeconds * c.panicWindowPercentage) / 100),
    );
    this.#buckets = new Float64Array(c.stableWindowSeconds);
    if (readyPodsAtStart > 1) {
      this.#panicSince = now;
      this.#maxPanicPods = readyPodsAtStart;
    }
  }

  get panicking(): boolean {
    return this.#panicSince !== undefined;
  }

  /** Records the metric value of second `second` (seconds must come in order). */
  record(second: number, value: number): void {
    const w = this.#buckets.length;
    if (this.#lastSecond >= 0) {
      if (second <= this.#lastSecond) {
        throw new RangeError(`seconds must increase (got ${second} after ${this.#lastSecond})`);
      }
      for (let s = this.#lastSecond + 1; s < second && s <= this.#lastSecond + w; s++) {
        this.#buckets[s % w] = 0;
      }
    }
    if (this.#firstSecond < 0 || second - this.#lastSecond >= w) this.#firstSecond = second;
    this.#buckets[second % w] = value;
    this.#lastSecond = second;
  }

  /** Average over the last `window` recorded seconds (fewer while the history is shorter). */
  average(window: number): number {
    if (this.#lastSecond < 0) return 0;
    const w = this.#buckets.length;
    const n = Math.min(window, w, this.#lastSecond - this.#firstSecond + 1);
    let sum = 0;
    for (let s = this.#lastSecond - n + 1; s <= this.#lastSecond; s++)
      sum += this.#buckets[s % w] ?? 0;
    return sum / n;
  }

  /** Desired pod count at `now` given the ready pods; before any data, the ready count. */
  decide(now: number, readyPods: number): number {
    if (this.#lastSecond < 0) return readyPods;
    const c = this.#c;
    const ready = Math.max(1, readyPods);
    const maxUp = Math.ceil(c.maxScaleUpRate * ready);
    const maxDown = Math.floor(ready / c.maxScaleDownRate);
    const dspc = Math.ceil(this.average(c.stableWindowSeconds) / c.targetPerPod);
    const dppc = Math.ceil(this.average(this.#panicWindow) / c.targetPerPod);
    const stable = clamp(dspc, maxDown, maxUp);
    const panic = clamp(dppc, maxDown, maxUp);
    const over = dppc / ready >= c.panicThresholdPercentage / 100;
    if (over) {
      this.#panicSince = now;
    } else if (this.#panicSince !== undefined && this.#panicSince + c.stableWindowSeconds < now) {
      this.#panicSince = undefined;
      this.#maxPanicPods = 0;
    }
    if (this.#panicSince === undefined) return stable;
    const desired = Math.max(stable, panic);
    if (desired > this.#maxPanicPods) this.#maxPanicPods = desired;
    return this.#maxPanicPods;
  }
}

function clamp(v: number, lo: number, hi: number): number {
  return Math.min(Math.max(v, lo), hi);
}

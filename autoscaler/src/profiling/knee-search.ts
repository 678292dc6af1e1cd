import type { Measure, Probe } from './measurement.js';

export interface KneeSearchOptions {
  readonly batch: number;
  /** Fraction of full-GPU throughput that counts as "as good as 100 %". @default 0.98 */
  readonly threshold?: number;
  /** SM granularity of the answer. @default 5 */
  readonly smStep?: number;
}

export interface KneeResult {
  /** Smallest SM % whose throughput reaches threshold x throughput at 100 %. */
  readonly smPercent: number | undefined;
  readonly fullThroughputRps: number | undefined;
  readonly throughputRps: number | undefined;
  readonly probes: readonly Probe[];
}

/**
 * Knee search for best-effort and training jobs (Dilu): such a job has no latency SLO, only
 * a point past which more SMs stop buying throughput. Measure at 100 %, then binary-search the
 * smallest SM % (on the step grid) that still gives threshold x that throughput. Assumes
 * throughput is non-decreasing in SM %, which MPS partitions give.
 */
export async function kneeSearch(
  measure: Measure,
  options: KneeSearchOptions,
): Promise<KneeResult> {
  const threshold = options.threshold ?? 0.98;
  const step = options.smStep ?? 5;
  if (!(Number.isInteger(options.batch) && options.batch >= 1)) {
    throw new RangeError(`batch must be an integer >= 1, got ${options.batch}`);
  }
  if (!(threshold > 0 && threshold <= 1)) {
    throw new RangeError(`threshold must be in (0, 1], got ${threshold}`);
  }
  if (!(Number.isInteger(step) && step >= 1 && step <= 100)) {
    throw new RangeError(`smStep must be an integer in 1..100, got ${step}`);
  }
  const probes: Probe[] = [];
  const probe = async (sm: number): Promise<number | undefined> => {
    const m = await measure(options.batch, sm);
    probes.push({
      batch: options.batch,
      smPercent: sm,
      ran: m !== undefined,
      meetsSlo: true,
      ...m,
    });
    return m?.throughputRps;
  };
  const full = await probe(100);
  if (full === undefined) {
    return { smPercent: undefined, fullThroughputRps: undefined, throughputRps: undefined, probes };
  }
  const target = threshold * full;
  // Invariant: lo (in steps) is known to miss the target (or is 0), hi is known to reach it.
  let lo = 0;
  let hi = Math.ceil(100 / step);
  let hiRps = full;
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    const sm = Math.min(100, mid * step);
    const rps = await probe(sm);
    if (rps !== undefined && rps >= target) {
      hi = mid;
      hiRps = rps;
    } else {
      lo = mid;
    }
  }
  return {
    smPercent: Math.min(100, hi * step),
    fullThroughputRps: full,
    throughputRps: hiRps,
    probes,
  };
}

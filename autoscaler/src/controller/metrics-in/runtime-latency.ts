import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import type { Dispatcher } from 'undici';
import { httpGet, ScrapeError } from './http-get.js';

/** A cumulative histogram: upper bounds (seconds, ascending, last +Inf) and counts. */
export interface CumulativeHistogram {
  readonly le: readonly number[];
  readonly counts: readonly number[];
}

const FAMILY = 'dilu_request_duration_seconds';

/** `dilu_request_duration_seconds` (docs/contracts/runtime-metrics.md) from Prometheus text. */
export function parseRequestDuration(text: string): CumulativeHistogram | undefined {
  const family = parsePrometheusTextFormat(text).find(f => f.name === FAMILY);
  const buckets = family?.metrics[0]?.buckets;
  if (buckets === undefined) return undefined;
  const pairs = Object.entries(buckets)
    .map(([le, n]) => [le === '+Inf' ? Infinity : Number(le), Number(n)] as const)
    .filter(([le, n]) => !Number.isNaN(le) && Number.isFinite(n))
    .sort((a, b) => a[0] - b[0]);
  return { le: pairs.map(p => p[0]), counts: pairs.map(p => p[1]) };
}

/**
 * The runtime's latency histogram of one pod. Read every few ticks for introspection: the
 * policy compares the measured p95 with what the profile promised and corrects the model.
 */
export function createRuntimeLatencyScraper(deps: {
  readonly timeoutMs: number;
  readonly dispatcher?: Dispatcher;
}): { scrape(url: string): Promise<CumulativeHistogram> } {
  return {
    async scrape(url) {
      const res = await httpGet(url, {
        timeoutMs: deps.timeoutMs,
        headers: { accept: 'text/plain; version=0.0.4' },
        ...(deps.dispatcher === undefined ? {} : { dispatcher: deps.dispatcher }),
      });
      if (res.status !== 200) throw new ScrapeError(url, `HTTP ${res.status}`);
      const h = parseRequestDuration(res.body.toString('utf8'));
      if (h === undefined) throw new ScrapeError(url, `no ${FAMILY} histogram`);
      return h;
    },
  };
}

/**
 * p95 (ms) of the requests counted between two reads of each pod's cumulative histogram,
 * summed over a function's pods; a pod seen for the first time, or whose counters went back
 * (restart), contributes its whole histogram. Linear interpolation inside the bucket, as
 * Prometheus's histogram_quantile does; undefined when no request finished meanwhile.
 */
export function createLatencyWindow(): {
  p95Ms(pods: ReadonlyMap<string, CumulativeHistogram>): number | undefined;
  forget(pod: string): void;
} {
  const last = new Map<string, CumulativeHistogram>();
  return {
    p95Ms(pods) {
      // Pods not read this time (gone, or a failed read) start over when seen again.
      for (const pod of [...last.keys()]) if (!pods.has(pod)) last.delete(pod);
      let le: readonly number[] | undefined;
      let total: number[] | undefined;
      for (const [pod, h] of pods) {
        const prev = last.get(pod);
        last.set(pod, h);
        const same = prev !== undefined && prev.le.join() === h.le.join();
        const delta = h.counts.map((n, i) => n - (same ? (prev.counts[i] ?? 0) : 0));
        const d = delta.some(x => x < 0) ? h.counts : delta;
        if (le === undefined) {
          le = h.le;
          total = [...d];
        } else if (le.join() === h.le.join() && total !== undefined) {
          for (let i = 0; i < d.length; i++) total[i] = (total[i] ?? 0) + (d[i] ?? 0);
        }
      }
      return le === undefined || total === undefined ? undefined : quantileMs(le, total, 0.95);
    },
    forget: pod => last.delete(pod),
  };
}

function quantileMs(
  le: readonly number[],
  cumulative: readonly number[],
  q: number,
): number | undefined {
  const count = cumulative.at(-1) ?? 0;
  if (count <= 0) return undefined;
  const rank = q * count;
  for (let i = 0; i < le.length; i++) {
    const c = cumulative[i] ?? 0;
    if (c < rank) continue;
    const upper = le[i] ?? Infinity;
    const lower = i === 0 ? 0 : (le[i - 1] ?? 0);
    // In the +Inf bucket the best estimate is the highest finite bound.
    if (!Number.isFinite(upper)) return lower * 1000;
    const below = i === 0 ? 0 : (cumulative[i - 1] ?? 0);
    const inBucket = c - below;
    const frac = inBucket > 0 ? (rank - below) / inBucket : 1;
    return (lower + (upper - lower) * frac) * 1000;
  }
  return undefined;
}

import type { V1Pod } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import type { LoadObservation } from '../../policy/index.js';
import type { AutoscalerMetrics } from '../core/autoscaler-metrics.js';
import { isPodReady } from '../core/instances.js';
import { runLimited } from '../core/quota-actuator.js';
import type { ScrapeTargets } from '../core/scrape-targets.js';
import type { LoadSource, ManagedFunction } from '../core/types.js';
import type { ActivatorScraper } from '../metrics-in/activator.js';
import type { QueueProxyScraper } from '../metrics-in/queue-proxy-scraper.js';
import type { CumulativeHistogram } from '../metrics-in/runtime-latency.js';
import { createLatencyWindow } from '../metrics-in/runtime-latency.js';

/**
 * Knative load: every ready pod's queue-proxy Stat (`request_count` is already requests per
 * second, proxied requests included), summed per revision; pods that did not answer are
 * extrapolated from those that did, as Knative's scraper scales a sample to the population.
 * No answer from any ready pod means the metrics are missing this tick (the policy then
 * holds). A revision with no ready pod takes its demand from the activator.
 */
export function createKnativeLoadSource(deps: {
  readonly scraper: QueueProxyScraper;
  readonly activator?: ActivatorScraper | undefined;
  readonly targets: ScrapeTargets;
  readonly metrics: AutoscalerMetrics;
  readonly log: Logger;
  readonly concurrency?: number;
  /** The runtimes' latency histograms, read every `everyTicks` ticks (introspection). */
  readonly latency?: {
    readonly scraper: { scrape(url: string): Promise<CumulativeHistogram> };
    readonly everyTicks: number;
  };
}): LoadSource {
  let ticks = 0;
  const windows = new Map<string, ReturnType<typeof createLatencyWindow>>();
  const readLatency = async (
    fns: readonly ManagedFunction[],
    podsOf: (fn: ManagedFunction) => readonly V1Pod[],
  ): Promise<Map<string, number>> => {
    const out = new Map<string, number>();
    const latency = deps.latency;
    if (latency === undefined || ticks++ % latency.everyTicks !== 0) return out;
    const jobs: { fn: string; pod: string; url: string }[] = [];
    for (const fn of fns) {
      for (const pod of podsOf(fn)) {
        const url = isPodReady(pod) ? deps.targets.runtimeMetricsUrl(pod) : undefined;
        if (url !== undefined) jobs.push({ fn: fn.key, pod: pod.metadata?.name ?? '', url });
      }
    }
    const byFn = new Map<string, Map<string, CumulativeHistogram>>();
    await runLimited(jobs, deps.concurrency ?? 64, async job => {
      try {
        const h = await latency.scraper.scrape(job.url);
        let m = byFn.get(job.fn);
        if (m === undefined) {
          m = new Map();
          byFn.set(job.fn, m);
        }
        m.set(job.pod, h);
      } catch (err) {
        deps.log.debug({ url: job.url, err: String(err) }, 'runtime metrics not read');
      }
    });
    const live = new Set(fns.map(f => f.key));
    for (const fn of [...windows.keys()]) if (!live.has(fn)) windows.delete(fn);
    for (const [fn, pods] of byFn) {
      let w = windows.get(fn);
      if (w === undefined) {
        w = createLatencyWindow();
        windows.set(fn, w);
      }
      const p95 = w.p95Ms(pods);
      if (p95 !== undefined) out.set(fn, p95);
    }
    return out;
  };
  return {
    async observe(fns, podsOf) {
      const latencyRead = readLatency(fns, podsOf);
      const jobs: { key: string; url: string }[] = [];
      const readyCount = new Map<string, number>();
      for (const fn of fns) {
        let ready = 0;
        for (const pod of podsOf(fn)) {
          if (!isPodReady(pod)) continue;
          ready++;
          const url = deps.targets.queueProxyStatsUrl(pod);
          if (url !== undefined) jobs.push({ key: fn.key, url });
        }
        readyCount.set(fn.key, ready);
      }
      const sums = new Map<string, { rps: number; answered: number }>();
      let errors = 0;
      const activatorDemand = scrapeActivator(deps, fns, readyCount);
      await runLimited(jobs, deps.concurrency ?? 64, async job => {
        try {
          const stat = await deps.scraper.scrape(job.url);
          const s = sums.get(job.key) ?? { rps: 0, answered: 0 };
          s.rps += stat.requestCount;
          s.answered++;
          sums.set(job.key, s);
        } catch (err) {
          errors++;
          deps.log.debug({ url: job.url, err: String(err) }, 'queue-proxy not scraped');
        }
      });
      if (errors > 0) deps.metrics.scrapeError('queue-proxy', errors);
      const demand = await activatorDemand;
      const p95 = await latencyRead;
      const out = new Map<string, LoadObservation>();
      for (const fn of fns) {
        const obs = observation(fn, readyCount.get(fn.key) ?? 0, sums.get(fn.key), demand);
        if (obs === undefined) continue;
        const latency = p95.get(fn.key);
        out.set(fn.key, latency === undefined ? obs : { ...obs, p95LatencyMs: latency });
      }
      return out;
    },
  };
}

async function scrapeActivator(
  deps: { activator?: ActivatorScraper | undefined; metrics: AutoscalerMetrics; log: Logger },
  fns: readonly ManagedFunction[],
  ready: ReadonlyMap<string, number>,
): Promise<ReadonlyMap<string, number> | undefined | null> {
  // Only worth a request when some revision has no ready pod.
  if (deps.activator === undefined) return null;
  if (!fns.some(f => (ready.get(f.key) ?? 0) === 0)) return null;
  try {
    return await deps.activator.scrape();
  } catch (err) {
    deps.metrics.scrapeError('activator');
    deps.log.warn({ err: String(err) }, 'activator not scraped');
    return undefined;
  }
}

/**
 * undefined → metrics missing. `demand` null means no activator is configured: a revision at
 * zero then reads as idle (set min-scale >= 1 for functions that must never wait for one).
 */
function observation(
  fn: ManagedFunction,
  ready: number,
  sum: { rps: number; answered: number } | undefined,
  demand: ReadonlyMap<string, number> | undefined | null,
): LoadObservation | undefined {
  if (ready > 0) {
    if (sum === undefined || sum.answered === 0) return undefined;
    return { samples: [(sum.rps * ready) / sum.answered] };
  }
  if (demand === undefined) return undefined;
  const waiting = demand?.get(`${fn.namespace}/${fn.name}`) ?? 0;
  return { samples: [0], waiting };
}

export type { V1Pod };

import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import type { Dispatcher } from 'undici';
import { httpGet, ScrapeError } from './http-get.js';

/**
 * Requests the Knative activator holds per revision: our class gets no push from it (the
 * activator reports only to Knative's own autoscaler over a WebSocket), so a scaled-to-zero
 * revision's demand is read from the activator's Prometheus gauge (notes §A1). The name is
 * `kn_revision_request_concurrency` since Serving 1.19 (OpenTelemetry) and
 * `activator_request_concurrency` before; the label names changed with it.
 */
const FAMILIES = ['kn_revision_request_concurrency', 'activator_request_concurrency'];
const NAMESPACE_LABELS = ['k8s_namespace_name', 'namespace_name'];
const REVISION_LABELS = ['kn_revision_name', 'revision_name'];

/** `namespace/revision` → requests in the activator now (summed over activator pods). */
export type ActivatorDemand = ReadonlyMap<string, number>;

export function parseActivatorDemand(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const family of parsePrometheusTextFormat(text)) {
    if (!FAMILIES.includes(family.name)) continue;
    for (const sample of family.metrics) {
      const labels = sample.labels ?? {};
      const ns = NAMESPACE_LABELS.map(l => labels[l]).find(v => v !== undefined);
      const rev = REVISION_LABELS.map(l => labels[l]).find(v => v !== undefined);
      const value = Number(sample.value);
      if (ns === undefined || rev === undefined || !Number.isFinite(value)) continue;
      const key = `${ns}/${rev}`;
      out.set(key, (out.get(key) ?? 0) + value);
    }
  }
  return out;
}

export interface ActivatorScraper {
  /** Demand summed over every configured activator endpoint; throws when none answered. */
  scrape(): Promise<ActivatorDemand>;
}

export function createActivatorScraper(deps: {
  readonly urls: readonly string[];
  readonly timeoutMs: number;
  readonly dispatcher?: Dispatcher;
}): ActivatorScraper {
  return {
    async scrape() {
      const results = await Promise.allSettled(
        deps.urls.map(async url => {
          const res = await httpGet(url, {
            timeoutMs: deps.timeoutMs,
            headers: { accept: 'text/plain; version=0.0.4' },
            ...(deps.dispatcher === undefined ? {} : { dispatcher: deps.dispatcher }),
          });
          if (res.status !== 200) throw new ScrapeError(url, `HTTP ${res.status}`);
          return parseActivatorDemand(res.body.toString('utf8'));
        }),
      );
      const total = new Map<string, number>();
      let answered = 0;
      for (const r of results) {
        if (r.status !== 'fulfilled') continue;
        answered++;
        for (const [k, v] of r.value) total.set(k, (total.get(k) ?? 0) + v);
      }
      if (answered === 0 && deps.urls.length > 0) {
        const first = results.find(r => r.status === 'rejected');
        throw first?.reason instanceof Error
          ? first.reason
          : new ScrapeError(deps.urls.join(','), 'no activator answered');
      }
      return total;
    },
  };
}

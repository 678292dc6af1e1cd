import type { Logger } from 'pino';
import type { LoadObservation } from '../../policy/index.js';
import type { AutoscalerMetrics } from '../core/autoscaler-metrics.js';
import { isPodReady } from '../core/instances.js';
import type { LoadSource } from '../core/types.js';
import type { PrometheusClient } from '../metrics-in/prometheus-client.js';
import type { AlertBook } from './alert-book.js';
import { splitFunctionName } from './alert-book.js';

/**
 * OpenFaaS load from the Prometheus that scrapes the gateway: the invocation rate
 * `rate(gateway_function_invocation_total[w])` and the p95 of `gateway_functions_seconds`,
 * per `function_name`. Unless the gateway is being scraped (the `up` query says 1), every
 * function's metrics count as missing: an absent series must not read as zero load.
 */
export function createOpenFaasLoadSource(deps: {
  readonly prometheus: PrometheusClient;
  readonly rateWindow: string;
  readonly gatewayUpQuery: string;
  readonly defaultNamespace: string;
  readonly alerts: AlertBook;
  readonly metrics: AutoscalerMetrics;
  readonly log: Logger;
}): LoadSource {
  const rateQuery = `sum by (function_name) (rate(gateway_function_invocation_total[${deps.rateWindow}]))`;
  const p95Query =
    `histogram_quantile(0.95, sum by (function_name, le) ` +
    `(rate(gateway_functions_seconds_bucket[${deps.rateWindow}])))`;
  const byFunction = (
    samples: readonly { labels: Readonly<Record<string, string>>; value: number }[],
  ): Map<string, number> => {
    const m = new Map<string, number>();
    for (const s of samples) {
      const fn = s.labels['function_name'];
      if (fn === undefined || !Number.isFinite(s.value)) continue;
      const { namespace, name } = splitFunctionName(fn, deps.defaultNamespace);
      m.set(`${namespace}/${name}`, s.value);
    }
    return m;
  };
  return {
    async observe(fns, podsOf) {
      const out = new Map<string, LoadObservation>();
      let rates: Map<string, number>;
      let p95: Map<string, number>;
      try {
        const [up, r, l] = await Promise.all([
          deps.prometheus.query(deps.gatewayUpQuery),
          deps.prometheus.query(rateQuery),
          deps.prometheus.query(p95Query),
        ]);
        if (up.length === 0 || up.some(s => s.value !== 1)) {
          throw new Error(`gateway not scraped (${deps.gatewayUpQuery} is not 1)`);
        }
        rates = byFunction(r);
        p95 = byFunction(l);
      } catch (err) {
        deps.metrics.scrapeError('prometheus');
        deps.log.warn({ err: String(err) }, 'no OpenFaaS load this tick; holding every function');
        return out;
      }
      for (const fn of fns) {
        const key = `${fn.namespace}/${fn.name}`;
        const latency = p95.get(key);
        const ready = podsOf(fn).filter(isPodReady).length;
        out.set(fn.key, {
          samples: [rates.get(key) ?? 0],
          ...(latency === undefined ? {} : { p95LatencyMs: latency * 1000 }),
          ...(ready === 0 && deps.alerts.firing(fn.namespace, fn.name) ? { waiting: 1 } : {}),
        });
      }
      return out;
    },
  };
}

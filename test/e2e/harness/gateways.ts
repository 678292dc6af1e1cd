// The two front doors the e2e drives load through.
//
// OpenFaaS: the CE gateway's routes `/function/<name>[.<namespace>]` proxied to the function's
// ready pods, and its metrics on a second port (`/metrics`, port 8082 in OpenFaaS):
// gateway_function_invocation_total{function_name,code}, gateway_functions_seconds{...} and
// gateway_service_count{function_name}, with function_name "<fn>.<namespace>". Prometheus
// scrapes them, and the autoscaler's OpenFaaS mode reads the rates from Prometheus.
//
// Knative: the ingress in front of a revision (Service -> public SKS endpoints -> the pods'
// queue-proxies on port 8012), routed by Host, "<service>.<namespace>.<domain>".
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { KubeConfig } from '@kubernetes/client-node';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { startRouter, type Route, type Router } from './router.js';

export interface OpenFaasGateway {
  readonly url: string;
  readonly metricsUrl: string;
  /** host:port of the metrics endpoint (a Prometheus target). */
  readonly metricsTarget: string;
  readonly router: Router;
  close(): Promise<void>;
}

export async function startOpenFaasGateway(opts: {
  readonly kc: KubeConfig;
  readonly namespace: string;
  readonly functions: readonly string[];
}): Promise<OpenFaasGateway> {
  const routes: Route[] = opts.functions.map(fn => ({
    name: `${fn}.${opts.namespace}`,
    namespace: opts.namespace,
    podSelector: `faas_function=${fn}`,
    port: 8080,
  }));
  const router = await startRouter({
    kc: opts.kc,
    routes,
    route: req => {
      const m = /^\/function\/([a-z0-9-]+)(?:\.([a-z0-9-]+))?(\/.*)?$/.exec(req.url ?? '');
      if (m === null) return undefined;
      const route = routes.find(r => r.name === `${m[1]}.${m[2] ?? opts.namespace}`);
      return route === undefined ? undefined : { route, path: m[3] ?? '/' };
    },
  });

  const registry = new Registry();
  const registers = [registry];
  const total = new Counter({
    name: 'gateway_function_invocation_total',
    help: 'Function metrics',
    labelNames: ['function_name', 'code'],
    registers,
  });
  const seconds = new Histogram({
    name: 'gateway_functions_seconds',
    help: 'Function time taken',
    labelNames: ['function_name', 'code'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers,
  });
  // Registered in `registers`; read only when scraped.
  new Gauge({
    name: 'gateway_service_count',
    help: 'Current count of replicas for function',
    labelNames: ['function_name'],
    registers,
    collect() {
      for (const r of routes) this.set({ function_name: r.name }, router.backends(r.name).length);
    },
  });
  router.onAnswer((fn, code, s) => {
    total.inc({ function_name: fn, code: String(code) });
    seconds.observe({ function_name: fn, code: String(code) }, s);
  });

  const metrics: Server = createServer((req, res) => {
    if (req.url !== '/metrics') {
      res.writeHead(404).end();
      return;
    }
    void registry
      .metrics()
      .then(text => res.writeHead(200, { 'content-type': registry.contentType }).end(text));
  });
  await new Promise<void>(resolve => metrics.listen(0, '127.0.0.1', resolve));
  const { port } = metrics.address() as AddressInfo;
  return {
    url: router.url,
    metricsUrl: `http://127.0.0.1:${port}/metrics`,
    metricsTarget: `127.0.0.1:${port}`,
    router,
    async close() {
      await router.close();
      metrics.closeAllConnections();
      await new Promise<void>(resolve => metrics.close(() => resolve()));
    },
  };
}

export interface KnativeIngress {
  readonly url: string;
  readonly router: Router;
  /** Host header for a service. */
  host(service: string, namespace: string): string;
  close(): Promise<void>;
}

export const KNATIVE_DOMAIN = 'e2e.dilu.dev';

export async function startKnativeIngress(opts: {
  readonly kc: KubeConfig;
  readonly services: readonly { service: string; namespace: string; revision: string }[];
}): Promise<KnativeIngress> {
  const routes: Route[] = opts.services.map(s => ({
    name: `${s.service}.${s.namespace}`,
    namespace: s.namespace,
    podSelector: `serving.knative.dev/revision=${s.revision}`,
    port: 8012,
  }));
  const router = await startRouter({
    kc: opts.kc,
    routes,
    route: req => {
      const host = (req.headers.host ?? '').replace(/:\d+$/, '');
      const route = routes.find(r => `${r.name}.${KNATIVE_DOMAIN}` === host);
      return route === undefined ? undefined : { route, path: req.url ?? '/' };
    },
  });
  return {
    url: router.url,
    router,
    host: (service, namespace) => `${service}.${namespace}.${KNATIVE_DOMAIN}`,
    close: () => router.close(),
  };
}

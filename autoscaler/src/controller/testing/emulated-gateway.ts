import { createServer } from 'node:http';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { close, listen } from './listen.js';

export interface EmulatedGateway {
  readonly url: string;
  readonly port: number;
  /** Sets a function's offered load (requests per second) and its latency. */
  setLoad(functionName: string, rps: number, latencyMs?: number): void;
  setReplicas(functionName: string, replicas: number): void;
  /** Requests counted so far for a function. */
  invocations(functionName: string): number;
  close(): Promise<void>;
}

/**
 * The OpenFaaS CE gateway's metrics endpoint (port 8082 `/metrics`), as the gateway writes
 * it (notes §B1): `gateway_function_invocation_total{function_name,code}`,
 * `gateway_functions_seconds{function_name,code}`, `gateway_function_invocation_started`
 * and `gateway_service_count`, with `function_name` = `<fn>.<namespace>`. Requests are not
 * proxied anywhere: the counters advance at the rate the test sets, 10 times a second.
 */
export async function startEmulatedGateway(opts: {
  readonly host?: string;
  readonly port?: number;
}): Promise<EmulatedGateway> {
  const registry = new Registry();
  const registers = [registry];
  const total = new Counter({
    name: 'gateway_function_invocation_total',
    help: 'Function metrics',
    labelNames: ['function_name', 'code'],
    registers,
  });
  const started = new Counter({
    name: 'gateway_function_invocation_started',
    help: 'The total number of function HTTP requests started.',
    labelNames: ['function_name'],
    registers,
  });
  const seconds = new Histogram({
    name: 'gateway_functions_seconds',
    help: 'Function time taken',
    labelNames: ['function_name', 'code'],
    registers,
  });
  const serviceCount = new Gauge({
    name: 'gateway_service_count',
    help: 'Current count of replicas for function',
    labelNames: ['function_name'],
    registers,
  });
  const loads = new Map<string, { rps: number; latencyMs: number; carry: number; n: number }>();
  const step = setInterval(() => {
    for (const [fn, l] of loads) {
      l.carry += l.rps / 10;
      const whole = Math.floor(l.carry);
      if (whole <= 0) continue;
      l.carry -= whole;
      l.n += whole;
      total.inc({ function_name: fn, code: '200' }, whole);
      started.inc({ function_name: fn }, whole);
      for (let i = 0; i < Math.min(whole, 50); i++) {
        seconds.observe({ function_name: fn, code: '200' }, l.latencyMs / 1000);
      }
    }
  }, 100);
  step.unref();
  const server = createServer((req, res) => {
    if (req.method !== 'GET' || req.url !== '/metrics') {
      res.writeHead(404).end();
      return;
    }
    void registry.metrics().then(text => {
      res.writeHead(200, { 'content-type': registry.contentType }).end(text);
    });
  });
  const host = opts.host ?? '127.0.0.1';
  const port = await listen(server, host, opts.port ?? 0);
  return {
    url: `http://${host}:${port}/metrics`,
    port,
    setLoad(fn, rps, latencyMs = 50) {
      const l = loads.get(fn) ?? { rps: 0, latencyMs, carry: 0, n: 0 };
      l.rps = rps;
      l.latencyMs = latencyMs;
      loads.set(fn, l);
    },
    setReplicas(fn, n) {
      serviceCount.set({ function_name: fn }, n);
    },
    invocations: fn => loads.get(fn)?.n ?? 0,
    async close() {
      clearInterval(step);
      await close(server);
    },
  };
}

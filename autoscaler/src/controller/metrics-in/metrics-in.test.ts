import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createServer, type Server } from 'node:http';
import { startEmulatedQueueProxy } from '../testing/emulated-queue-proxy.js';
import type { EmulatedQueueProxy } from '../testing/emulated-queue-proxy.js';
import { close, listen } from '../testing/listen.js';
import { createActivatorScraper, parseActivatorDemand } from './activator.js';
import { httpGet, ScrapeError } from './http-get.js';
import { createPrometheusClient } from './prometheus-client.js';
import { createQueueProxyScraper } from './queue-proxy-scraper.js';
import { decodeStat, encodeStat } from './queue-proxy-stat.js';

describe('queue-proxy Stat', () => {
  it('round-trips every documented field through the wire format', () => {
    const stat = {
      podName: 'fn-00001-deployment-abc',
      averageConcurrentRequests: 3.5,
      averageProxiedConcurrentRequests: 0.5,
      requestCount: 42.25,
      proxiedRequestCount: 2,
      processUptime: 120.5,
      timestamp: 1_795_000_000,
    };
    expect(decodeStat(encodeStat(stat))).toEqual(stat);
  });
  it('matches field numbers of knative/serving stat.proto (pod_name = 1, request_count = 4)', () => {
    const bytes = encodeStat({
      podName: 'p',
      averageConcurrentRequests: 0,
      averageProxiedConcurrentRequests: 0,
      requestCount: 1,
      proxiedRequestCount: 0,
      processUptime: 0,
      timestamp: 0,
    });
    // Tag 0x0a = field 1, length-delimited; tag 0x21 = field 4, 64-bit (double 1.0).
    expect([...bytes]).toEqual([0x0a, 1, 0x70, 0x21, 0, 0, 0, 0, 0, 0, 0xf0, 0x3f]);
  });
});

describe('createQueueProxyScraper against an emulated queue-proxy', () => {
  let qp: EmulatedQueueProxy;
  let text: Server;
  let textUrl = '';
  beforeAll(async () => {
    qp = await startEmulatedQueueProxy({
      host: '127.0.0.1',
      port: 0,
      podName: 'pod-1',
      stat: () => ({ requestCount: 12.5, averageConcurrentRequests: 2 }),
    });
    text = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' }).end('queue_requests 1\n');
    });
    textUrl = `http://127.0.0.1:${await listen(text, '127.0.0.1', 0)}/metrics`;
  });
  afterAll(async () => {
    await qp.close();
    await close(text);
  });

  it('reads the Stat with Accept: application/protobuf', async () => {
    const stat = await createQueueProxyScraper({ timeoutMs: 1000 }).scrape(qp.url);
    expect(stat).toMatchObject({
      podName: 'pod-1',
      requestCount: 12.5,
      averageConcurrentRequests: 2,
    });
    expect(qp.scrapes()).toBe(1);
  });
  it('refuses another content type, as Knative does', async () => {
    await expect(createQueueProxyScraper({ timeoutMs: 1000 }).scrape(textUrl)).rejects.toThrow(
      /content type "text\/plain", want application\/protobuf/,
    );
  });
  it('fails within its deadline when nothing answers', async () => {
    const silent = createServer(() => undefined);
    const port = await listen(silent, '127.0.0.1', 0);
    const t0 = Date.now();
    await expect(
      createQueueProxyScraper({ timeoutMs: 200 }).scrape(`http://127.0.0.1:${port}/metrics`),
    ).rejects.toThrow(/no answer within 200 ms/);
    expect(Date.now() - t0).toBeLessThan(1500);
    await close(silent);
  });
});

describe('activator demand', () => {
  const text = [
    '# TYPE kn_revision_request_concurrency gauge',
    'kn_revision_request_concurrency{k8s_namespace_name="ns",kn_revision_name="fn-00001",kn_service_name="fn"} 3',
    'kn_revision_request_concurrency{k8s_namespace_name="ns",kn_revision_name="other-00002"} 0',
    '# TYPE activator_request_concurrency gauge',
    'activator_request_concurrency{namespace_name="old",revision_name="legacy-00001"} 1.5',
    '# TYPE unrelated gauge',
    'unrelated{k8s_namespace_name="ns",kn_revision_name="fn-00001"} 99',
    '',
  ].join('\n');

  it('reads both metric generations, per namespace/revision', () => {
    expect(parseActivatorDemand(text)).toEqual(
      new Map([
        ['ns/fn-00001', 3],
        ['ns/other-00002', 0],
        ['old/legacy-00001', 1.5],
      ]),
    );
  });
  it('sums activator endpoints and tolerates one of two failing', async () => {
    const up = createServer((_req, res) => res.writeHead(200).end(text));
    const down = createServer((_req, res) => res.writeHead(503).end());
    const p1 = await listen(up, '127.0.0.1', 0);
    const p2 = await listen(down, '127.0.0.1', 0);
    const both = createActivatorScraper({
      urls: [`http://127.0.0.1:${p1}/metrics`, `http://127.0.0.1:${p1}/metrics`],
      timeoutMs: 1000,
    });
    expect((await both.scrape()).get('ns/fn-00001')).toBe(6);
    const oneDown = createActivatorScraper({
      urls: [`http://127.0.0.1:${p2}/metrics`, `http://127.0.0.1:${p1}/metrics`],
      timeoutMs: 1000,
    });
    expect((await oneDown.scrape()).get('ns/fn-00001')).toBe(3);
    const allDown = createActivatorScraper({
      urls: [`http://127.0.0.1:${p2}/metrics`],
      timeoutMs: 1000,
    });
    await expect(allDown.scrape()).rejects.toThrow(/HTTP 503/);
    await close(up);
    await close(down);
  });
});

describe('createPrometheusClient', () => {
  let server: Server;
  let base = '';
  const queries: string[] = [];
  beforeAll(async () => {
    server = createServer((req, res) => {
      const q = new URL(req.url ?? '/', 'http://x').searchParams.get('query') ?? '';
      queries.push(q);
      if (q === 'bad(') {
        res
          .writeHead(400, { 'content-type': 'application/json' })
          .end(JSON.stringify({ status: 'error', errorType: 'bad_data', error: 'parse error' }));
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end(
        JSON.stringify({
          status: 'success',
          data: {
            resultType: 'vector',
            result: [{ metric: { function_name: 'fn.ns' }, value: [1_795_000_000.1, '12.5'] }],
          },
        }),
      );
    });
    base = `http://127.0.0.1:${await listen(server, '127.0.0.1', 0)}/`;
  });
  afterAll(async () => {
    await close(server);
  });

  it('runs an instant query and returns labelled numbers', async () => {
    const c = createPrometheusClient({ baseUrl: base, timeoutMs: 1000 });
    expect(await c.query('sum by (function_name) (rate(x[10s]))')).toEqual([
      { labels: { function_name: 'fn.ns' }, value: 12.5 },
    ]);
    expect(queries.at(-1)).toBe('sum by (function_name) (rate(x[10s]))');
  });
  it("reports Prometheus's own error message", async () => {
    const c = createPrometheusClient({ baseUrl: base, timeoutMs: 1000 });
    await expect(c.query('bad(')).rejects.toThrow(/HTTP 400: parse error/);
  });
});

describe('httpGet', () => {
  let server: Server;
  let base = '';
  beforeAll(async () => {
    server = createServer((req, res) => {
      const size = Number(new URL(req.url ?? '/', 'http://x').searchParams.get('bytes'));
      res.writeHead(200, { 'content-type': 'text/plain' }).end('x'.repeat(size));
    });
    base = `http://127.0.0.1:${await listen(server, '127.0.0.1', 0)}/`;
  });
  afterAll(async () => {
    await close(server);
  });

  it('reads a body up to the limit and refuses a larger one, naming the target', async () => {
    const ok = await httpGet(`${base}?bytes=1024`, { timeoutMs: 2000, maxBytes: 1024 });
    expect(ok).toMatchObject({ status: 200, contentType: 'text/plain' });
    expect(ok.body.length).toBe(1024);
    const url = `${base}?bytes=${4 << 20}`;
    const big = httpGet(url, { timeoutMs: 2000, maxBytes: 1024 });
    await expect(big).rejects.toThrow(ScrapeError);
    await expect(big).rejects.toThrow(`${url}: answer larger than 1024 bytes`);
  });
});

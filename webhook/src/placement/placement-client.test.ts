import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { PlacementDouble } from '../test-support/placement-double.js';
import { startPlacementDouble } from '../test-support/placement-double.js';
import type { PlacementClient, PlacementRequest } from './placement-client.js';
import { createPlacementClient } from './placement-client.js';

const request: PlacementRequest = {
  namespace: 'fns',
  generateName: 'resnet-00001-deployment-5f7c9d8b6d-',
  function: 'knative.fns.resnet-00001',
  class: 'latency-critical',
  smRequest: 60,
  smLimit: 90,
  memoryMiB: 3300,
};

let double: PlacementDouble;
const clients: PlacementClient[] = [];
/** A client closed after the suite, so no kept-alive connection outlives it. */
function clientFor(options: Parameters<typeof createPlacementClient>[0]): PlacementClient {
  const client = createPlacementClient(options);
  clients.push(client);
  return client;
}
beforeAll(async () => {
  double = await startPlacementDouble({ gpus: [{ node: 'n1', index: 0, memUnits: 40 }] });
});
afterAll(async () => {
  for (const c of clients) await c.close();
  await double.close();
});

describe('placement client against the service over HTTP', () => {
  it('gets a reservation, and the next request sees the capacity taken until it is released', async () => {
    const client = clientFor({ baseUrl: `${double.url}/` });
    const first = await client.place(request);
    expect(first).toEqual({
      kind: 'placed',
      placement: {
        reservation: expect.stringMatching(/^r-/),
        node: 'n1',
        gpuIndex: 0,
        memoryUnits: 13,
        expiresAt: expect.any(String),
      },
    });
    expect(double.requests.at(-1)).toEqual(request);
    const second = await client.place(request);
    expect(second).toEqual({
      kind: 'no-fit',
      message: 'no GPU fits ({"smRequest":60,"memoryUnits":13})',
    });
    if (first.kind !== 'placed') throw new Error('not placed');
    await client.release(first.placement.reservation);
    expect(double.released).toContain(first.placement.reservation);
    expect((await client.place(request)).kind).toBe('placed');
  });

  it('reports the service’s 400 as rejected with its message', async () => {
    const client = clientFor({ baseUrl: double.url });
    const r = await client.place({ ...request, smLimit: 10 });
    expect(r).toEqual({ kind: 'rejected', message: 'smLimit: must be >= smRequest' });
  });

  it('treats 5xx, timeouts and refused connections as unavailable', async () => {
    const client = clientFor({ baseUrl: double.url, timeoutMs: 100 });
    double.failWith = 503;
    expect(await client.place(request)).toEqual({
      kind: 'unavailable',
      message: 'placement service answered HTTP 503: placement double told to fail',
    });
    double.failWith = undefined;
    double.delayMs = 500;
    const slow = await client.place(request);
    double.delayMs = 0;
    expect(slow).toEqual({
      kind: 'unavailable',
      message: `placement service ${double.url} did not answer in time`,
    });

    const closed = http.createServer();
    await new Promise<void>(r => closed.listen(0, '127.0.0.1', r));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>(r =>
      closed.close(() => {
        r();
      }),
    );
    const refused = await clientFor({ baseUrl: `http://127.0.0.1:${port}` }).place(request);
    expect(refused.kind).toBe('unavailable');
    if (refused.kind === 'unavailable') expect(refused.message).toContain('ECONNREFUSED');
  });

  it('stops waiting when the admission deadline aborts the call', async () => {
    double.delayMs = 2000;
    const client = clientFor({ baseUrl: double.url });
    const controller = new AbortController();
    setTimeout(() => {
      controller.abort();
    }, 50);
    const started = Date.now();
    const r = await client.place(request, controller.signal);
    double.delayMs = 0;
    expect(r.kind).toBe('unavailable');
    expect(Date.now() - started).toBeLessThan(1000);
  });

  it('refuses an answer that breaks the contract', async () => {
    const liar = http.createServer((_req, res) => {
      res
        .writeHead(200, { 'content-type': 'application/json' })
        .end('{"reservation":"r","node":"n","gpuIndex":-1}');
    });
    await new Promise<void>(r => liar.listen(0, '127.0.0.1', r));
    const { port } = liar.address() as AddressInfo;
    try {
      const r = await clientFor({ baseUrl: `http://127.0.0.1:${port}` }).place(request);
      expect(r.kind).toBe('unavailable');
      if (r.kind === 'unavailable')
        expect(r.message).toMatch(
          /^placement service answered 200 with an invalid Placement \(gpuIndex: /,
        );
    } finally {
      liar.closeAllConnections();
      await new Promise<void>(r =>
        liar.close(() => {
          r();
        }),
      );
    }
  });

  it('refuses an answer larger than 1 MiB without reading it all', async () => {
    const flood = http.createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(`{"padding":"${'x'.repeat(2 << 20)}"}`);
    });
    await new Promise<void>(r => flood.listen(0, '127.0.0.1', r));
    const { port } = flood.address() as AddressInfo;
    try {
      const r = await clientFor({ baseUrl: `http://127.0.0.1:${port}` }).place(request);
      expect(r).toEqual({
        kind: 'unavailable',
        message: `placement service http://127.0.0.1:${port} answered with more than 1048576 bytes`,
      });
    } finally {
      flood.closeAllConnections();
      await new Promise<void>(r => flood.close(() => r()));
    }
  });

  it('keeps the path of a base URL behind a prefix', async () => {
    const seen: string[] = [];
    const prefixed = http.createServer((req, res) => {
      seen.push(`${req.method} ${req.url}`);
      res.writeHead(204).end();
    });
    await new Promise<void>(r => prefixed.listen(0, '127.0.0.1', r));
    const { port } = prefixed.address() as AddressInfo;
    try {
      await clientFor({ baseUrl: `http://127.0.0.1:${port}/dilu/` }).release('r-1');
      expect(seen).toEqual(['DELETE /dilu/v1/placements/r-1']);
    } finally {
      prefixed.closeAllConnections();
      await new Promise<void>(r => prefixed.close(() => r()));
    }
  });
});

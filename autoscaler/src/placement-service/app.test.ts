import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { pino } from 'pino';
import { createPlacementApp } from './app.js';
import { PlacementServiceMetrics } from './metrics.js';
import type { PlacementService } from './service.js';
import { createPlacementService } from './service.js';
import { gpuNode } from './test-objects.js';

let server: http.Server;
let base: string;
let service: PlacementService;
let waiting: string[] = [];
const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });

beforeAll(async () => {
  service = createPlacementService();
  // 4 nodes x 2 GPUs: 8 GPUs, room for 32 instances of r = 25.
  for (let n = 0; n < 4; n++) service.applyNode(gpuNode(`gpu-${n}`, 2));
  const app = createPlacementApp({
    service,
    metrics: new PlacementServiceMetrics({ defaultMetrics: false }),
    log: pino({ level: 'silent' }),
    notReady: () => waiting,
  });
  server = http.createServer(app);
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  agent.destroy();
  await new Promise<void>(resolve =>
    server.close(() => {
      resolve();
    }),
  );
});

function call(
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; json: unknown }> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      `${base}${path}`,
      { method, agent, headers: { 'content-type': 'application/json' } },
      res => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString();
          const isJson = (res.headers['content-type'] ?? '').includes('json');
          resolve({
            status: res.statusCode ?? 0,
            json: isJson ? (JSON.parse(text) as unknown) : text,
          });
        });
      },
    );
    req.on('error', reject);
    req.end(body === undefined ? undefined : JSON.stringify(body));
  });
}

const body = {
  namespace: 'fns',
  generateName: 'resnet-00001-deployment-5f7c9d8b6d-',
  function: 'knative.fns.resnet-00001',
  class: 'latency-critical',
  smRequest: 25,
  // Four per GPU: Σr = 100 and Σl = 148 within the dilu placer's 150 % limit cap.
  smLimit: 37,
  memoryMiB: 3300,
};

interface Placement {
  reservation: string;
  node: string;
  gpuIndex: number;
  memoryUnits: number;
}

describe('placement API over HTTP', () => {
  it('never gives the same capacity to concurrent requests', async () => {
    const answers = await Promise.all(
      Array.from({ length: 100 }, () => call('POST', '/v1/placements', body)),
    );
    const placed = answers.filter(a => a.status === 200).map(a => a.json as Placement);
    const refused = answers.filter(a => a.status === 409);
    expect(placed).toHaveLength(32);
    expect(refused).toHaveLength(68);
    expect(refused[0]?.json).toMatchObject({
      error: 'no GPU fits',
      details: { smRequest: 25, gpus: 8 },
    });
    expect(new Set(placed.map(p => p.reservation)).size).toBe(32);
    const perGpu = new Map<string, number>();
    for (const p of placed)
      perGpu.set(`${p.node}/${p.gpuIndex}`, (perGpu.get(`${p.node}/${p.gpuIndex}`) ?? 0) + 25);
    expect([...perGpu.values()]).toEqual(Array.from({ length: 8 }, () => 100));
    expect(placed[0]?.memoryUnits).toBe(13);

    // Giving reservations back (twice is fine) frees exactly that much.
    for (const p of placed.slice(0, 3)) {
      expect((await call('DELETE', `/v1/placements/${p.reservation}`)).status).toBe(204);
      expect((await call('DELETE', `/v1/placements/${p.reservation}`)).status).toBe(204);
    }
    const again = await Promise.all(
      Array.from({ length: 10 }, () => call('POST', '/v1/placements', body)),
    );
    expect(again.filter(a => a.status === 200)).toHaveLength(3);
  });

  it.each([
    [{ ...body, smRequest: 'lots' }, 'smRequest: Invalid input: expected number, received string'],
    [{ ...body, smLimit: 10 }, 'smLimit: must be >= smRequest'],
    [{ ...body, class: 'batch' }, 'class: '],
    [{ ...body, memoryMB: 1 }, '(body): Unrecognized key: "memoryMB"'],
    [{ ...body, namespace: undefined }, 'namespace: '],
  ])('answers 400 naming the field (%#)', async (bad, message) => {
    const r = await call('POST', '/v1/placements', bad);
    expect(r.status).toBe(400);
    expect((r.json as { error: string }).error).toContain(message);
  });

  it('answers 503 until the caches have synced', async () => {
    waiting = ['pods'];
    try {
      const r = await call('POST', '/v1/placements', body);
      expect(r).toEqual({
        status: 503,
        json: { error: 'placement service is starting: waiting for pods' },
      });
      expect((await call('GET', '/readyz')).status).toBe(503);
    } finally {
      waiting = [];
    }
  });
});

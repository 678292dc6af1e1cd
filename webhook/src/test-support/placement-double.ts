import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { z } from 'zod';

/**
 * A stand-in for the autoscaler's placement service at its HTTP boundary
 * (docs/contracts/placement-api.md), for tests and the load benchmark: real HTTP on 127.0.0.1,
 * request validation as the contract states it, first-fit over a fixed set of GPUs, and
 * reservations. It is not the placement policy (complementary scoring lives in the autoscaler).
 */
export interface DoubleGpu {
  readonly node: string;
  readonly index: number;
  smFree: number;
  memUnitsFree: number;
}

export interface PlacementDouble {
  readonly url: string;
  readonly requests: unknown[];
  readonly released: string[];
  readonly gpus: DoubleGpu[];
  /** Answer every request with this HTTP status (500, 503) or delay; undefined = normal. */
  failWith: number | undefined;
  delayMs: number;
  close(): Promise<void>;
}

const requestSchema = z.strictObject({
  namespace: z.string().min(1),
  podName: z.string().min(1).optional(),
  generateName: z.string().min(1).optional(),
  function: z.string().min(1),
  class: z.enum(['latency-critical', 'best-effort']),
  smRequest: z.number().int().min(1).max(100),
  smLimit: z.number().int().min(1).max(100),
  memoryMiB: z.number().int().min(1),
});

export async function startPlacementDouble(options: {
  gpus: { node: string; index: number; memUnits: number }[];
  memoryUnitMiB?: number;
  /**
   * False: answer every fitting request from the full capacity without holding it, as if each
   * pod went away at once (the load benchmark places far more pods than GPUs could hold).
   * @default true
   */
  holdCapacity?: boolean;
  /** Keep every request body in `requests` (tests assert on them). @default true */
  record?: boolean;
}): Promise<PlacementDouble> {
  const recording = options.record ?? true;
  const hold = options.holdCapacity ?? true;
  const unit = options.memoryUnitMiB ?? 256;
  const gpus: DoubleGpu[] = options.gpus.map(g => ({
    node: g.node,
    index: g.index,
    smFree: 100,
    memUnitsFree: g.memUnits,
  }));
  const held = new Map<string, { gpu: DoubleGpu; sm: number; units: number }>();
  const state = { failWith: undefined as number | undefined, delayMs: 0 };
  const delayed = new Set<NodeJS.Timeout>();
  const requests: unknown[] = [];
  const released: string[] = [];

  const send = (res: http.ServerResponse, status: number, body?: unknown): void => {
    if (body === undefined) {
      res.writeHead(status).end();
      return;
    }
    const text = JSON.stringify(body);
    res.writeHead(status, {
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(text),
    });
    res.end(text);
  };

  const place = (body: unknown, res: http.ServerResponse): void => {
    if (recording) requests.push(body);
    const parsed = requestSchema.safeParse(body);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      send(res, 400, {
        error: `${issue?.path.map(String).join('.') ?? ''}: ${issue?.message ?? 'invalid'}`,
      });
      return;
    }
    const req = parsed.data;
    if (req.smLimit < req.smRequest) {
      send(res, 400, { error: 'smLimit: must be >= smRequest' });
      return;
    }
    const units = Math.ceil(req.memoryMiB / unit);
    const gpu = gpus.find(g => g.smFree >= req.smRequest && g.memUnitsFree >= units);
    if (!gpu) {
      send(res, 409, {
        error: 'no GPU fits',
        details: { smRequest: req.smRequest, memoryUnits: units },
      });
      return;
    }
    const reservation = `r-${randomUUID()}`;
    if (hold) {
      gpu.smFree -= req.smRequest;
      gpu.memUnitsFree -= units;
      held.set(reservation, { gpu, sm: req.smRequest, units });
    }
    send(res, 200, {
      reservation,
      node: gpu.node,
      gpuIndex: gpu.index,
      memoryUnits: units,
      expiresAt: new Date(Date.now() + 120_000).toISOString(),
    });
  };

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const respond = (): void => {
        if (state.failWith !== undefined) {
          send(res, state.failWith, { error: 'placement double told to fail' });
          return;
        }
        const url = req.url ?? '';
        if (req.method === 'POST' && url === '/v1/placements') {
          let body: unknown;
          try {
            body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
          } catch {
            send(res, 400, { error: 'body: not JSON' });
            return;
          }
          place(body, res);
          return;
        }
        const m = /^\/v1\/placements\/([^/]+)$/.exec(url);
        if (req.method === 'DELETE' && m?.[1]) {
          const id = decodeURIComponent(m[1]);
          const h = held.get(id);
          if (h) {
            h.gpu.smFree += h.sm;
            h.gpu.memUnitsFree += h.units;
            held.delete(id);
          }
          released.push(id);
          send(res, 204);
          return;
        }
        send(res, 404, { error: 'not found' });
      };
      if (state.delayMs > 0) {
        // Dropped on close: a delayed answer must not keep a finished test's process alive.
        const timer = setTimeout(() => {
          delayed.delete(timer);
          respond();
        }, state.delayMs);
        delayed.add(timer);
      } else respond();
    });
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    released,
    gpus,
    get failWith() {
      return state.failWith;
    },
    set failWith(v) {
      state.failWith = v;
    },
    get delayMs() {
      return state.delayMs;
    },
    set delayMs(v) {
      state.delayMs = v;
    },
    close: () =>
      new Promise<void>(resolve => {
        for (const timer of delayed) clearTimeout(timer);
        delayed.clear();
        server.close(() => {
          resolve();
        });
        server.closeAllConnections();
      }),
  };
}

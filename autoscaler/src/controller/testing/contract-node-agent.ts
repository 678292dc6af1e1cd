import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { createServer as createHttpServer } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { Allocation } from '../nodeagent/node-agent-client.js';
import { close, listen } from './listen.js';

export interface QuotaWrite {
  readonly atMs: number;
  readonly allocationId: string;
  readonly pod: string | undefined;
  readonly from: number;
  readonly to: number;
  readonly status: number;
}

export interface ContractNodeAgent {
  readonly url: string;
  readonly port: number;
  put(allocation: Omit<Allocation, 'generation'> & { generation?: number }): void;
  remove(allocationId: string): void;
  list(): Allocation[];
  /** Every PUT quota request answered, in order. */
  writes(): readonly QuotaWrite[];
  close(): Promise<void>;
}

interface GpuInfo {
  readonly index: number;
  readonly uuid: string;
  readonly name: string;
  readonly memoryMiB: number;
}

/**
 * A server that implements docs/contracts/node-agent-api.md and nothing else: bearer tokens
 * (unknown → 401, known but not allowed → 403), the four routes, JSON errors naming the
 * field, 409 when Σ quota on a GPU would pass 100. It stands in for the device plugin's node
 * agent where that cannot run (no kubelet, no GPU); allocations are put in by the test, as
 * the device plugin's Allocate would create them.
 */
export async function startContractNodeAgent(opts: {
  readonly host: string;
  readonly port: number;
  readonly tls?: { readonly key: string; readonly cert: string } | undefined;
  /** Tokens accepted. */
  readonly allowedTokens: readonly string[];
  /** Tokens that authenticate but are not allowed (→ 403). */
  readonly knownTokens?: readonly string[];
  readonly gpus?: readonly GpuInfo[];
}): Promise<ContractNodeAgent> {
  const allocations = new Map<string, Allocation>();
  const writes: QuotaWrite[] = [];
  const gpus = opts.gpus ?? [
    { index: 0, uuid: 'GPU-emulated-0', name: 'emulated', memoryMiB: 40960 },
  ];
  const send = (res: ServerResponse, status: number, body: unknown): void => {
    res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  };
  const quotaSum = (gpu: number): number =>
    [...allocations.values()].filter(a => a.gpuIndex === gpu).reduce((s, a) => s + a.quota, 0);

  const authorized = (req: IncomingMessage, res: ServerResponse): boolean => {
    const auth = req.headers.authorization ?? '';
    const token = auth.startsWith('Bearer ') ? auth.slice(7) : '';
    if (opts.allowedTokens.includes(token)) return true;
    if ((opts.knownTokens ?? []).includes(token)) send(res, 403, { error: 'not allowed' });
    else send(res, 401, { error: 'no valid bearer token' });
    return false;
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    if (!authorized(req, res)) return;
    const path = new URL(req.url ?? '/', 'http://agent').pathname;
    const m = /^\/v1\/allocations\/([^/]+)(\/quota)?$/.exec(path);
    const id = decodeURIComponent(m?.[1] ?? '');
    const route = `${req.method ?? ''} ${m === null ? path : m[2] === undefined ? 'one' : 'quota'}`;
    switch (route) {
      case 'GET /v1/gpus':
        send(res, 200, gpus.map(gpuView));
        return;
      case 'GET /v1/allocations':
        send(res, 200, [...allocations.values()]);
        return;
      case 'GET one': {
        const a = allocations.get(id);
        send(res, a === undefined ? 404 : 200, a ?? { error: 'no such allocation' });
        return;
      }
      case 'PUT quota':
        await putQuota(id, req, res);
        return;
      default:
        send(res, 404, { error: 'no such route' });
    }
  };

  const gpuView = (g: GpuInfo): Record<string, unknown> => {
    const on = [...allocations.values()].filter(a => a.gpuIndex === g.index);
    return {
      ...g,
      healthy: true,
      smRequested: on.reduce((s, a) => s + a.smRequest, 0),
      quotaSum: quotaSum(g.index),
      memoryAllocatedMiB: on.reduce((s, a) => s + a.memoryMiB, 0),
      allocations: on.length,
    };
  };

  const putQuota = async (id: string, req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const a = allocations.get(id);
    const answer = (status: number, body: unknown, to = NaN): void => {
      writes.push({
        atMs: Date.now(),
        allocationId: id,
        pod: a?.pod?.name,
        from: a?.quota ?? NaN,
        to,
        status,
      });
      send(res, status, body);
    };
    let body: unknown;
    try {
      body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    } catch {
      answer(400, { error: 'body is not JSON', field: 'body' });
      return;
    }
    const quota = (body as { quota?: unknown } | null)?.quota;
    if (typeof quota !== 'number' || !Number.isInteger(quota)) {
      answer(400, { error: 'quota must be an integer', field: 'quota' });
      return;
    }
    if (a === undefined) {
      answer(404, { error: `no allocation ${id}` }, quota);
      return;
    }
    if (quota < a.smRequest || quota > a.smLimit) {
      answer(
        400,
        { error: `quota ${quota} outside [${a.smRequest}, ${a.smLimit}]`, field: 'quota' },
        quota,
      );
      return;
    }
    if (quotaSum(a.gpuIndex) - a.quota + quota > 100) {
      answer(409, { error: `GPU ${a.gpuIndex}: quotas would sum over 100` }, quota);
      return;
    }
    const next = { ...a, quota, generation: a.generation + 1 };
    allocations.set(id, next);
    answer(200, next, quota);
  };

  const listener = (req: IncomingMessage, res: ServerResponse): void => {
    handle(req, res).catch((err: unknown) => {
      send(res, 500, { error: String(err) });
    });
  };
  const server: Server =
    opts.tls === undefined ? createHttpServer(listener) : createHttpsServer(opts.tls, listener);
  const port = await listen(server, opts.host, opts.port);
  return {
    url: `${opts.tls === undefined ? 'http' : 'https'}://${opts.host}:${port}`,
    port,
    put(a) {
      allocations.set(a.allocationId, { ...a, generation: a.generation ?? 1 });
    },
    remove(id) {
      allocations.delete(id);
    },
    list: () => [...allocations.values()],
    writes: () => writes,
    close: () => close(server),
  };
}

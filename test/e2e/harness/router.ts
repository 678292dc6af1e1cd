// The data path in front of the function pods, as the platforms provide it: a reverse proxy
// that spreads requests round-robin over the ready pods of a function, holds a request while
// the function has no ready pod (Knative's activator, OpenFaaS's scale-from-zero wait), and
// sends it to another pod when one refuses it while draining (the runtime answers 503 after
// SIGTERM so that the gateway retries elsewhere). Pods are read from the API server, ready
// ones only, as endpoints would list them.
import { createServer, request, Agent, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CoreV1Api, type KubeConfig, type V1Pod } from '@kubernetes/client-node';

/** Reads a flag another closure sets (a loop's stop signal), unnarrowed. */
const flag = (read: () => boolean): boolean => read();

export interface Route {
  /** Name in metrics and reports. */
  readonly name: string;
  readonly namespace: string;
  readonly podSelector: string;
  /** Port on the pod's IP that takes the requests (queue-proxy 8012, function 8080). */
  readonly port: number;
}

export interface RouterStats {
  readonly accepted: number;
  readonly answered: Readonly<Record<string, number>>;
  readonly retries: number;
  /** Requests held because no pod was ready, at any time. */
  readonly held: number;
}

export interface Router {
  readonly url: string;
  readonly port: number;
  stats(route: string): RouterStats;
  /** Ready pod addresses of a route as the router last saw them. */
  backends(route: string): readonly string[];
  /** Per-request observer (gateway metrics). */
  onAnswer(fn: (route: string, code: number, seconds: number) => void): void;
  close(): Promise<void>;
}

function isReady(p: V1Pod): boolean {
  return (
    p.metadata?.deletionTimestamp === undefined &&
    p.status?.podIP !== undefined &&
    (p.status.conditions ?? []).some(c => c.type === 'Ready' && c.status === 'True')
  );
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

interface Attempt {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: Buffer;
}

export async function startRouter(opts: {
  readonly kc: KubeConfig;
  /** Picks the route of a request (by path or Host), or undefined for 404. */
  readonly route: (req: IncomingMessage) => { route: Route; path: string } | undefined;
  readonly routes: readonly Route[];
  readonly host?: string;
  readonly activationTimeoutMs?: number;
}): Promise<Router> {
  const core = opts.kc.makeApiClient(CoreV1Api);
  const agent = new Agent({ keepAlive: true, maxSockets: 64 });
  const ready = new Map<string, string[]>();
  const stats = new Map<
    string,
    { accepted: number; answered: Record<string, number>; retries: number; held: number }
  >();
  const observers: ((route: string, code: number, seconds: number) => void)[] = [];
  let next = 0;
  let closed = false;

  for (const r of opts.routes)
    stats.set(r.name, { accepted: 0, answered: {}, retries: 0, held: 0 });

  const refresh = async (): Promise<void> => {
    for (const r of opts.routes) {
      const pods = await core.listNamespacedPod({
        namespace: r.namespace,
        labelSelector: r.podSelector,
      });
      ready.set(
        r.name,
        pods.items.filter(isReady).map(p => `${p.status?.podIP ?? ''}:${r.port}`),
      );
    }
  };
  await refresh();
  const poll = (async () => {
    // Set by stop() from outside this loop, so it is read through a call.
    while (!flag(() => closed)) {
      await new Promise(r => setTimeout(r, 200));
      await refresh().catch(() => undefined);
    }
  })();

  const attempt = (
    backend: string,
    req: IncomingMessage,
    path: string,
    body: Buffer,
  ): Promise<Attempt> =>
    new Promise((resolve, reject) => {
      const [host, port] = backend.split(':');
      const out = request(
        {
          host,
          port: Number(port),
          method: req.method,
          path,
          agent,
          timeout: 60_000,
          headers: { ...req.headers, host: backend },
        },
        res => {
          void readBody(res).then(
            b => resolve({ status: res.statusCode ?? 502, headers: res.headers, body: b }),
            reject,
          );
        },
      );
      out.on('timeout', () => out.destroy(new Error('backend timed out')));
      out.on('error', reject);
      out.end(body);
    });

  /** Tries ready pods in turn; waits for one while none is ready. */
  const forward = async (
    route: Route,
    req: IncomingMessage,
    path: string,
    body: Buffer,
  ): Promise<Attempt> => {
    const s = stats.get(route.name)!;
    const deadline = Date.now() + (opts.activationTimeoutMs ?? 60_000);
    let tries = 0;
    let heldOnce = false;
    for (;;) {
      const backends = ready.get(route.name) ?? [];
      if (backends.length === 0) {
        if (!heldOnce) s.held++;
        heldOnce = true;
        if (Date.now() > deadline) {
          return { status: 503, headers: {}, body: Buffer.from('no ready instance in time\n') };
        }
        await new Promise(r => setTimeout(r, 50));
        continue;
      }
      const backend = backends[next++ % backends.length]!;
      try {
        const a = await attempt(backend, req, path, body);
        // 503 from a draining instance: another instance takes the request.
        if (a.status === 503 && tries < 10 && Date.now() < deadline) {
          tries++;
          s.retries++;
          continue;
        }
        return a;
      } catch (err) {
        // Refused or reset before any answer: the instance went away; try another.
        if (tries < 10 && Date.now() < deadline) {
          tries++;
          s.retries++;
          await new Promise(r => setTimeout(r, 20));
          continue;
        }
        return { status: 502, headers: {}, body: Buffer.from(`${(err as Error).message}\n`) };
      }
    }
  };

  const server: Server = createServer((req, res) => {
    const picked = opts.route(req);
    if (picked === undefined) {
      res.writeHead(404).end('no such function\n');
      return;
    }
    const s = stats.get(picked.route.name)!;
    s.accepted++;
    const t0 = performance.now();
    void readBody(req)
      .then(body => forward(picked.route, req, picked.path, body))
      .then(
        a => {
          s.answered[String(a.status)] = (s.answered[String(a.status)] ?? 0) + 1;
          for (const o of observers)
            o(picked.route.name, a.status, (performance.now() - t0) / 1000);
          const headers = { ...a.headers };
          delete headers['transfer-encoding'];
          delete headers['connection'];
          res.writeHead(a.status, headers).end(a.body);
        },
        (err: unknown) => {
          s.answered['500'] = (s.answered['500'] ?? 0) + 1;
          res.writeHead(500).end(String(err));
        },
      );
  });
  // Idle keep-alive connections stay open longer than any client here keeps them, as a load
  // balancer's do; otherwise a client can reuse a socket the server is closing (ECONNRESET).
  server.keepAliveTimeout = 120_000;
  server.headersTimeout = 121_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, opts.host ?? '127.0.0.1', resolve);
  });
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://${opts.host ?? '127.0.0.1'}:${port}`,
    port,
    stats: name => {
      const s = stats.get(name);
      if (s === undefined) throw new Error(`no route ${name}`);
      return { ...s, answered: { ...s.answered } };
    },
    backends: name => ready.get(name) ?? [],
    onAnswer: fn => observers.push(fn),
    async close() {
      closed = true;
      await poll;
      agent.destroy();
      server.closeAllConnections();
      await new Promise<void>(resolve => server.close(() => resolve()));
    },
  };
}

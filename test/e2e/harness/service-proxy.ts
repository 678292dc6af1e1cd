// A Service in front of several replicas that run as local processes (kube-proxy's job, and
// the endpoints controller's: only replicas whose readiness probe passes get traffic). The
// autoscaler's replicas are behind one, so the webhook's placement calls reach the leader,
// which alone is Ready, as they would through the dilu-autoscaler Service.
import { createServer, request, Agent, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** Reads a flag another closure sets (a loop's stop signal), unnarrowed. */
const flag = (read: () => boolean): boolean => read();

export interface ServiceProxy {
  readonly url: string;
  /** The backends that passed their last readiness probe. */
  ready(): readonly string[];
  close(): Promise<void>;
}

function probe(backend: string, path: string): Promise<boolean> {
  return new Promise(resolve => {
    const r = request(`http://${backend}${path}`, { timeout: 1000 }, res => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    r.on('timeout', () => r.destroy());
    r.on('error', () => resolve(false));
    r.end();
  });
}

export async function startServiceProxy(opts: {
  /** host:port of each replica. */
  readonly backends: () => readonly string[];
  readonly readinessPath: string;
  readonly periodMs?: number;
}): Promise<ServiceProxy> {
  const agent = new Agent({ keepAlive: true });
  let ready: string[] = [];
  let next = 0;
  let closed = false;
  const refresh = async (): Promise<void> => {
    const all = opts.backends();
    const ok = await Promise.all(all.map(b => probe(b, opts.readinessPath)));
    ready = all.filter((_, i) => ok[i]);
  };
  await refresh();
  const loop = (async () => {
    // Set by stop() from outside this loop, so it is read through a call.
    while (!flag(() => closed)) {
      await new Promise(r => setTimeout(r, opts.periodMs ?? 250));
      await refresh();
    }
  })();
  const server: Server = createServer((req, res) => {
    const backend = ready.length === 0 ? undefined : ready[next++ % ready.length];
    if (backend === undefined) {
      // No endpoints: the connection is refused in a cluster; here the closest is a reset.
      req.socket.destroy();
      return;
    }
    const out = request(
      `http://${backend}${req.url ?? '/'}`,
      { method: req.method, headers: req.headers, agent },
      up => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      },
    );
    out.on('error', () => req.socket.destroy());
    req.pipe(out);
  });
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    ready: () => ready,
    async close() {
      closed = true;
      await loop;
      agent.destroy();
      server.closeAllConnections();
      await new Promise<void>(resolve => server.close(() => resolve()));
    },
  };
}

// What runs for each image in the e2e, on the pod's own loopback address:
//
// - a function built from templates/openfaas/python3-http-gpu: the template's `python index.py`
//   (the Dilu runtime) on <pod IP>:5000, behind a stand-in for of-watchdog on <pod IP>:8080
//   (http mode: /_/health and /_/ready ask the runtime's /healthz, everything else is proxied;
//   the real watchdog binds every address's port 8080, which pods sharing one machine cannot);
// - a function built from templates/knative/python-gpu: the func middleware serving the
//   template (what the func Python buildpack runs) on <pod IP>:8080;
// - Knative's queue-proxy: a stand-in on <pod IP>:8012 that proxies to the user container,
//   answers the activator's and kubelet's probes from the user container's readiness, counts
//   what it proxies, and reports the protobuf Stat on :9090 that the autoscaler scrapes;
// - on SIGTERM both stand-ins stop taking new requests (503, so the router retries elsewhere)
//   and wait for those in flight, as the real ones drain.
//
// Functions run their real runtime with the emulated GPU (DILU_GPU_BACKEND=emulated, GPU time
// from the function's profile): batching, the quota file, the duty cycle, metrics and drain
// are the production code paths. The emulation settings are part of what stands in for the
// image, not of the pod spec.
import {
  createServer,
  request,
  Agent,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import { startEmulatedQueueProxy } from '@dilu/autoscaler/controller/testing';
import type { ExitStatus } from '../../testbed/processes.js';
import {
  processContainer,
  type ContainerLaunch,
  type ContainerRuntime,
  type RunningContainer,
} from './containers.js';

export interface FunctionImage {
  /** Image reference in the pod spec. */
  readonly image: string;
  readonly kind: 'openfaas' | 'knative';
  /** The instantiated function: the build context (OpenFaaS) or the function folder (func). */
  readonly dir: string;
  /** Profile the emulated GPU takes its timing from. */
  readonly profileFile: string;
}

export const QUEUE_PROXY_IMAGE = 'gcr.io/knative-releases/knative.dev/serving/cmd/queue:v1.23.0';

/** A small HTTP front that forwards to an upstream and drains on stop. */
interface Front {
  readonly inFlight: () => number;
  /** Requests started within the last second, and the mean in-flight count over it. */
  readonly lastSecond: () => { requests: number; concurrency: number };
  drainAndClose(graceMs: number): Promise<void>;
}

async function startFront(opts: {
  host: string;
  port: number;
  upstream: { host: string; port: number };
  /** Answers a request itself (probes), or returns false to proxy it. */
  local: (req: IncomingMessage, res: ServerResponse, draining: boolean) => Promise<boolean>;
}): Promise<Front> {
  const agent = new Agent({ keepAlive: true, maxSockets: 256 });
  let inFlight = 0;
  let draining = false;
  const starts: number[] = [];
  const samples: number[] = [];
  const sampler = setInterval(() => {
    samples.push(inFlight);
    if (samples.length > 10) samples.shift();
  }, 100);
  const server: Server = createServer((req, res) => {
    void opts.local(req, res, draining).then(handled => {
      if (handled) return;
      if (draining) {
        res.writeHead(503, { 'content-type': 'text/plain' }).end('draining\n');
        return;
      }
      inFlight++;
      starts.push(Date.now());
      const done = (): void => {
        inFlight--;
      };
      const out = request(
        {
          host: opts.upstream.host,
          port: opts.upstream.port,
          method: req.method,
          path: req.url,
          headers: req.headers,
          agent,
        },
        up => {
          res.writeHead(up.statusCode ?? 502, up.headers);
          up.pipe(res);
          up.on('end', done);
          up.on('error', done);
        },
      );
      out.on('error', err => {
        done();
        if (!res.headersSent) res.writeHead(502).end(`upstream: ${err.message}\n`);
      });
      req.pipe(out);
    });
  });
  server.keepAliveTimeout = 120_000;
  server.headersTimeout = 121_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, resolve);
  });
  return {
    inFlight: () => inFlight,
    lastSecond: () => {
      const since = Date.now() - 1000;
      while (starts.length > 0 && (starts[0] ?? 0) < since) starts.shift();
      const mean = samples.length === 0 ? 0 : samples.reduce((a, b) => a + b, 0) / samples.length;
      return { requests: starts.length, concurrency: mean };
    },
    async drainAndClose(graceMs) {
      draining = true;
      const deadline = Date.now() + graceMs;
      while (inFlight > 0 && Date.now() < deadline) await new Promise(r => setTimeout(r, 20));
      clearInterval(sampler);
      server.closeAllConnections();
      await new Promise<void>(resolve => server.close(() => resolve()));
      agent.destroy();
    },
  };
}

function getStatus(host: string, port: number, path: string): Promise<number> {
  return new Promise(resolve => {
    const r = request({ host, port, path, method: 'GET', timeout: 2000 }, res => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    r.on('timeout', () => r.destroy());
    r.on('error', () => resolve(0));
    r.end();
  });
}

/** A process and an in-process front that exit together. */
function composite(proc: RunningContainer, front: Front): RunningContainer {
  return {
    exited: proc.exited,
    async stop(graceMs) {
      // The runtime drains on SIGTERM while the front refuses new work and waits for its own.
      await Promise.all([proc.stop(graceMs), front.drainAndClose(graceMs)]);
    },
  };
}

const SCAFFOLD = 'from func_python.http import serve\nfrom function import new\nserve(new)\n';

export function createE2eRuntime(opts: {
  readonly python: string;
  readonly functions: readonly FunctionImage[];
}): ContainerRuntime {
  return (launch: ContainerLaunch) => {
    const image = launch.container.image ?? '';
    if (image === QUEUE_PROXY_IMAGE) return startQueueProxy(launch);
    const fn = opts.functions.find(f => f.image === image);
    if (fn === undefined) return undefined;
    const emulation = {
      DILU_GPU_BACKEND: 'emulated',
      DILU_PROFILE_FILE: fn.profileFile,
      PYTHONUNBUFFERED: '1',
    };
    if (fn.kind === 'knative') {
      return Promise.resolve(
        processContainer(launch, opts.python, ['-c', SCAFFOLD], {
          cwd: fn.dir,
          extraEnv: { ...emulation, LISTEN_ADDRESS: `${launch.podIp}:8080` },
        }),
      );
    }
    return startOpenFaasFunction(launch, opts.python, fn, emulation);
  };
}

async function startOpenFaasFunction(
  launch: ContainerLaunch,
  python: string,
  fn: FunctionImage,
  emulation: Record<string, string>,
): Promise<RunningContainer> {
  const upstream = { host: launch.podIp, port: 5000 };
  const proc = processContainer(launch, python, ['index.py'], {
    cwd: fn.dir,
    extraEnv: { ...emulation, DILU_LISTEN: `${upstream.host}:${upstream.port}` },
  });
  const front = await startFront({
    host: launch.podIp,
    port: 8080,
    upstream,
    local: async (req, res, draining) => {
      if (req.url !== '/_/health' && req.url !== '/_/ready') return false;
      const ok = !draining && (await getStatus(upstream.host, upstream.port, '/healthz')) === 200;
      res.writeHead(ok ? 200 : 503).end(ok ? 'OK' : 'not ready');
      return true;
    },
  });
  return composite(proc, front);
}

async function startQueueProxy(launch: ContainerLaunch): Promise<RunningContainer> {
  const userPort = Number(launch.env['USER_PORT'] ?? 8080);
  // Knative moves the user container's readiness probe into the queue-proxy's environment.
  const probe = JSON.parse(launch.env['SERVING_READINESS_PROBE'] ?? '{}') as {
    httpGet?: { path?: string };
  };
  const readiness = probe.httpGet?.path ?? '/';
  const upstream = { host: launch.podIp, port: userPort };
  const front = await startFront({
    host: launch.podIp,
    port: Number(launch.env['QUEUE_SERVING_PORT'] ?? 8012),
    upstream,
    local: async (req, res, draining) => {
      if (req.headers['k-network-probe'] === undefined) return false;
      const ok = !draining && (await getStatus(upstream.host, upstream.port, readiness)) === 200;
      res.writeHead(ok ? 200 : 503).end(ok ? 'queue' : 'not ready');
      return true;
    },
  });
  const stats = await startEmulatedQueueProxy({
    host: launch.podIp,
    port: 9090,
    podName: launch.pod.metadata?.name ?? '',
    stat: () => {
      const s = front.lastSecond();
      return {
        requestCount: s.requests,
        averageConcurrentRequests: s.concurrency,
      };
    },
  });
  let resolveExit: (s: ExitStatus) => void = () => undefined;
  const exited = new Promise<ExitStatus>(r => (resolveExit = r));
  return {
    exited,
    async stop(graceMs) {
      await front.drainAndClose(graceMs);
      await stats.close();
      resolveExit({ code: 0, signal: null });
    },
  };
}

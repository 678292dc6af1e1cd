import { createServer } from 'node:http';
import type { QueueProxyStat } from '../metrics-in/queue-proxy-stat.js';
import { encodeStat, PROTOBUF_CONTENT_TYPE } from '../metrics-in/queue-proxy-stat.js';
import { close, listen } from './listen.js';

export interface EmulatedQueueProxy {
  readonly url: string;
  readonly port: number;
  /** Scrapes answered. */
  scrapes(): number;
  close(): Promise<void>;
}

/**
 * A stand-in for one pod's queue-proxy: a real HTTP server that answers `GET /metrics`
 * with a protobuf `Stat`, the way the real one does (and refuses other Accept headers, as
 * the real one serves only protobuf on that port since 2022). `stat()` gives the figures of
 * the moment, so a test drives the load.
 */
export async function startEmulatedQueueProxy(opts: {
  readonly host: string;
  readonly port: number;
  readonly podName: string;
  readonly stat: () => Partial<QueueProxyStat>;
}): Promise<EmulatedQueueProxy> {
  const started = Date.now();
  let scrapes = 0;
  const server = createServer((req, res) => {
    if (req.method !== 'GET' || req.url !== '/metrics') {
      res.writeHead(404).end();
      return;
    }
    if (!(req.headers.accept ?? '').includes(PROTOBUF_CONTENT_TYPE)) {
      res.writeHead(406, { 'content-type': 'text/plain' }).end('protobuf only');
      return;
    }
    scrapes++;
    const s = opts.stat();
    const body = encodeStat({
      podName: opts.podName,
      averageConcurrentRequests: 0,
      averageProxiedConcurrentRequests: 0,
      requestCount: 0,
      proxiedRequestCount: 0,
      processUptime: (Date.now() - started) / 1000,
      timestamp: Math.floor(Date.now() / 1000),
      ...s,
    });
    res.writeHead(200, { 'content-type': PROTOBUF_CONTENT_TYPE }).end(Buffer.from(body));
  });
  const port = await listen(server, opts.host, opts.port);
  return {
    url: `http://${opts.host}:${port}/metrics`,
    port,
    scrapes: () => scrapes,
    close: () => close(server),
  };
}

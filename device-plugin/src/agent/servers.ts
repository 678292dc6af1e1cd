import { createServer as createHttpServer } from 'node:http';
import type { Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import express from 'express';
import type { Express } from 'express';
import type { DevicePluginMetrics } from '../metrics/metrics.js';
import type { TlsMaterial } from './tls.js';

export interface Listening {
  readonly server: Server;
  readonly port: number;
  close(): Promise<void>;
}

function listen(server: Server, host: string, port: number): Promise<Listening> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve({
        server,
        port: (server.address() as AddressInfo).port,
        close: () =>
          new Promise<void>(done => {
            server.close(() => {
              done();
            });
            server.closeAllConnections();
          }),
      });
    });
  });
}

/** The node agent API over HTTPS. */
export function listenHttps(
  app: Express,
  tls: TlsMaterial,
  host: string,
  port: number,
): Promise<Listening> {
  return listen(
    createHttpsServer({ cert: tls.cert, key: tls.key, minVersion: 'TLSv1.2' }, app),
    host,
    port,
  );
}

/**
 * Probes and metrics on plain HTTP, apart from the API: the kubelet's probes and Prometheus
 * scrape without a token, and none of these endpoints reveals or changes allocations.
 */
export function createOpsApp(deps: {
  readonly metrics: DevicePluginMetrics;
  readonly ready: () => string[];
}): Express {
  const app = express();
  app.disable('x-powered-by');
  app.get('/healthz', (_req, res) => {
    res.type('text/plain').send('ok\n');
  });
  app.get('/readyz', (_req, res) => {
    const missing = deps.ready();
    if (missing.length === 0) res.type('text/plain').send('ready\n');
    else
      res
        .status(503)
        .type('text/plain')
        .send(`not ready: ${missing.join('; ')}\n`);
  });
  app.get('/metrics', async (_req, res) => {
    res
      .set('Content-Type', deps.metrics.registry.contentType)
      .send(await deps.metrics.registry.metrics());
  });
  return app;
}

export function listenHttp(app: Express, host: string, port: number): Promise<Listening> {
  return listen(createHttpServer(app), host, port);
}

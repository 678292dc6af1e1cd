import { createHash } from 'node:crypto';
import type { FSWatcher } from 'node:fs';
import { readFileSync, watch } from 'node:fs';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { dirname } from 'node:path';
import { createSecureContext } from 'node:tls';
import type { RequestListener } from 'node:http';
import type { Logger } from 'pino';
import type { WebhookMetrics } from '../metrics.js';

export interface HttpsServerOptions {
  readonly app: RequestListener;
  readonly certFile: string;
  readonly keyFile: string;
  readonly port: number;
  readonly host: string;
  readonly log: Logger;
  readonly metrics: WebhookMetrics;
  /** Re-check the files this often besides change events (events can be missed). @default 30000 */
  readonly pollMs?: number;
}

export interface RunningServer {
  readonly server: https.Server;
  readonly port: number;
  /** Re-reads the certificate and key; resolves true when a new pair was installed. */
  reload(): boolean;
  close(): Promise<void>;
}

interface KeyPair {
  readonly cert: Buffer;
  readonly key: Buffer;
  readonly digest: string;
}

function readPair(certFile: string, keyFile: string): KeyPair {
  const cert = readFileSync(certFile);
  const key = readFileSync(keyFile);
  // Throws on unreadable PEM and on a key that does not belong to the certificate, so a
  // half-written rotation (new cert, old key) is never installed.
  createSecureContext({ cert, key });
  const digest = createHash('sha256').update(cert).update(key).digest('hex');
  return { cert, key, digest };
}

/**
 * Starts the HTTPS server and keeps its certificate current: a rotated Secret (kubelet swaps
 * the mounted files atomically) is picked up with `setSecureContext`, so new connections get
 * the new certificate without a restart and open connections are not dropped.
 */
export async function startHttpsServer(options: HttpsServerOptions): Promise<RunningServer> {
  const { log, metrics } = options;
  let current = readPair(options.certFile, options.keyFile);
  const server = https.createServer(
    { cert: current.cert, key: current.key, minVersion: 'TLSv1.2' },
    options.app,
  );
  // The API server keeps connections to webhooks alive; idle ones may stay open a while.
  server.keepAliveTimeout = 60_000;
  server.headersTimeout = 15_000;
  server.requestTimeout = 30_000;

  const reload = (): boolean => {
    let next: KeyPair;
    try {
      next = readPair(options.certFile, options.keyFile);
    } catch (err) {
      metrics.tlsReload('failed');
      log.warn(
        { err, cert: options.certFile },
        'certificate files unreadable or mismatched; keeping the current pair',
      );
      return false;
    }
    if (next.digest === current.digest) return false;
    server.setSecureContext({ cert: next.cert, key: next.key });
    current = next;
    metrics.tlsReload('ok');
    log.info({ cert: options.certFile }, 'serving certificate reloaded');
    return true;
  };

  let debounce: NodeJS.Timeout | undefined;
  const onChange = (): void => {
    clearTimeout(debounce);
    debounce = setTimeout(reload, 100);
  };
  const dirs = [...new Set([dirname(options.certFile), dirname(options.keyFile)])];
  const watchers: FSWatcher[] = [];
  for (const dir of dirs) {
    try {
      // The directory, not the files: Secret volumes replace a `..data` symlink, and editors
      // and `mv` replace files, both of which end a watch on the old inode.
      watchers.push(watch(dir, onChange));
    } catch (err) {
      log.warn({ err, dir }, 'cannot watch certificate directory; relying on polling');
    }
  }
  const poll = setInterval(reload, options.pollMs ?? 30_000);
  poll.unref();

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  log.info({ port, host: options.host }, 'webhook listening (HTTPS)');

  return {
    server,
    port,
    reload,
    close: () =>
      new Promise<void>(resolve => {
        clearInterval(poll);
        clearTimeout(debounce);
        for (const w of watchers) w.close();
        server.close(() => {
          resolve();
        });
        server.closeIdleConnections();
      }),
  };
}

// Readiness is observed, never assumed: each check is retried at a short interval until it
// passes, the deadline passes, or the process being waited for has died.
import { request as httpsRequest } from 'node:https';
import { request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';

export class NotReadyError extends Error {
  override name = 'NotReadyError';
}

export interface WaitOptions {
  readonly timeoutMs: number;
  readonly intervalMs?: number;
  /** Returns a reason to stop waiting at once (e.g. the process exited). */
  readonly abortIf?: () => string | undefined;
}

/** Retries `check` until it returns true; the last error it threw is quoted on timeout. */
export async function waitFor(
  what: string,
  check: () => Promise<boolean>,
  opts: WaitOptions,
): Promise<void> {
  const deadline = Date.now() + opts.timeoutMs;
  let last = 'never became ready';
  for (;;) {
    const abort = opts.abortIf?.();
    if (abort !== undefined) throw new NotReadyError(`${what}: ${abort}`);
    try {
      if (await check()) return;
    } catch (err) {
      last = err instanceof Error ? err.message : String(err);
    }
    if (Date.now() >= deadline) {
      throw new NotReadyError(`${what}: not ready after ${opts.timeoutMs} ms (${last})`);
    }
    await delay(opts.intervalMs ?? 200);
  }
}

/** True once something accepts TCP connections on host:port. */
export function tcpAccepts(host: string, port: number): Promise<boolean> {
  return new Promise(resolve => {
    const socket = connect({ host, port });
    socket.setTimeout(1000);
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
    socket.once('timeout', () => done(false));
  });
}

export interface HttpGetResult {
  readonly status: number;
  readonly body: string;
}

/** GET over HTTP or HTTPS; `ca` pins the server's issuer, `token` is sent as a bearer token. */
export function httpGet(
  url: string,
  opts: { ca?: string; token?: string; timeoutMs?: number } = {},
): Promise<HttpGetResult> {
  const u = new URL(url);
  const request = u.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = request(
      u,
      {
        method: 'GET',
        timeout: opts.timeoutMs ?? 5000,
        ...(opts.ca === undefined ? {} : { ca: opts.ca }),
        headers: opts.token === undefined ? {} : { authorization: `Bearer ${opts.token}` },
      },
      res => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`GET ${url}: timed out`)));
    req.on('error', reject);
    req.end();
  });
}

/** A check that passes when GET url answers 200; other answers are reported on timeout. */
export function httpOk(url: string, opts: { ca?: string; token?: string } = {}) {
  return async (): Promise<boolean> => {
    const r = await httpGet(url, opts);
    if (r.status === 200) return true;
    throw new Error(`GET ${url} -> ${r.status}: ${r.body.slice(0, 300).trim()}`);
  };
}

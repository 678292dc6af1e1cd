import type { Dispatcher } from 'undici';
import { Agent, request } from 'undici';

/** A scrape or API call that produced no usable answer; `target` names what was asked. */
export class ScrapeError extends Error {
  readonly target: string;
  constructor(target: string, message: string, options?: ErrorOptions) {
    super(`${target}: ${message}`, options);
    this.name = 'ScrapeError';
    this.target = target;
  }
}

export interface HttpGetOptions {
  readonly timeoutMs: number;
  readonly headers?: Record<string, string>;
  readonly dispatcher?: Dispatcher;
  /** Largest body accepted, bytes. */
  readonly maxBytes?: number;
}

export interface HttpGetResult {
  readonly status: number;
  readonly contentType: string;
  readonly body: Buffer;
}

/** A response body larger than the caller accepts. */
export class BodyTooLargeError extends Error {
  readonly maxBytes: number;
  constructor(maxBytes: number) {
    super(`answer larger than ${maxBytes} bytes`);
    this.name = 'BodyTooLargeError';
    this.maxBytes = maxBytes;
  }
}

/**
 * A whole undici response body, read chunk by chunk: past `maxBytes` the stream is destroyed
 * and BodyTooLargeError thrown, so a misbehaving endpoint cannot make the caller buffer it all.
 */
export async function readBodyLimited(
  body: Dispatcher.ResponseData['body'],
  maxBytes: number,
): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    const b = chunk as Buffer;
    size += b.length;
    if (size > maxBytes) {
      body.destroy();
      throw new BodyTooLargeError(maxBytes);
    }
    chunks.push(b);
  }
  return Buffer.concat(chunks);
}

/** One keep-alive pool for all scrapes: a tick reaches every pod once per second. */
export function createScrapeAgent(): Agent {
  return new Agent({ keepAliveTimeout: 10_000, connections: 4 });
}

/** GET with a hard deadline covering connect, headers and body. */
export async function httpGet(url: string, opts: HttpGetOptions): Promise<HttpGetResult> {
  const signal = AbortSignal.timeout(opts.timeoutMs);
  try {
    const res = await request(url, {
      method: 'GET',
      headers: opts.headers ?? {},
      signal,
      ...(opts.dispatcher === undefined ? {} : { dispatcher: opts.dispatcher }),
    });
    const body = await readBodyLimited(res.body, opts.maxBytes ?? 4 * 1024 * 1024);
    const ct = res.headers['content-type'];
    return {
      status: res.statusCode,
      contentType: (Array.isArray(ct) ? ct[0] : ct) ?? '',
      body,
    };
  } catch (err) {
    if (err instanceof BodyTooLargeError) throw new ScrapeError(url, err.message);
    const why = signal.aborted ? `no answer within ${opts.timeoutMs} ms` : String(err);
    throw new ScrapeError(url, why, { cause: err });
  }
}

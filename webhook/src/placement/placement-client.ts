import { BodyTooLargeError, readBodyLimited } from '@dilu/autoscaler';
import type { Dispatcher } from 'undici';
import { Pool, errors as undiciErrors } from 'undici';
import { z } from 'zod';
import type { FunctionClass } from '../keys.js';

/** `PlacementRequest` of docs/contracts/placement-api.md. */
export interface PlacementRequest {
  readonly namespace: string;
  readonly podName?: string | undefined;
  readonly generateName?: string | undefined;
  readonly function: string;
  readonly class: FunctionClass;
  readonly smRequest: number;
  readonly smLimit: number;
  readonly memoryMiB: number;
}

const placementSchema = z.object({
  reservation: z.string().min(1),
  node: z.string().min(1),
  gpuIndex: z.number().int().min(0),
  memoryUnits: z.number().int().min(1),
  expiresAt: z.string(),
});

/** `Placement` of placement-api.md: a reserved slot on one GPU of one node. */
export type Placement = z.infer<typeof placementSchema>;

export type PlacementOutcome =
  | { readonly kind: 'placed'; readonly placement: Placement }
  /** 409: the cluster has no GPU with room for the instance. */
  | { readonly kind: 'no-fit'; readonly message: string }
  /** Connection refused, timeout, 5xx or an answer that breaks the contract. */
  | { readonly kind: 'unavailable'; readonly message: string }
  /** 400: the service refused the request itself (a bug on this side; never retried). */
  | { readonly kind: 'rejected'; readonly message: string };

export interface PlacementClient {
  place(request: PlacementRequest, signal?: AbortSignal): Promise<PlacementOutcome>;
  /** Gives a reservation back (a pod that will not be created); failures are only logged. */
  release(reservation: string): Promise<void>;
  /** Closes the kept-alive connections. */
  close(): Promise<void>;
}

export interface PlacementClientOptions {
  /** Base URL of the placement service, e.g. http://dilu-autoscaler.dilu-system:8080. */
  readonly baseUrl: string;
  /** Per-request timeout, ms. @default 2000 */
  readonly timeoutMs?: number;
  /** Called when a release fails (the reservation then expires on its own). */
  readonly onReleaseError?: (reservation: string, err: unknown) => void;
}

/** Answers are small JSON documents; anything larger is a misbehaving endpoint. */
const MAX_ANSWER_BYTES = 1 << 20;

/**
 * HTTP client of the placement service. Connections are kept alive in a pool: every admission
 * calls it, and a TCP (or TLS) handshake per call would dominate the webhook's latency. undici
 * rather than Node's http module: the call is on every admission's path, and undici's client
 * costs a fraction of the CPU time per request (the webhook's load benchmark shows it).
 */
export function createPlacementClient(options: PlacementClientOptions): PlacementClient {
  const base = new URL(options.baseUrl);
  const prefix = base.pathname.replace(/\/+$/, '');
  const pool = new Pool(base.origin, { connections: 64, keepAliveTimeout: 30_000 });
  const timeoutMs = options.timeoutMs ?? 2000;

  const call = async (
    method: 'POST' | 'DELETE',
    path: string,
    body: unknown,
    signal: AbortSignal | undefined,
  ): Promise<{ status: number; data: unknown }> => {
    const deadline = AbortSignal.timeout(timeoutMs);
    try {
      const res = await pool.request({
        method,
        path: `${prefix}${path}`,
        headers: JSON_HEADERS,
        body: body === undefined ? null : JSON.stringify(body),
        signal: signal === undefined ? deadline : AbortSignal.any([signal, deadline]),
      });
      return { status: res.statusCode, data: await readAnswer(res) };
    } catch (err) {
      throw new Error(describeError(err, options.baseUrl, deadline.aborted));
    }
  };

  return {
    async place(request, signal) {
      let res;
      try {
        res = await call('POST', '/v1/placements', request, signal);
      } catch (err) {
        return { kind: 'unavailable', message: (err as Error).message };
      }
      return interpret(res.status, res.data);
    },
    async release(reservation) {
      try {
        const res = await call(
          'DELETE',
          `/v1/placements/${encodeURIComponent(reservation)}`,
          undefined,
          undefined,
        );
        if (res.status !== 204 && res.status !== 404) {
          options.onReleaseError?.(reservation, new Error(`HTTP ${res.status}`));
        }
      } catch (err) {
        options.onReleaseError?.(reservation, err);
      }
    },
    close: () => pool.close(),
  };
}

const JSON_HEADERS = { 'content-type': 'application/json', accept: 'application/json' };

/** The answer's JSON (or its text when it is not JSON), refusing more than MAX_ANSWER_BYTES. */
async function readAnswer(res: Dispatcher.ResponseData): Promise<unknown> {
  const text = (await readBodyLimited(res.body, MAX_ANSWER_BYTES)).toString('utf8');
  if (text.length === 0) return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

function interpret(status: number, data: unknown): PlacementOutcome {
  if (status === 200 || status === 201) {
    const parsed = placementSchema.safeParse(data);
    if (parsed.success) return { kind: 'placed', placement: parsed.data };
    const issue = parsed.error.issues[0];
    return {
      kind: 'unavailable',
      message: `placement service answered ${status} with an invalid Placement (${issue?.path.map(String).join('.') ?? ''}: ${issue?.message ?? 'invalid'})`,
    };
  }
  const text = errorText(data);
  if (status === 409) return { kind: 'no-fit', message: text ?? 'no GPU fits' };
  if (status === 400) return { kind: 'rejected', message: text ?? 'bad request' };
  return {
    kind: 'unavailable',
    message: `placement service answered HTTP ${status}${text ? `: ${text}` : ''}`,
  };
}

function errorText(data: unknown): string | undefined {
  if (typeof data === 'object' && data !== null) {
    const { error, details } = data as { error?: unknown; details?: unknown };
    if (typeof error === 'string') {
      return details === undefined ? error : `${error} (${JSON.stringify(details)})`;
    }
  }
  return typeof data === 'string' && data.length > 0 ? data.slice(0, 500) : undefined;
}

function describeError(err: unknown, baseUrl: string, timedOut: boolean): string {
  if (timedOut) return `placement service ${baseUrl} did not answer in time`;
  if (err instanceof BodyTooLargeError) {
    return `placement service ${baseUrl} answered with more than ${MAX_ANSWER_BYTES} bytes`;
  }
  if (err instanceof undiciErrors.RequestAbortedError || (err as Error).name === 'AbortError') {
    return `placement request to ${baseUrl} was cancelled (admission deadline)`;
  }
  const code = (err as { code?: unknown }).code;
  const detail = `${typeof code === 'string' ? `${code} ` : ''}${(err as Error).message}`;
  return `placement service ${baseUrl} unreachable: ${detail}`;
}

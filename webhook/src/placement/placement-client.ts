import http from 'node:http';
import https from 'node:https';
import type { AxiosInstance } from 'axios';
import axios from 'axios';
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
}

export interface PlacementClientOptions {
  /** Base URL of the placement service, e.g. http://dilu-autoscaler.dilu-system:8080. */
  readonly baseUrl: string;
  /** Per-request timeout, ms. @default 2000 */
  readonly timeoutMs?: number;
  /** Called when a release fails (the reservation then expires on its own). */
  readonly onReleaseError?: (reservation: string, err: unknown) => void;
}

/**
 * HTTP client of the placement service. Connections are kept alive: every admission calls it,
 * and a TCP (or TLS) handshake per call would dominate the webhook's latency.
 */
export function createPlacementClient(options: PlacementClientOptions): PlacementClient {
  const client: AxiosInstance = axios.create({
    baseURL: options.baseUrl.replace(/\/+$/, ''),
    timeout: options.timeoutMs ?? 2000,
    httpAgent: new http.Agent({ keepAlive: true, maxSockets: 64 }),
    httpsAgent: new https.Agent({ keepAlive: true, maxSockets: 64 }),
    validateStatus: () => true,
    headers: { 'content-type': 'application/json', accept: 'application/json' },
    // Answers are small JSON documents; anything large is a misbehaving endpoint.
    maxContentLength: 1 << 20,
    // The API has no redirects; 0 also keeps axios on Node's http instead of follow-redirects,
    // a measurable share of each call's CPU time.
    maxRedirects: 0,
    // An in-cluster service: no HTTP(S)_PROXY lookup per call (axios reads the environment on
    // every request otherwise).
    proxy: false,
  });
  return {
    async place(request, signal) {
      let res;
      try {
        res = await client.post<unknown>('/v1/placements', request, { signal });
      } catch (err) {
        return { kind: 'unavailable', message: describeError(err, options.baseUrl) };
      }
      return interpret(res.status, res.data);
    },
    async release(reservation) {
      try {
        const res = await client.delete(`/v1/placements/${encodeURIComponent(reservation)}`);
        if (res.status !== 204 && res.status !== 404) {
          options.onReleaseError?.(reservation, new Error(`HTTP ${res.status}`));
        }
      } catch (err) {
        options.onReleaseError?.(reservation, err);
      }
    },
  };
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

function describeError(err: unknown, baseUrl: string): string {
  if (axios.isCancel(err))
    return `placement request to ${baseUrl} was cancelled (admission deadline)`;
  if (axios.isAxiosError(err)) {
    if (err.code === 'ECONNABORTED' || err.code === 'ETIMEDOUT') {
      return `placement service ${baseUrl} did not answer in time`;
    }
    return `placement service ${baseUrl} unreachable: ${err.code ?? ''} ${err.message}`.trim();
  }
  return `placement request to ${baseUrl} failed: ${String(err)}`;
}

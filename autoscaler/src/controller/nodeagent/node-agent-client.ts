import { z } from 'zod';
import type { Dispatcher } from 'undici';
import { Agent, request } from 'undici';

/**
 * node-agent-api.md `Allocation`. The agent reports `smLimit: null` until it has matched the
 * allocation to its pod (the limit comes from the pod; quota-file.md): such an allocation
 * still holds its quota on the GPU, but is linked to no pod yet, so it is read as `pod: null`
 * with the request as its limit instead of failing the whole node's list.
 */
export const allocationSchema = z
  .object({
    allocationId: z.string(),
    gpuIndex: z.number().int().min(0),
    gpuUuid: z.string(),
    smRequest: z.number(),
    smLimit: z.number().nullable(),
    quota: z.number(),
    memoryMiB: z.number(),
    generation: z.number(),
    pod: z
      .object({
        namespace: z.string(),
        name: z.string(),
        uid: z.string().optional(),
        container: z.string().optional(),
      })
      .nullable(),
  })
  .transform(a =>
    a.smLimit === null ? { ...a, smLimit: a.smRequest, pod: null } : { ...a, smLimit: a.smLimit },
  );
export type Allocation = z.infer<typeof allocationSchema>;

const errorBody = z.object({ error: z.string(), field: z.string().optional() });

/** A node agent answered with an error, or could not be reached (`status` 0). */
export class NodeAgentError extends Error {
  readonly status: number;
  readonly field: string | undefined;
  constructor(node: string, status: number, message: string, field?: string) {
    super(`node agent on ${node}: ${status === 0 ? '' : `HTTP ${status}: `}${message}`);
    this.name = 'NodeAgentError';
    this.status = status;
    this.field = field;
  }
}

export interface NodeAgentClient {
  allocations(node: string): Promise<Allocation[]>;
  /** Sets one allocation's quota; resolves with the agent's view after the change. */
  setQuota(node: string, allocationId: string, quota: number): Promise<Allocation>;
}

export interface NodeAgentClientDeps {
  /** Base URL of a node's agent (https://<node IP>:9450 in a cluster). */
  readonly baseUrl: (node: string) => string | undefined;
  /** Bearer token, read per call so a rotated service-account token is picked up. */
  readonly token: () => string | undefined;
  readonly timeoutMs: number;
  readonly dispatcher?: Dispatcher;
}

/** Trust for the agents' serving certificates. */
export function createNodeAgentDispatcher(opts: {
  readonly ca?: string | undefined;
  readonly insecureSkipVerify?: boolean;
  /** The name the agents' certificate carries: agents are dialled by node IP. */
  readonly serverName?: string | undefined;
}): Agent {
  return new Agent({
    keepAliveTimeout: 10_000,
    connect: {
      ...(opts.ca === undefined ? {} : { ca: opts.ca }),
      ...(opts.serverName === undefined ? {} : { servername: opts.serverName }),
      rejectUnauthorized: opts.insecureSkipVerify !== true,
    },
  });
}

export function createNodeAgentClient(deps: NodeAgentClientDeps): NodeAgentClient {
  const call = async (
    node: string,
    method: 'GET' | 'PUT',
    path: string,
    body?: unknown,
  ): Promise<unknown> => {
    const base = deps.baseUrl(node);
    if (base === undefined) throw new NodeAgentError(node, 0, 'no address known for the node');
    const token = deps.token();
    const headers: Record<string, string> = { accept: 'application/json' };
    if (token !== undefined) headers['authorization'] = `Bearer ${token}`;
    if (body !== undefined) headers['content-type'] = 'application/json';
    let res;
    try {
      res = await request(`${base}${path}`, {
        method,
        headers,
        body: body === undefined ? null : JSON.stringify(body),
        signal: AbortSignal.timeout(deps.timeoutMs),
        ...(deps.dispatcher === undefined ? {} : { dispatcher: deps.dispatcher }),
      });
    } catch (err) {
      throw new NodeAgentError(node, 0, `${method} ${path}: ${String(err)}`);
    }
    const text = await res.body.text();
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw new NodeAgentError(node, res.statusCode, `${method} ${path}: answer is not JSON`);
    }
    if (res.statusCode >= 300) {
      const e = errorBody.safeParse(json);
      throw new NodeAgentError(
        node,
        res.statusCode,
        e.success ? e.data.error : text.slice(0, 200),
        e.success ? e.data.field : undefined,
      );
    }
    return json;
  };
  const parse = <T>(node: string, schema: z.ZodType<T>, json: unknown, what: string): T => {
    const r = schema.safeParse(json);
    if (!r.success) {
      const issue = r.error.issues[0];
      throw new NodeAgentError(
        node,
        200,
        `${what}: ${issue?.path.join('.') ?? ''} ${issue?.message ?? 'invalid'}`,
      );
    }
    return r.data;
  };
  return {
    async allocations(node) {
      const json = await call(node, 'GET', '/v1/allocations');
      return parse(node, z.array(allocationSchema), json, 'allocations');
    },
    async setQuota(node, allocationId, quota) {
      const json = await call(
        node,
        'PUT',
        `/v1/allocations/${encodeURIComponent(allocationId)}/quota`,
        { quota },
      );
      return parse(node, allocationSchema, json, 'allocation');
    },
  };
}

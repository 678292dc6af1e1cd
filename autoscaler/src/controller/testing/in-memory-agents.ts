import type { Allocation, NodeAgentClient } from '../nodeagent/node-agent-client.js';
import { NodeAgentError } from '../nodeagent/node-agent-client.js';

export interface InMemoryAgents extends NodeAgentClient {
  put(node: string, a: Allocation): void;
  remove(node: string, allocationId: string): void;
  get(node: string, allocationId: string): Allocation | undefined;
  /** Quota writes answered, in order. */
  readonly log: { node: string; id: string; to: number; status: number }[];
}

/**
 * Node agents in memory with the contract's rules (quota within [r, l], Σq ≤ 100 per GPU,
 * 404 for an unknown id): for in-process benchmarks and engine tests, where HTTP would only
 * measure the loopback stack.
 */
export function createInMemoryAgents(): InMemoryAgents {
  const nodes = new Map<string, Map<string, Allocation>>();
  const log: InMemoryAgents['log'] = [];
  const on = (node: string): Map<string, Allocation> => {
    let m = nodes.get(node);
    if (m === undefined) {
      m = new Map();
      nodes.set(node, m);
    }
    return m;
  };
  return {
    log,
    put: (node, a) => on(node).set(a.allocationId, a),
    remove: (node, id) => on(node).delete(id),
    get: (node, id) => nodes.get(node)?.get(id),
    allocations: node => Promise.resolve([...on(node).values()]),
    setQuota(node, id, quota) {
      const m = on(node);
      const a = m.get(id);
      const fail = (status: number, message: string): Promise<Allocation> => {
        log.push({ node, id, to: quota, status });
        return Promise.reject(new NodeAgentError(node, status, message));
      };
      if (a === undefined) return fail(404, `no allocation ${id}`);
      if (quota < a.smRequest || quota > a.smLimit) return fail(400, 'quota outside [r, l]');
      let sum = 0;
      for (const x of m.values()) if (x.gpuIndex === a.gpuIndex) sum += x.quota;
      if (sum - a.quota + quota > 100) return fail(409, 'quotas would sum over 100');
      const next = { ...a, quota, generation: a.generation + 1 };
      m.set(id, next);
      log.push({ node, id, to: quota, status: 200 });
      return Promise.resolve(next);
    },
  };
}

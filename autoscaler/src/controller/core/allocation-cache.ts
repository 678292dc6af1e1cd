import type { Logger } from 'pino';
import type { NodeAgentClient } from '../nodeagent/node-agent-client.js';
import type { AutoscalerMetrics } from './autoscaler-metrics.js';
import type { AllocationStore } from './instances.js';
import { createAllocationStore } from './instances.js';
import { runLimited } from './quota-actuator.js';

/**
 * The node agents' allocations, read only when something may have changed them. Quotas
 * change through this controller (each answer updates the store), so a node's agent is read
 * when it is new to us, when the set of our pods on it changed (a pod started or left),
 * when a pod on it has no allocation yet, when its last read failed, and otherwise every
 * `resyncMs` as a safety net. A steady cluster of 250 nodes costs a few reads per tick, not 250.
 */
export interface AllocationCache {
  readonly store: AllocationStore;
  /** Reads the agents of the nodes that need it; `podCounts` = our pods per node now. */
  refresh(podCounts: ReadonlyMap<string, number>, nowMs: number): Promise<void>;
  /** Reads this node's agent at the next refresh. */
  invalidate(node: string): void;
}

export function createAllocationCache(deps: {
  readonly agents: NodeAgentClient;
  readonly log: Logger;
  readonly metrics: AutoscalerMetrics;
  readonly resyncMs: number;
  readonly concurrency?: number;
}): AllocationCache {
  const store = createAllocationStore();
  const state = new Map<string, { readMs: number; pods: number; dirty: boolean }>();
  return {
    store,
    invalidate(node) {
      const s = state.get(node);
      if (s !== undefined) s.dirty = true;
    },
    async refresh(podCounts, nowMs) {
      const due: string[] = [];
      for (const [node, pods] of podCounts) {
        const s = state.get(node);
        if (s === undefined || s.dirty || s.pods !== pods || nowMs - s.readMs >= deps.resyncMs) {
          due.push(node);
        }
      }
      let failed = 0;
      await runLimited(due, deps.concurrency ?? 32, async node => {
        const pods = podCounts.get(node) ?? 0;
        try {
          store.replaceNode(node, await deps.agents.allocations(node));
          state.set(node, { readMs: nowMs, pods, dirty: false });
        } catch (err) {
          failed++;
          // Keep what we knew; read again next tick.
          state.set(node, { readMs: state.get(node)?.readMs ?? 0, pods, dirty: true });
          deps.log.warn({ node, err: String(err) }, 'node agent not read');
        }
      });
      if (failed > 0) deps.metrics.scrapeError('node-agent', failed);
      for (const node of [...state.keys()]) {
        if (podCounts.has(node)) continue;
        state.delete(node);
        store.dropNode(node);
      }
    },
  };
}

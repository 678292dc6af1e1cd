import type { Logger } from 'pino';
import type { QuotaChange } from '../../policy/index.js';
import type { NodeAgentClient } from '../nodeagent/node-agent-client.js';
import { NodeAgentError } from '../nodeagent/node-agent-client.js';
import type { AllocationIndex } from './instances.js';

export interface PlannedQuota {
  readonly functionKey: string;
  readonly namespace: string;
  readonly change: QuotaChange;
}

export interface QuotaOutcome {
  readonly applied: number;
  readonly failed: number;
  /** Changes refused because the GPU lacked headroom (409) or the agent moved on (404). */
  readonly refused: number;
}

/**
 * Applies one tick's vertical changes through the node agents: every decrease first, then
 * every increase, so quota freed on a GPU is there before another function's raise asks for
 * it (the agent refuses any change that would take Σq over 100). A refused or failed change
 * is not retried here: the next tick re-decides from what the agents then report.
 */
export async function applyQuotaChanges(
  planned: readonly PlannedQuota[],
  deps: {
    readonly agents: NodeAgentClient;
    readonly allocations: AllocationIndex;
    readonly log: Logger;
    readonly concurrency?: number;
    readonly isLeader: () => boolean;
  },
): Promise<QuotaOutcome> {
  const down = planned.filter(p => p.change.to < p.change.from);
  const up = planned.filter(p => p.change.to > p.change.from);
  const outcome = { applied: 0, failed: 0, refused: 0 };
  for (const batch of [down, up]) {
    await runLimited(batch, deps.concurrency ?? 32, async p => {
      const placed = deps.allocations.byPod(p.namespace, p.change.id);
      if (placed === undefined) {
        outcome.failed++;
        return;
      }
      // A deposed leader must not write: the new one may already be acting.
      if (!deps.isLeader()) return;
      try {
        const after = await deps.agents.setQuota(
          placed.node,
          placed.allocation.allocationId,
          p.change.to,
        );
        deps.allocations.update(placed.node, after);
        outcome.applied++;
      } catch (err) {
        const status = err instanceof NodeAgentError ? err.status : 0;
        if (status === 409 || status === 404) outcome.refused++;
        else outcome.failed++;
        deps.log.warn(
          { function: p.functionKey, pod: p.change.id, to: p.change.to, err: String(err) },
          'quota change not applied',
        );
      }
    });
  }
  return outcome;
}

/** Runs `fn` over `items` with at most `limit` in flight. */
export async function runLimited<T>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const item = items[next++] as T;
      await fn(item);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

import type { V1Pod } from '@kubernetes/client-node';
import type { InstanceSizing, InstanceView } from '../../policy/index.js';
import type { Allocation } from '../nodeagent/node-agent-client.js';

/** The webhook's record on each pod (annotations.md `dilu.dev/decision`). */
interface PodDecision {
  readonly batch?: number;
  readonly smRequest?: number;
  readonly smLimit?: number;
  readonly node?: string;
  readonly gpuIndex?: number;
}

// Informers replace a pod object on every change, so parsing once per object is enough.
const decisionCache = new WeakMap<V1Pod, PodDecision | null>();

export function podDecision(pod: V1Pod): PodDecision | undefined {
  const hit = decisionCache.get(pod);
  if (hit !== undefined) return hit ?? undefined;
  const raw = pod.metadata?.annotations?.['dilu.dev/decision'];
  let parsed: PodDecision | null = null;
  if (raw !== undefined) {
    try {
      const v: unknown = JSON.parse(raw);
      if (typeof v === 'object' && v !== null) parsed = v;
    } catch {
      parsed = null;
    }
  }
  decisionCache.set(pod, parsed);
  return parsed ?? undefined;
}

export function isPodReady(pod: V1Pod): boolean {
  if (pod.metadata?.deletionTimestamp) return false;
  return pod.status?.conditions?.some(c => c.type === 'Ready' && c.status === 'True') ?? false;
}

export function isTerminating(pod: V1Pod): boolean {
  return pod.metadata?.deletionTimestamp !== undefined;
}

/** Where an allocation lives, as the node agents reported it this tick. */
export interface PlacedAllocation {
  readonly node: string;
  readonly allocation: Allocation;
}

/** Allocations of every polled node, indexed by pod and by GPU. */
export interface AllocationIndex {
  byPod(namespace: string, name: string): PlacedAllocation | undefined;
  /** Σ quota on one GPU (`node/index`). */
  quotaSum(gpu: string): number;
  /** Records a quota the agent confirmed, so later plans in the same tick see it. */
  update(node: string, allocation: Allocation): void;
  /** Nodes whose agent could not be read this tick. */
  readonly unreachable: ReadonlySet<string>;
}

export function buildAllocationIndex(
  perNode: ReadonlyMap<string, readonly Allocation[]>,
  unreachable: ReadonlySet<string>,
): AllocationIndex {
  const pods = new Map<string, PlacedAllocation>();
  const sums = new Map<string, number>();
  const byId = new Map<string, { node: string; quota: number }>();
  for (const [node, list] of perNode) {
    for (const a of list) {
      if (a.pod !== null) pods.set(`${a.pod.namespace}/${a.pod.name}`, { node, allocation: a });
      const gpu = `${node}/${a.gpuIndex}`;
      sums.set(gpu, (sums.get(gpu) ?? 0) + a.quota);
      byId.set(`${node}/${a.allocationId}`, { node, quota: a.quota });
    }
  }
  return {
    byPod: (ns, name) => pods.get(`${ns}/${name}`),
    quotaSum: gpu => sums.get(gpu) ?? 0,
    update(node, a) {
      const old = byId.get(`${node}/${a.allocationId}`);
      const gpu = `${node}/${a.gpuIndex}`;
      sums.set(gpu, (sums.get(gpu) ?? 0) - (old?.quota ?? 0) + a.quota);
      byId.set(`${node}/${a.allocationId}`, { node, quota: a.quota });
      if (a.pod !== null) pods.set(`${a.pod.namespace}/${a.pod.name}`, { node, allocation: a });
    },
    unreachable,
  };
}

const GPU_QUOTA_TOTAL = 100;

function createdAtOf(pod: V1Pod): number | undefined {
  const created = pod.metadata?.creationTimestamp;
  return created === undefined ? undefined : new Date(created).getTime() / 1000;
}

function placedView(
  pod: V1Pod,
  placed: PlacedAllocation,
  allocations: AllocationIndex,
  batch: number,
): InstanceView {
  const a = placed.allocation;
  const gpu = `${placed.node}/${a.gpuIndex}`;
  return {
    id: pod.metadata?.name ?? '',
    batch,
    smRequest: a.smRequest,
    smLimit: a.smLimit,
    quota: Math.min(a.smLimit, Math.max(a.smRequest, a.quota)),
    ready: isPodReady(pod),
    quotaHeadroom: Math.max(0, GPU_QUOTA_TOTAL - allocations.quotaSum(gpu)),
    gpu,
    createdAtS: createdAtOf(pod),
  };
}

function unplacedView(pod: V1Pod, fallback: InstanceSizing): InstanceView {
  const decision = podDecision(pod);
  const r = decision?.smRequest ?? fallback.smRequest;
  const node = pod.spec?.nodeName;
  return {
    id: pod.metadata?.name ?? '',
    batch: decision?.batch ?? fallback.batch,
    smRequest: r,
    smLimit: Math.max(r, decision?.smLimit ?? fallback.smLimit),
    quota: r,
    ready: isPodReady(pod),
    quotaHeadroom: 0,
    gpu: node === undefined ? undefined : `${node}/${decision?.gpuIndex ?? 0}`,
    createdAtS: createdAtOf(pod),
  };
}

/**
 * The policy's view of a function's instances. The node agent's allocation is the truth for
 * r, l and q (it is what the device plugin granted); the webhook's decision annotation gives
 * the batch. A pod the agents have not mapped yet (just scheduled, or its node's agent is
 * unreachable) is counted with its decision's values and no headroom, so the policy never
 * plans a raise the controller could not apply.
 */
export function instanceViews(
  pods: readonly V1Pod[],
  allocations: AllocationIndex,
  fallback: InstanceSizing,
): InstanceView[] {
  const out: InstanceView[] = [];
  for (const pod of pods) {
    if (isTerminating(pod)) continue;
    const placed = allocations.byPod(pod.metadata?.namespace ?? '', pod.metadata?.name ?? '');
    out.push(
      placed === undefined
        ? unplacedView(pod, fallback)
        : placedView(pod, placed, allocations, podDecision(pod)?.batch ?? fallback.batch),
    );
  }
  return out;
}

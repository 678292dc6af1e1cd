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

/**
 * What is worked out once per pod object and reused by later ticks: informers replace a pod
 * object on every change, so a memo keyed by the object can never be stale about the pod.
 * One record per pod (not one cache per item) keeps a tick to one lookup per instance.
 */
interface PodMemo {
  /** Its decision annotation, parsed (null when absent or not JSON). */
  readonly decision: PodDecision | null;
  /** The allocation found for it last, reused while the store still holds it. */
  placed: PlacedAllocation | undefined;
  /** The last view built, valid for `viewOf` and `headroom`. */
  view: InstanceView | undefined;
  viewOf: Allocation | undefined;
  headroom: number;
}

const memos = new WeakMap<V1Pod, PodMemo>();

function memoOf(pod: V1Pod): PodMemo {
  let memo = memos.get(pod);
  if (memo === undefined) {
    memo = {
      decision: parseDecision(pod),
      placed: undefined,
      view: undefined,
      viewOf: undefined,
      headroom: 0,
    };
    memos.set(pod, memo);
  }
  return memo;
}

function parseDecision(pod: V1Pod): PodDecision | null {
  const raw = pod.metadata?.annotations?.['dilu.dev/decision'];
  if (raw === undefined) return null;
  try {
    const v: unknown = JSON.parse(raw);
    return typeof v === 'object' && v !== null ? v : null;
  } catch {
    return null;
  }
}

export function podDecision(pod: V1Pod): PodDecision | undefined {
  return memoOf(pod).decision ?? undefined;
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
  /**
   * True while the index still holds this entry; false once its node was read again, the
   * allocation updated or dropped. Lets a caller keep an entry across ticks and re-check it
   * without a lookup.
   */
  readonly current: boolean;
}

/** Allocations of the polled nodes, indexed by pod and by GPU. */
export interface AllocationIndex {
  byPod(namespace: string, name: string): PlacedAllocation | undefined;
  /** Σ quota on one GPU of a node. */
  quotaSum(node: string, gpuIndex: number): number;
  /** Records a quota the agent confirmed, so later plans see it. */
  update(node: string, allocation: Allocation): void;
}

/** An index kept across ticks: a node's entries are replaced whenever its agent is read. */
export interface AllocationStore extends AllocationIndex {
  replaceNode(node: string, allocations: readonly Allocation[]): void;
  dropNode(node: string): void;
  nodes(): IterableIterator<string>;
}

type Placed = { -readonly [K in keyof PlacedAllocation]: PlacedAllocation[K] };

interface NodeEntry {
  readonly byId: Map<string, Allocation>;
  readonly sums: number[];
}

export function createAllocationStore(): AllocationStore {
  // Nested maps and per-node arrays rather than joined string keys: lookups run for every
  // instance of the cluster once per tick.
  const perNode = new Map<string, NodeEntry>();
  const pods = new Map<string, Map<string, Placed>>();
  const unlinkPod = (node: string, a: Allocation): void => {
    if (a.pod === null) return;
    const ns = pods.get(a.pod.namespace);
    const placed = ns?.get(a.pod.name);
    if (placed?.node !== node) return;
    placed.current = false;
    ns?.delete(a.pod.name);
  };
  const linkPod = (node: string, a: Allocation): void => {
    if (a.pod === null) return;
    let ns = pods.get(a.pod.namespace);
    if (ns === undefined) {
      ns = new Map();
      pods.set(a.pod.namespace, ns);
    }
    const before = ns.get(a.pod.name);
    if (before !== undefined) before.current = false;
    ns.set(a.pod.name, { node, allocation: a, current: true });
  };
  const dropNode = (node: string): void => {
    const entry = perNode.get(node);
    if (entry === undefined) return;
    for (const a of entry.byId.values()) unlinkPod(node, a);
    perNode.delete(node);
  };
  return {
    replaceNode(node, list) {
      dropNode(node);
      const entry: NodeEntry = { byId: new Map(), sums: [] };
      for (const a of list) {
        entry.byId.set(a.allocationId, a);
        entry.sums[a.gpuIndex] = (entry.sums[a.gpuIndex] ?? 0) + a.quota;
        linkPod(node, a);
      }
      perNode.set(node, entry);
    },
    dropNode,
    nodes: () => perNode.keys(),
    byPod: (ns, name) => pods.get(ns)?.get(name),
    quotaSum: (node, gpu) => perNode.get(node)?.sums[gpu] ?? 0,
    update(node, a) {
      let entry = perNode.get(node);
      if (entry === undefined) {
        entry = { byId: new Map(), sums: [] };
        perNode.set(node, entry);
      }
      const old = entry.byId.get(a.allocationId);
      entry.sums[a.gpuIndex] = (entry.sums[a.gpuIndex] ?? 0) - (old?.quota ?? 0) + a.quota;
      entry.byId.set(a.allocationId, a);
      if (old !== undefined) unlinkPod(node, old);
      linkPod(node, a);
    },
  };
}

/** A one-off index over allocations read now (tests, tools). */
export function buildAllocationIndex(
  perNode: ReadonlyMap<string, readonly Allocation[]>,
): AllocationIndex {
  const store = createAllocationStore();
  for (const [node, list] of perNode) store.replaceNode(node, list);
  return store;
}

const GPU_QUOTA_TOTAL = 100;

function createdAtOf(pod: V1Pod): number | undefined {
  const created: unknown = pod.metadata?.creationTimestamp;
  if (created instanceof Date) return created.getTime() / 1000;
  return typeof created === 'string' ? Date.parse(created) / 1000 : undefined;
}

// One string per GPU, reused across ticks: the policy compares GPU keys of instances.
const gpuKeys = new Map<string, string[]>();
function gpuKey(node: string, index: number): string {
  let keys = gpuKeys.get(node);
  if (keys === undefined) {
    keys = [];
    gpuKeys.set(node, keys);
  }
  return (keys[index] ??= `${node}/${index}`);
}

/**
 * The pod's view from its allocation; the last one built is reused while the allocation
 * object and the GPU's headroom are the same, so a steady cluster allocates no new views.
 */
function placedView(
  pod: V1Pod,
  memo: PodMemo,
  placed: PlacedAllocation,
  allocations: AllocationIndex,
  batch: number,
): InstanceView {
  const a = placed.allocation;
  const headroom = Math.max(0, GPU_QUOTA_TOTAL - allocations.quotaSum(placed.node, a.gpuIndex));
  const hit = memo.view;
  if (hit !== undefined && memo.viewOf === a && memo.headroom === headroom && hit.batch === batch) {
    return hit;
  }
  const view: InstanceView = {
    id: pod.metadata?.name ?? '',
    batch,
    smRequest: a.smRequest,
    smLimit: a.smLimit,
    quota: Math.min(a.smLimit, Math.max(a.smRequest, a.quota)),
    ready: isPodReady(pod),
    quotaHeadroom: headroom,
    gpu: gpuKey(placed.node, a.gpuIndex),
    createdAtS: createdAtOf(pod),
  };
  memo.view = view;
  memo.viewOf = a;
  memo.headroom = headroom;
  return view;
}

function unplacedView(
  pod: V1Pod,
  decision: PodDecision | null,
  fallback: InstanceSizing,
): InstanceView {
  const r = decision?.smRequest ?? fallback.smRequest;
  const l = Math.max(r, decision?.smLimit ?? fallback.smLimit);
  const node = pod.spec?.nodeName;
  return {
    id: pod.metadata?.name ?? '',
    batch: decision?.batch ?? fallback.batch,
    smRequest: r,
    smLimit: l,
    quota: r,
    ready: isPodReady(pod),
    // Credited with the reach of its limit, as a new instance is: with none, an instance at
    // an idle-floor r carries almost nothing within the SLO, and the even split then asked
    // for an unbounded count. A raise planned for it before its agent maps it fails and is
    // counted; the next tick plans from the agent's figures.
    quotaHeadroom: l - r,
    gpu: node === undefined ? undefined : gpuKey(node, decision?.gpuIndex ?? 0),
    createdAtS: createdAtOf(pod),
  };
}

/** The pod's allocation: the one found before while the index still holds it. */
function placementOf(
  pod: V1Pod,
  memo: PodMemo,
  allocations: AllocationIndex,
): PlacedAllocation | undefined {
  if (memo.placed?.current === true) return memo.placed;
  memo.placed = allocations.byPod(pod.metadata?.namespace ?? '', pod.metadata?.name ?? '');
  return memo.placed;
}

/**
 * The policy's view of a function's instances. The node agent's allocation is the truth for
 * r, l and q (it is what the device plugin granted); the webhook's decision annotation gives
 * the batch. A pod the agents have not mapped yet (just scheduled, or its node's agent is
 * unreachable) is counted with its decision's values and the headroom to reach its limit.
 */
export function instanceViews(
  pods: readonly V1Pod[],
  allocations: AllocationIndex,
  fallback: InstanceSizing,
  /** Told the node of a scheduled pod the agents have not reported yet. */
  unplaced: (node: string) => void = () => undefined,
): InstanceView[] {
  // Sized up front: growing from [] allocates a larger backing store for every function.
  const out = new Array<InstanceView>(pods.length);
  let n = 0;
  for (const pod of pods) {
    if (isTerminating(pod)) continue;
    const memo = memoOf(pod);
    const placed = placementOf(pod, memo, allocations);
    if (placed === undefined && pod.spec?.nodeName !== undefined) unplaced(pod.spec.nodeName);
    out[n++] =
      placed === undefined
        ? unplacedView(pod, memo.decision, fallback)
        : placedView(pod, memo, placed, allocations, memo.decision?.batch ?? fallback.batch);
  }
  if (n !== out.length) out.length = n;
  return out;
}

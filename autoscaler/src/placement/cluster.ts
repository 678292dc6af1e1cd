import { PlacementError } from './placement-error.js';
import type { GpuRef, InstanceChange, InstanceClass, InstanceSpec, NodeSpec } from './types.js';
import { GPU_SM_PERCENT } from './types.js';
import { validateInstanceChange, validateInstanceSpec, validateNodeSpec } from './validate.js';

/**
 * Sums of floating-point shares drift by ~1e-14 after many add/remove pairs; comparisons
 * against capacity allow this much so 70 + 30 still fits in 100.
 */
export const CAPACITY_EPSILON = 1e-9;

/** Read-only view of one GPU and what sits on it. Every field is O(1) to read. */
export interface GpuView extends GpuRef {
  readonly node: NodeView;
  /** Position in cluster order (node order, then device index): the final tie-break. */
  readonly order: number;
  readonly model: string;
  readonly memoryMiB: number;
  /** Σ r of the instances on it, percent. */
  readonly sumSmRequest: number;
  /** Σ l, percent. */
  readonly sumSmLimit: number;
  /** Σ m, MiB. */
  readonly sumMemoryMiB: number;
  readonly instanceCount: number;
  readonly latencyCriticalCount: number;
  readonly bestEffortCount: number;
  /** An exclusive instance holds the whole GPU. */
  readonly exclusive: boolean;
  /** Replicas of `functionId` on this GPU. */
  replicasOf(functionId: string): number;
  /** Ids of the instances on this GPU, in placement order. */
  instanceIds(): readonly string[];
}

export interface NodeView {
  readonly id: string;
  readonly gpus: readonly GpuView[];
  /** GPUs of this node holding at least one instance. */
  readonly activeGpuCount: number;
}

export interface PlacedInstance extends InstanceSpec, GpuRef {}

/** Cluster-wide running totals, kept up to date on every change (no rebuild). */
export interface ClusterSummary {
  readonly nodes: number;
  readonly gpus: number;
  /** GPUs holding at least one instance. */
  readonly activeGpus: number;
  readonly instances: number;
  /** Σ over active GPUs of min(1, Σr / 100). */
  readonly activeSmRequestShare: number;
  /** Σ over active GPUs of Σm / GPU memory. */
  readonly activeMemoryShare: number;
}

/**
 * Nodes × GPUs and the instances on each GPU. Enforces only the physical rules — memory is
 * never overcommitted, an exclusive instance shares with nothing, a profile's GPU models are
 * respected. How much SM may be promised on a GPU is a policy question, left to the placers.
 *
 * add, remove and update are O(1); addNode is O(GPUs on the node); removeNode is O(GPUs in
 * the cluster) because it re-indexes the flat GPU list (rare: a node leaving).
 */
export interface Cluster {
  addNode(spec: NodeSpec): NodeView;
  removeNode(nodeId: string): void;
  node(nodeId: string): NodeView;
  nodes(): readonly NodeView[];
  /** Every GPU, in node order then device index: the order placers break ties by. */
  gpus(): readonly GpuView[];
  gpu(ref: GpuRef): GpuView;
  hasInstance(id: string): boolean;
  instance(id: string): PlacedInstance;
  instances(): IterableIterator<PlacedInstance>;
  /**
   * Visits every GPU a placer needs to look at: each active GPU once (in no set order), then
   * for each node and each kind of GPU on it (model, memory) its lowest-index idle GPU,
   * with `alike` = how many idle GPUs of that kind the node has (they would score the same).
   * O(active GPUs + nodes) instead of O(GPUs).
   */
  forEachCandidate(visit: (gpu: GpuView, alike: number) => void): void;
  add(spec: InstanceSpec, ref: GpuRef): PlacedInstance;
  remove(id: string): PlacedInstance;
  update(id: string, change: InstanceChange): PlacedInstance;
  summary(): ClusterSummary;
}

/** GPUs of one node with the same model and memory: interchangeable while idle. */
interface GpuGroup {
  readonly gpus: GpuState[];
  idle: number;
}

class GpuState implements GpuView {
  readonly node: NodeState;
  readonly group: GpuGroup;
  order = 0;
  /** Index in the cluster's active list, -1 while idle. */
  activePos = -1;
  readonly gpuIndex: number;
  readonly model: string;
  readonly memoryMiB: number;
  sumSmRequest = 0;
  sumSmLimit = 0;
  sumMemoryMiB = 0;
  latencyCriticalCount = 0;
  bestEffortCount = 0;
  exclusiveCount = 0;
  readonly #functions = new Map<string, number>();
  readonly #instances = new Set<string>();

  constructor(node: NodeState, group: GpuGroup, index: number, model: string, memoryMiB: number) {
    this.node = node;
    this.group = group;
    this.gpuIndex = index;
    this.model = model;
    this.memoryMiB = memoryMiB;
  }

  get nodeId(): string {
    return this.node.id;
  }
  get instanceCount(): number {
    return this.#instances.size;
  }
  get exclusive(): boolean {
    return this.exclusiveCount > 0;
  }
  replicasOf(functionId: string): number {
    return this.#functions.get(functionId) ?? 0;
  }
  instanceIds(): readonly string[] {
    return [...this.#instances];
  }

  attach(inst: PlacedInstance): void {
    this.#instances.add(inst.id);
    this.#functions.set(inst.functionId, this.replicasOf(inst.functionId) + 1);
    this.addShares(inst, 1);
    this.countClass(inst.class, 1);
    if (inst.exclusive === true) this.exclusiveCount++;
  }

  detach(inst: PlacedInstance): void {
    this.#instances.delete(inst.id);
    const n = this.replicasOf(inst.functionId) - 1;
    if (n > 0) this.#functions.set(inst.functionId, n);
    else this.#functions.delete(inst.functionId);
    this.addShares(inst, -1);
    this.countClass(inst.class, -1);
    if (inst.exclusive === true) this.exclusiveCount--;
    if (this.#instances.size === 0) {
      // Reset rather than trust a float that went up and down many times.
      this.sumSmRequest = 0;
      this.sumSmLimit = 0;
      this.sumMemoryMiB = 0;
    }
  }

  addShares(s: { smRequest: number; smLimit: number; memoryMiB: number }, sign: 1 | -1): void {
    this.sumSmRequest += sign * s.smRequest;
    this.sumSmLimit += sign * s.smLimit;
    this.sumMemoryMiB += sign * s.memoryMiB;
  }

  private countClass(c: InstanceClass, d: number): void {
    if (c === 'latency-critical') this.latencyCriticalCount += d;
    else this.bestEffortCount += d;
  }
}

class NodeState implements NodeView {
  readonly id: string;
  readonly gpus: GpuState[] = [];
  readonly groups: GpuGroup[] = [];
  activeGpuCount = 0;
  constructor(id: string) {
    this.id = id;
  }
}

function requestShare(g: GpuState): number {
  return Math.min(1, g.sumSmRequest / GPU_SM_PERCENT);
}

/** Creates a cluster, optionally with its first nodes. */
export function createCluster(nodes: readonly NodeSpec[] = []): Cluster {
  const nodeById = new Map<string, NodeState>();
  const nodeList: NodeState[] = [];
  let gpuList: GpuState[] = [];
  const active: GpuState[] = [];
  const placed = new Map<string, { inst: PlacedInstance; gpu: GpuState }>();
  let activeGpus = 0;
  let activeSmRequestShare = 0;
  let activeMemoryShare = 0;

  // Every mutation of a GPU goes leave() -> change -> enter(), so the cluster totals move by
  // exactly that GPU's old and new contribution: O(1), no rescan.
  const leave = (g: GpuState): void => {
    if (g.instanceCount === 0) return;
    activeGpus--;
    activeSmRequestShare -= requestShare(g);
    activeMemoryShare -= g.sumMemoryMiB / g.memoryMiB;
    g.node.activeGpuCount--;
  };
  const enter = (g: GpuState): void => {
    if (g.instanceCount === 0) {
      if (g.activePos >= 0) {
        // Swap-remove from the active list: O(1).
        const last = active.pop();
        if (last && last !== g) {
          active[g.activePos] = last;
          last.activePos = g.activePos;
        }
        g.activePos = -1;
        g.group.idle++;
      }
      if (activeGpus === 0) {
        activeSmRequestShare = 0;
        activeMemoryShare = 0;
      }
      return;
    }
    activeGpus++;
    activeSmRequestShare += requestShare(g);
    activeMemoryShare += g.sumMemoryMiB / g.memoryMiB;
    g.node.activeGpuCount++;
    if (g.activePos < 0) {
      g.activePos = active.length;
      active.push(g);
      g.group.idle--;
    }
  };

  const nodeState = (nodeId: string, field = 'nodeId'): NodeState => {
    const n = nodeById.get(nodeId);
    if (!n) throw new PlacementError(field, `unknown node '${nodeId}'`);
    return n;
  };
  const gpuState = (ref: GpuRef): GpuState => {
    const n = nodeState(ref.nodeId);
    const g = Number.isInteger(ref.gpuIndex) ? n.gpus[ref.gpuIndex] : undefined;
    if (!g) {
      throw new PlacementError(
        'gpuIndex',
        `node '${ref.nodeId}' has no GPU ${String(ref.gpuIndex)} (it has ${n.gpus.length})`,
      );
    }
    return g;
  };
  const entry = (id: string): { inst: PlacedInstance; gpu: GpuState } => {
    const e = placed.get(id);
    if (!e) throw new PlacementError('instanceId', `unknown instance '${id}'`);
    return e;
  };

  const checkFits = (g: GpuState, spec: InstanceSpec, memoryOnGpu: number): void => {
    const models = spec.gpuModels;
    if (models !== undefined && models.length > 0 && !models.includes(g.model)) {
      throw new PlacementError(
        'gpuModels',
        `GPU ${g.nodeId}/${g.gpuIndex} is a ${g.model}; the instance runs on ${models.join(', ')}`,
      );
    }
    if (memoryOnGpu + spec.memoryMiB > g.memoryMiB + CAPACITY_EPSILON) {
      throw new PlacementError(
        'memoryMiB',
        `${spec.memoryMiB} MiB does not fit GPU ${g.nodeId}/${g.gpuIndex}: ` +
          `${g.memoryMiB - memoryOnGpu} of ${g.memoryMiB} MiB free (memory is never overcommitted)`,
      );
    }
  };

  const cluster: Cluster = {
    addNode(spec) {
      validateNodeSpec(spec);
      if (nodeById.has(spec.id)) throw new PlacementError('id', `node '${spec.id}' already exists`);
      const n = new NodeState(spec.id);
      const groups = new Map<string, GpuGroup>();
      spec.gpus.forEach((g, i) => {
        const key = `${g.model}\u0000${g.memoryMiB}`;
        let group = groups.get(key);
        if (!group) {
          group = { gpus: [], idle: 0 };
          groups.set(key, group);
          n.groups.push(group);
        }
        const gpu = new GpuState(n, group, i, g.model, g.memoryMiB);
        gpu.order = gpuList.length;
        group.gpus.push(gpu);
        group.idle++;
        n.gpus.push(gpu);
        gpuList.push(gpu);
      });
      nodeById.set(n.id, n);
      nodeList.push(n);
      return n;
    },
    removeNode(nodeId) {
      const n = nodeState(nodeId);
      const held = n.gpus.flatMap(g => g.instanceIds());
      if (held.length > 0) {
        throw new PlacementError(
          'nodeId',
          `node '${nodeId}' still holds ${held.length} instance(s) (${held.slice(0, 3).join(', ')}` +
            `${held.length > 3 ? ', …' : ''}); remove them first`,
        );
      }
      nodeById.delete(nodeId);
      nodeList.splice(nodeList.indexOf(n), 1);
      gpuList = gpuList.filter(g => g.node !== n);
      gpuList.forEach((g, i) => (g.order = i));
    },
    node: id => nodeState(id),
    nodes: () => nodeList,
    gpus: () => gpuList,
    gpu: ref => gpuState(ref),
    hasInstance: id => placed.has(id),
    forEachCandidate(visit) {
      for (const g of active) visit(g, 1);
      for (const n of nodeList) {
        for (const group of n.groups) {
          if (group.idle === 0) continue;
          const first = group.gpus.find(g => g.activePos < 0);
          if (first) visit(first, group.idle);
        }
      }
    },
    instance: id => entry(id).inst,
    instances: () => [...placed.values()].map(e => e.inst)[Symbol.iterator](),
    add(spec, ref) {
      validateInstanceSpec(spec);
      if (placed.has(spec.id))
        throw new PlacementError('id', `instance '${spec.id}' already placed`);
      const g = gpuState(ref);
      if (g.exclusive) {
        throw new PlacementError('gpuIndex', `GPU ${g.nodeId}/${g.gpuIndex} is held exclusively`);
      }
      if (spec.exclusive === true && g.instanceCount > 0) {
        throw new PlacementError(
          'exclusive',
          `GPU ${g.nodeId}/${g.gpuIndex} already holds ${g.instanceCount} instance(s)`,
        );
      }
      checkFits(g, spec, g.sumMemoryMiB);
      const inst: PlacedInstance = { ...spec, nodeId: g.nodeId, gpuIndex: g.gpuIndex };
      leave(g);
      g.attach(inst);
      enter(g);
      placed.set(inst.id, { inst, gpu: g });
      return inst;
    },
    remove(id) {
      const { inst, gpu } = entry(id);
      leave(gpu);
      gpu.detach(inst);
      enter(gpu);
      placed.delete(id);
      return inst;
    },
    update(id, change) {
      const e = entry(id);
      const { inst, gpu } = e;
      const merged = validateInstanceChange(inst, change);
      checkFits(gpu, { ...inst, ...merged }, gpu.sumMemoryMiB - inst.memoryMiB);
      const next: PlacedInstance = { ...inst, ...merged };
      leave(gpu);
      gpu.addShares(inst, -1);
      gpu.addShares(next, 1);
      enter(gpu);
      e.inst = next;
      return next;
    },
    summary: () => ({
      nodes: nodeList.length,
      gpus: gpuList.length,
      activeGpus,
      instances: placed.size,
      activeSmRequestShare,
      activeMemoryShare,
    }),
  };
  for (const n of nodes) cluster.addNode(n);
  return cluster;
}

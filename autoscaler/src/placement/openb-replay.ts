import type { FgdNode, WeightedTask } from './fgd.js';
import { GPU_MILLI, nodeFragmentMilliUnchecked, targetWorkload, validateWorkload } from './fgd.js';
import type { OpenbNode, OpenbPod } from './openb-trace.js';
import { openbTask } from './openb-trace.js';
import { PlacementError } from './placement-error.js';
import { createRng, shuffleInPlace } from './rng.js';

/**
 * Replays openb pod arrivals onto openb nodes the way the FGD artifact's experiments do
 * (pods arrive one by one, none leaves; arrivals are sampled up to `tuneRatio` × the
 * cluster's GPU capacity and shuffled), and records the FGD fragmentation after every
 * arrival, averaged per whole percent of capacity arrived. This is how the published
 * `expected_results/analysis_frag_discrete.csv` figures are made, so ours can be set beside them.
 *
 * Policies (node choice, then GPU choice inside the node):
 * - `best-fit`: least leftover 0.5·CPU/128 cores + 0.5·GPU/8 GPUs after placing; the GPU with
 *   the least free share that fits. Ties broken at random.
 * - `fgd`: the node and GPU where the cluster's FGD fragment grows least; among equals the
 *   node with the least free GPU (keeps whole nodes free for multi-GPU pods).
 * - `first-fit`: first node in list order; tightest GPU.
 * - `random`: any node that fits, any GPU that fits.
 */
export const REPLAY_POLICIES = ['best-fit', 'fgd', 'first-fit', 'random'] as const;
export type ReplayPolicy = (typeof REPLAY_POLICIES)[number];

export interface ReplayOptions {
  readonly policy: ReplayPolicy;
  /** Seed for sampling, shuffling and tie-breaking. Default 42 (the artifact's first seed). */
  readonly seed?: number | undefined;
  /** Sample arrivals up to this multiple of GPU capacity; 0 replays the list as given. Default 1.3. */
  readonly tuneRatio?: number | undefined;
  /** Shuffle arrivals. Default true. */
  readonly shuffle?: boolean | undefined;
  /** Target workload of the measure; default: built from `pods` (95 % coverage, CPU-only included). */
  readonly workload?: readonly WeightedTask[] | undefined;
  /**
   * fgd only: fragment growths this close (milli-GPU) count as equal, and the node with less
   * free GPU wins among equals. 0 (default) compares them exactly. A scheduler that scores
   * nodes on a coarse integer scale behaves like a resolution of a few tens of milli-GPU.
   */
  readonly fgdResolutionMilli?: number | undefined;
}

export interface ReplayPoint {
  /** Whole percent of GPU capacity requested by the pods that arrived so far. */
  readonly arrivedPercent: number;
  readonly allocatedPercent: number;
  /** FGD fragment as % of capacity (the published `frag` figure). */
  readonly fragmentPercent: number;
  /** FGD fragment as % of idle GPU (the published `frag_ratio` figure). */
  readonly fragmentOfIdlePercent: number;
  /** Arrivals averaged into this point. */
  readonly samples: number;
}

export interface ReplayResult {
  readonly policy: ReplayPolicy;
  readonly seed: number;
  readonly capacityMilli: number;
  readonly arrivedPods: number;
  readonly placedPods: number;
  readonly failedPods: number;
  readonly points: readonly ReplayPoint[];
}

const MAX_SPEC_CPU = 128_000;
const MAX_SPEC_GPU = 8 * GPU_MILLI;

interface NodeState {
  readonly name: string;
  readonly model: string;
  cpuFree: number;
  memFree: number;
  readonly gpus: number[];
  frag: number;
}

interface Pod {
  readonly cpu: number;
  readonly mem: number;
  readonly count: number;
  readonly milli: number;
  readonly models: readonly string[];
}

/** A candidate: node, the GPUs it would use, the policy's key (lower is better). */
interface Pick {
  node: NodeState | undefined;
  /** Chosen GPUs; undefined until the node is settled (all policies but fgd choose after). */
  gpus: number[] | undefined;
  key: number;
  /** Second key, for fgd: free GPU left on the node (pack onto fuller nodes among equals). */
  key2: number;
  ties: number;
}

function fitsNode(n: NodeState, p: Pod): boolean {
  if (n.cpuFree < p.cpu || n.memFree < p.mem) return false;
  if (p.count === 0) return true;
  if (n.gpus.length < p.count) return false;
  if (p.models.length > 0 && !p.models.includes(n.model)) return false;
  let usable = 0;
  for (const f of n.gpus) if (f >= p.milli) usable++;
  return usable >= p.count;
}

/** The `count` GPUs with the least free share that still fits (lowest index on ties). */
function tightestGpus(n: NodeState, p: Pod): number[] {
  const idx: number[] = [];
  n.gpus.forEach((f, i) => {
    if (f >= p.milli) idx.push(i);
  });
  idx.sort((a, b) => (n.gpus[a] ?? 0) - (n.gpus[b] ?? 0) || a - b);
  return idx.slice(0, p.count);
}

function sum(xs: readonly number[]): number {
  let s = 0;
  for (const x of xs) s += x;
  return s;
}

function checkOptions(o: ReplayOptions): void {
  if (!(REPLAY_POLICIES as readonly unknown[]).includes(o.policy)) {
    throw new PlacementError(
      'policy',
      `must be one of ${REPLAY_POLICIES.join(', ')}, got '${o.policy}'`,
    );
  }
  const t = o.tuneRatio;
  if (t !== undefined && !(Number.isFinite(t) && t >= 0)) {
    throw new PlacementError('tuneRatio', `must be a finite number >= 0, got ${t}`);
  }
  const q = o.fgdResolutionMilli;
  if (q !== undefined && !(Number.isFinite(q) && q >= 0)) {
    throw new PlacementError('fgdResolutionMilli', `must be a finite number >= 0, got ${q}`);
  }
}

function arrivals(
  pods: readonly OpenbPod[],
  capacity: number,
  o: ReplayOptions,
  rnd: () => number,
): Pod[] {
  const list = pods.map((p): Pod => ({
    cpu: p.cpuMilli,
    mem: p.memoryMiB,
    count: p.gpuCount,
    milli: p.gpuMilli,
    models: p.gpuModels,
  }));
  const base = list.slice();
  const target = (o.tuneRatio ?? 1.3) * capacity;
  let total = sum(list.map(p => p.count * p.milli));
  if (target > 0) {
    while (total > target && list.length > 0) {
      const [gone] = list.splice(Math.floor(rnd() * list.length), 1);
      if (gone) total -= gone.count * gone.milli;
    }
    for (;;) {
      const p = base[Math.floor(rnd() * base.length)];
      if (!p || total + p.count * p.milli > target) break;
      list.push(p);
      total += p.count * p.milli;
    }
  }
  return o.shuffle === false ? list : shuffleInPlace(list, rnd);
}

export function replayOpenb(
  nodes: readonly OpenbNode[],
  pods: readonly OpenbPod[],
  options: ReplayOptions,
): ReplayResult {
  checkOptions(options);
  if (pods.length === 0) throw new PlacementError('pods', 'no pod to replay');
  const seed = options.seed ?? 42;
  const resolution = options.fgdResolutionMilli ?? 0;
  const rnd = createRng(seed);
  const workload = options.workload ?? targetWorkload(pods.map(openbTask));
  validateWorkload(workload);

  const memo = new Map<string, number>();
  const fragOf = (model: string, cpuFree: number, gpus: readonly number[]): number => {
    const key = `${model}|${cpuFree}|${[...gpus].sort((a, b) => a - b).join(',')}`;
    let f = memo.get(key);
    if (f === undefined) {
      const view: FgdNode = { id: key, cpuMilliFree: cpuFree, gpuModel: model, gpuMilliFree: gpus };
      f = nodeFragmentMilliUnchecked(view, workload);
      memo.set(key, f);
    }
    return f;
  };

  const state: NodeState[] = nodes.map(n => {
    const gpus = Array.from({ length: n.gpuCount }, () => GPU_MILLI);
    return {
      name: n.name,
      model: n.gpuModel,
      cpuFree: n.cpuMilli,
      memFree: n.memoryMiB,
      gpus,
      frag: 0,
    };
  });
  const capacity = sum(state.map(n => n.gpus.length)) * GPU_MILLI;
  if (capacity === 0) throw new PlacementError('nodes', 'have no GPU: nothing to fragment');
  let fragTotal = 0;
  for (const n of state) {
    n.frag = fragOf(n.model, n.cpuFree, n.gpus);
    fragTotal += n.frag;
  }

  const consider = (
    pick: Pick,
    node: NodeState,
    gpus: number[] | undefined,
    key: number,
    key2 = 0,
  ): void => {
    if (pick.node === undefined || key < pick.key || (key === pick.key && key2 < pick.key2)) {
      pick.node = node;
      pick.gpus = gpus;
      pick.key = key;
      pick.key2 = key2;
      pick.ties = 1;
    } else if (key === pick.key && key2 === pick.key2) {
      // Reservoir sampling: every equally good candidate is equally likely.
      pick.ties++;
      if (rnd() * pick.ties < 1) {
        pick.node = node;
        pick.gpus = gpus;
      }
    }
  };

  const gpusOn = (n: NodeState, p: Pod): number[] => {
    if (p.count === 0) return [];
    if (options.policy !== 'random') return tightestGpus(n, p);
    const fit = n.gpus.flatMap((f, i) => (f >= p.milli ? [i] : []));
    return shuffleInPlace(fit, rnd).slice(0, p.count);
  };

  const choose = (p: Pod): Pick => {
    const pick: Pick = { node: undefined, gpus: undefined, key: Infinity, key2: 0, ties: 0 };
    const policy = options.policy;
    for (const n of state) {
      if (!fitsNode(n, p)) continue;
      if (policy === 'first-fit') {
        consider(pick, n, undefined, 0);
        break;
      }
      if (policy === 'random') {
        consider(pick, n, undefined, 0);
      } else if (policy === 'best-fit') {
        const key =
          (0.5 * (n.cpuFree - p.cpu)) / MAX_SPEC_CPU +
          (0.5 * (sum(n.gpus) - p.count * p.milli)) / MAX_SPEC_GPU;
        consider(pick, n, undefined, key);
      } else {
        const free = sum(n.gpus);
        for (const gpus of fgdChoices(n, p)) {
          const after = n.gpus.slice();
          for (const i of gpus) after[i] = (after[i] ?? 0) - p.milli;
          const delta = fragOf(n.model, n.cpuFree - p.cpu, after) - n.frag;
          consider(pick, n, gpus, resolution > 0 ? Math.round(delta / resolution) : delta, free);
        }
      }
    }
    if (pick.node !== undefined && pick.gpus === undefined) pick.gpus = gpusOn(pick.node, p);
    return pick;
  };

  const buckets = new Map<number, { frag: number; ratio: number; alloc: number; n: number }>();
  let arrivedMilli = 0;
  let usedMilli = 0;
  let placed = 0;
  let failed = 0;
  const list = arrivals(pods, capacity, options, rnd);
  for (const p of list) {
    arrivedMilli += p.count * p.milli;
    const { node, gpus = [] } = choose(p);
    if (node) {
      node.cpuFree -= p.cpu;
      node.memFree -= p.mem;
      for (const i of gpus) node.gpus[i] = (node.gpus[i] ?? 0) - p.milli;
      usedMilli += gpus.length * p.milli;
      const f = fragOf(node.model, node.cpuFree, node.gpus);
      fragTotal += f - node.frag;
      node.frag = f;
      placed++;
    } else {
      failed++;
    }
    const pct = Math.round((100 * arrivedMilli) / capacity);
    const b = buckets.get(pct) ?? { frag: 0, ratio: 0, alloc: 0, n: 0 };
    const idle = capacity - usedMilli;
    b.frag += fragTotal;
    b.ratio += idle > 0 ? fragTotal / idle : 0;
    b.alloc += usedMilli;
    b.n++;
    buckets.set(pct, b);
  }
  const points = [...buckets.entries()]
    .sort((a, b) => a[0] - b[0])
    .map(([pct, b]) => ({
      arrivedPercent: pct,
      allocatedPercent: (100 * b.alloc) / b.n / capacity,
      fragmentPercent: (100 * b.frag) / b.n / capacity,
      fragmentOfIdlePercent: (100 * b.ratio) / b.n,
      samples: b.n,
    }));
  return {
    policy: options.policy,
    seed,
    capacityMilli: capacity,
    arrivedPods: list.length,
    placedPods: placed,
    failedPods: failed,
    points,
  };
}

/** GPU choices FGD weighs on one node: each distinct free share for a sharing pod, else the tightest set. */
function fgdChoices(n: NodeState, p: Pod): number[][] {
  if (p.count === 0) return [[]];
  if (p.count > 1 || p.milli >= GPU_MILLI) return [tightestGpus(n, p)];
  const seen = new Set<number>();
  const out: number[][] = [];
  n.gpus.forEach((f, i) => {
    if (f >= p.milli && !seen.has(f)) {
      seen.add(f);
      out.push([i]);
    }
  });
  return out;
}

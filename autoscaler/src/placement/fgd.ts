import { PlacementError } from './placement-error.js';

/** One GPU in thousandths, the unit of the FGD paper and the openb traces. */
export const GPU_MILLI = 1000;

/** A node as the FGD measure sees it: free CPU and the free share of each of its GPUs. */
export interface FgdNode {
  readonly id: string;
  /** Free CPU in milli-cores; Infinity when CPU is not modelled. */
  readonly cpuMilliFree: number;
  /** GPU model of every GPU on the node ('' for a CPU-only node). */
  readonly gpuModel: string;
  /** Free share of each GPU, 0..1000. */
  readonly gpuMilliFree: readonly number[];
}

/** A task shape of the target workload. */
export interface FgdTask {
  readonly cpuMilli: number;
  /** GPUs the task needs (0 for a CPU-only task). */
  readonly gpuCount: number;
  /** Share needed on each of those GPUs, 1..1000 (0 when gpuCount is 0). */
  readonly gpuMilli: number;
  /** GPU models the task accepts; absent or empty means any. */
  readonly gpuModels?: readonly string[] | undefined;
}

export interface WeightedTask {
  readonly task: FgdTask;
  /** Probability that the next task has this shape; popularities sum to 1. */
  readonly popularity: number;
}

/**
 * How a task type relates to a node (FGD, Weng et al., ATC'23, §3):
 * - `fits`: the task can run here; the fragment is the free share of the GPUs each too small
 *   for one of its GPU slots.
 * - `lacks-gpu`, `lacks-cpu`, `lacks-both`: it cannot run here, so every free GPU share on the
 *   node is a fragment from its point of view.
 * - `no-gpu-demand`: a CPU-only task can use none of the free GPU: all of it is a fragment.
 * - `wrong-gpu-model`: the task does not accept this node's GPU model: all of it is a fragment.
 */
export const FRAGMENT_CASES = [
  'fits',
  'lacks-gpu',
  'lacks-cpu',
  'lacks-both',
  'no-gpu-demand',
  'wrong-gpu-model',
] as const;
export type FragmentCase = (typeof FRAGMENT_CASES)[number];

export interface NodeFragment {
  /** F_n(M) = Σ_m p_m · F_n(m), in milli-GPU. */
  readonly fragmentMilli: number;
  /** Σ free GPU share on the node, milli-GPU. */
  readonly idleMilli: number;
  /** fragmentMilli split by the case each task type fell in. */
  readonly byCase: Readonly<Record<FragmentCase, number>>;
}

export interface ClusterFragment extends NodeFragment {
  /** Total GPU capacity of the nodes measured, milli-GPU. */
  readonly capacityMilli: number;
  /** Fragment as a share of capacity (the openb `frag` results, divided by 100). */
  readonly fragmentOfCapacity: number;
  /** Fragment as a share of idle GPU (the openb `frag_ratio` results, divided by 100). */
  readonly fragmentOfIdle: number;
}

/** The FGD measure for one target workload; the workload is validated once. */
export interface FgdMeasure {
  readonly workload: readonly WeightedTask[];
  /** Which case a task type falls in on a node. */
  classify(node: FgdNode, task: FgdTask): FragmentCase;
  /** F_n(m): GPU share on the node the task type cannot use, milli-GPU. */
  taskFragment(node: FgdNode, task: FgdTask): number;
  /** F_n(M): the node's expected fragment against the workload. */
  node(node: FgdNode): NodeFragment;
  /** Σ_n F_n(M) over the cluster, with its share of capacity and of idle GPU. */
  cluster(nodes: Iterable<FgdNode>): ClusterFragment;
}

function fail(field: string, rule: string): never {
  throw new PlacementError(field, rule);
}

export function validateFgdTask(t: FgdTask, at = 'task'): void {
  if (!Number.isFinite(t.cpuMilli) || t.cpuMilli < 0) {
    fail(`${at}.cpuMilli`, `must be a finite number >= 0, got ${t.cpuMilli}`);
  }
  if (!Number.isInteger(t.gpuCount) || t.gpuCount < 0) {
    fail(`${at}.gpuCount`, `must be an integer >= 0, got ${t.gpuCount}`);
  }
  if (t.gpuCount === 0 && t.gpuMilli !== 0) {
    fail(`${at}.gpuMilli`, `must be 0 when gpuCount is 0, got ${t.gpuMilli}`);
  }
  if (t.gpuCount > 0 && !(t.gpuMilli > 0 && t.gpuMilli <= GPU_MILLI)) {
    fail(`${at}.gpuMilli`, `must be within (0, ${GPU_MILLI}] when gpuCount > 0, got ${t.gpuMilli}`);
  }
}

export function validateFgdNode(n: FgdNode, at = 'node'): void {
  if (typeof n.id !== 'string' || n.id === '') fail(`${at}.id`, 'must be a non-empty string');
  if (Number.isNaN(n.cpuMilliFree) || n.cpuMilliFree < 0) {
    fail(`${at}.cpuMilliFree`, `must be >= 0 (Infinity when not modelled), got ${n.cpuMilliFree}`);
  }
  n.gpuMilliFree.forEach((f, i) => {
    if (!(f >= 0 && f <= GPU_MILLI)) {
      fail(`${at}.gpuMilliFree[${i}]`, `must be within [0, ${GPU_MILLI}], got ${f}`);
    }
  });
}

/** Checks a target workload: valid task shapes, popularities >= 0 that sum to 1. */
export function validateWorkload(workload: readonly WeightedTask[]): void {
  if (workload.length === 0) fail('workload', 'needs at least one task type');
  let sum = 0;
  workload.forEach((w, i) => {
    validateFgdTask(w.task, `workload[${i}].task`);
    if (!Number.isFinite(w.popularity) || w.popularity < 0) {
      fail(`workload[${i}].popularity`, `must be a finite number >= 0, got ${w.popularity}`);
    }
    sum += w.popularity;
  });
  if (Math.abs(sum - 1) > 1e-6) fail('workload', `popularities must sum to 1, got ${sum}`);
}

function accepts(task: FgdTask, model: string): boolean {
  const m = task.gpuModels;
  return m === undefined || m.length === 0 || m.includes(model);
}

function idleOf(node: FgdNode): number {
  let s = 0;
  for (const f of node.gpuMilliFree) s += f;
  return s;
}

function classify(node: FgdNode, task: FgdTask): FragmentCase {
  if (task.gpuCount === 0) return 'no-gpu-demand';
  if (node.gpuMilliFree.length === 0 || !accepts(task, node.gpuModel)) return 'wrong-gpu-model';
  let usable = 0;
  for (const f of node.gpuMilliFree) if (f >= task.gpuMilli) usable++;
  const gpuOk = usable >= task.gpuCount;
  const cpuOk = node.cpuMilliFree >= task.cpuMilli;
  if (gpuOk) return cpuOk ? 'fits' : 'lacks-cpu';
  return cpuOk ? 'lacks-gpu' : 'lacks-both';
}

function taskFragment(node: FgdNode, task: FgdTask): number {
  if (classify(node, task) !== 'fits') return idleOf(node);
  let frag = 0;
  for (const f of node.gpuMilliFree) if (f < task.gpuMilli) frag += f;
  return frag;
}

/**
 * F_n(M) without input checks, for replay loops that evaluate millions of node states they
 * built themselves. Not exported from the package.
 */
export function nodeFragmentMilliUnchecked(
  node: FgdNode,
  workload: readonly WeightedTask[],
): number {
  let idle = -1;
  let total = 0;
  for (const { task, popularity } of workload) {
    if (popularity === 0) continue;
    if (classify(node, task) === 'fits') {
      let f = 0;
      for (const free of node.gpuMilliFree) if (free < task.gpuMilli) f += free;
      total += popularity * f;
    } else {
      if (idle < 0) idle = idleOf(node);
      total += popularity * idle;
    }
  }
  return total;
}

function zeroCases(): Record<FragmentCase, number> {
  return Object.fromEntries(FRAGMENT_CASES.map(c => [c, 0])) as Record<FragmentCase, number>;
}

/**
 * Builds the FGD fragmentation measure for a target workload. A node's fragment is the GPU
 * share that the next task — drawn from the workload — could not use, in expectation; the
 * cluster's is the sum over nodes. FGD schedules each task where this sum grows least.
 */
export function createFgdMeasure(workload: readonly WeightedTask[]): FgdMeasure {
  validateWorkload(workload);
  const tasks = workload.map(w => ({ task: w.task, p: w.popularity }));
  const measureNode = (node: FgdNode): NodeFragment => {
    const idle = idleOf(node);
    const byCase = zeroCases();
    let total = 0;
    for (const { task, p } of tasks) {
      if (p === 0) continue;
      const c = classify(node, task);
      let f = idle;
      if (c === 'fits') {
        f = 0;
        for (const free of node.gpuMilliFree) if (free < task.gpuMilli) f += free;
      }
      byCase[c] += p * f;
      total += p * f;
    }
    return { fragmentMilli: total, idleMilli: idle, byCase };
  };
  return {
    workload,
    classify: (node, task) => {
      validateFgdNode(node);
      validateFgdTask(task);
      return classify(node, task);
    },
    taskFragment: (node, task) => {
      validateFgdNode(node);
      validateFgdTask(task);
      return taskFragment(node, task);
    },
    node: node => {
      validateFgdNode(node);
      return measureNode(node);
    },
    cluster(nodes) {
      const byCase = zeroCases();
      let fragmentMilli = 0;
      let idleMilli = 0;
      let capacityMilli = 0;
      let i = 0;
      for (const n of nodes) {
        validateFgdNode(n, `nodes[${i++}]`);
        const f = measureNode(n);
        fragmentMilli += f.fragmentMilli;
        idleMilli += f.idleMilli;
        capacityMilli += n.gpuMilliFree.length * GPU_MILLI;
        for (const c of FRAGMENT_CASES) byCase[c] += f.byCase[c];
      }
      return {
        fragmentMilli,
        idleMilli,
        capacityMilli,
        byCase,
        fragmentOfCapacity: capacityMilli > 0 ? fragmentMilli / capacityMilli : 0,
        fragmentOfIdle: idleMilli > 0 ? fragmentMilli / idleMilli : 0,
      };
    },
  };
}

export interface TargetWorkloadOptions {
  /** Keep the most frequent shapes until they cover this share of tasks. Default 0.95. */
  readonly coverage?: number | undefined;
  /** Count CPU-only tasks (they see every free GPU as a fragment). Default true. */
  readonly includeCpuOnly?: boolean | undefined;
}

function taskKey(t: FgdTask): string {
  const models = t.gpuModels && t.gpuModels.length > 0 ? [...t.gpuModels].sort().join('|') : '';
  return `${t.cpuMilli}/${t.gpuCount}/${t.gpuMilli}/${models}`;
}

/**
 * The target workload as FGD estimates it from observed tasks: count identical shapes, keep
 * the most popular ones until they cover `coverage` of the tasks (the long tail adds cost,
 * not accuracy), and renormalise their frequencies to sum to 1.
 */
export function targetWorkload(
  tasks: Iterable<FgdTask>,
  options: TargetWorkloadOptions = {},
): WeightedTask[] {
  const coverage = options.coverage ?? 0.95;
  if (!(coverage > 0 && coverage <= 1)) fail('coverage', `must be within (0, 1], got ${coverage}`);
  const includeCpuOnly = options.includeCpuOnly ?? true;
  const counts = new Map<string, { task: FgdTask; n: number; first: number }>();
  let total = 0;
  let i = 0;
  for (const t of tasks) {
    validateFgdTask(t, `tasks[${i}]`);
    i++;
    if (!includeCpuOnly && t.gpuCount === 0) continue;
    const k = taskKey(t);
    const c = counts.get(k);
    if (c) c.n++;
    else counts.set(k, { task: t, n: 1, first: i });
    total++;
  }
  if (total === 0) fail('tasks', 'no task to build a workload from');
  // Most frequent first; equal counts keep the order they were first seen in (deterministic).
  const ranked = [...counts.values()].sort((a, b) => b.n - a.n || a.first - b.first);
  const kept: { task: FgdTask; n: number }[] = [];
  let covered = 0;
  for (const c of ranked) {
    if (covered >= coverage * total) break;
    kept.push(c);
    covered += c.n;
  }
  return kept.map(c => ({ task: c.task, popularity: c.n / covered }));
}

import type { Cluster } from './cluster.js';
import type { FgdNode, FgdTask } from './fgd.js';
import { GPU_MILLI } from './fgd.js';
import type { InstanceRequest } from './types.js';
import { GPU_SM_PERCENT } from './types.js';

const MILLI_PER_PERCENT = GPU_MILLI / GPU_SM_PERCENT;

/**
 * The cluster as the FGD measure sees it: a GPU's free share is the SM not yet promised
 * (100 − Σr). CPU is not modelled here (Infinity), and FGD has no memory dimension — memory
 * fragments are what `fragmentation()` reports. A node with GPUs of several models
 * becomes one FGD node per model (`<node>/<model>`), since a task asks for one model.
 */
export function fgdNodesFromCluster(cluster: Cluster): FgdNode[] {
  const out: FgdNode[] = [];
  for (const n of cluster.nodes()) {
    const byModel = new Map<string, number[]>();
    for (const g of n.gpus) {
      const free = Math.max(0, GPU_MILLI - g.sumSmRequest * MILLI_PER_PERCENT);
      const list = byModel.get(g.model);
      if (list) list.push(free);
      else byModel.set(g.model, [free]);
    }
    const split = byModel.size > 1;
    for (const [model, gpuMilliFree] of byModel) {
      out.push({
        id: split ? `${n.id}/${model}` : n.id,
        cpuMilliFree: Infinity,
        gpuModel: model,
        gpuMilliFree,
      });
    }
  }
  return out;
}

/**
 * An instance shape as an FGD task: one GPU, r × 10 milli-GPU. A request of 0 % still
 * occupies a GPU, so it counts as the smallest share (1 milli-GPU) rather than as a CPU task.
 */
export function fgdTaskFromRequest(x: InstanceRequest): FgdTask {
  return {
    cpuMilli: 0,
    gpuCount: 1,
    gpuMilli: Math.min(GPU_MILLI, Math.max(1, x.smRequest * MILLI_PER_PERCENT)),
    gpuModels: x.gpuModels,
  };
}

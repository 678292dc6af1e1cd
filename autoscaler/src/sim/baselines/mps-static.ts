import type { ScenarioFunction } from '../scenario.js';
import type { ScalingPolicy } from '../policy.js';
import type { ClusterSpec, KpaSpec } from '../scenario-schema.js';
import { createKpaPolicy } from './kpa-policy.js';
import { BATCH_BUDGET_FRACTION, batchServiceMs, shapeAt } from './sizing.js';

/** The NVIDIA device plugin example configures up to 10 MPS replicas per GPU. */
export const MAX_AUTO_SLICES = 10;

/**
 * `mps-static`: the NVIDIA Kubernetes device plugin with MPS sharing
 * (`sharing.mps.resources[].replicas: k`). Each GPU is cut into k equal slices, each with
 * 100 / k % of the SMs (CUDA_MPS_ACTIVE_THREAD_PERCENTAGE) and 1 / k of the memory; a pod
 * asks for one slice, and requests for more than one are refused, so a model larger than a
 * slice runs on a whole GPU of a separate, unshared pool. Instances use the largest batch that
 * meets the SLO budget at their slice; the KPA scales them on requests per second with the
 * per-pod target set to the slice's profiled capacity (x 70 %). Cost: the slice, 1 / k of a
 * GPU per instance (a whole GPU for the unshared pool).
 */
export function createMpsStatic(
  kpa: KpaSpec,
  cluster: ClusterSpec,
  functions: readonly ScenarioFunction[],
  slicesPerGpu: number | 'auto',
): ScalingPolicy & { readonly slices: number } {
  const k = slicesPerGpu === 'auto' ? autoSlices(cluster, functions) : slicesPerGpu;
  const slice = 100 / k;
  const sliceMem = cluster.gpu.memoryMiB / k;
  const policy = createKpaPolicy('mps-static', kpa, (fn, ctx) => {
    const f = ctx.functions[fn];
    if (!f) throw new RangeError(`no function ${fn}`);
    const whole = f.memoryMiB > sliceMem;
    const sm = whole ? 100 : slice;
    const shape = shapeAt(f.predictor, f.sloMs, sm, sm);
    return {
      batch: shape.batch,
      smRequest: sm,
      smLimit: sm,
      quota: sm,
      // The function's own footprint: the slice bounds it, fragmentation counts what is used.
      memoryMiB: f.memoryMiB,
      exclusive: whole,
      perPodTotal: kpa.metric === 'rps' ? shape.capacityRps : shape.batch,
    };
  });
  return { ...policy, slices: k };
}

/**
 * The operator's choice of k when the scenario leaves it open: the slicing (2 to
 * MAX_AUTO_SLICES) on which one instance of every function takes the fewest GPUs — a function
 * that fits a slice's memory and meets its SLO budget at batch 1 on a slice takes 1 / k of a
 * GPU, any other a whole GPU of the unshared pool. Ties go to the finer slicing.
 */
export function autoSlices(cluster: ClusterSpec, functions: readonly ScenarioFunction[]): number {
  let best = 2;
  let bestFootprint = Infinity;
  for (let k = 2; k <= MAX_AUTO_SLICES; k++) {
    const slice = 100 / k;
    let footprint = 0;
    for (const f of functions) {
      const fits =
        f.memoryMiB <= cluster.gpu.memoryMiB / k &&
        batchServiceMs(f.predictor, { batch: 1, smLimit: slice, quota: slice }) <=
          f.sloMs * BATCH_BUDGET_FRACTION;
      footprint += fits ? 1 / k : 1;
    }
    if (footprint <= bestFootprint + 1e-9) {
      best = k;
      bestFootprint = footprint;
    }
  }
  return best;
}

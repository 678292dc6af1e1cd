import type { ScalingPolicy } from '../policy.js';
import type { KpaSpec } from '../scenario-schema.js';
import { createKpaPolicy } from './kpa-policy.js';
import { BATCH_BUDGET_FRACTION, neededSm, shapeAt } from './sizing.js';

/**
 * `exclusive-kpa`: what Knative and KServe users run today. Every instance holds one whole
 * GPU (`nvidia.com/gpu: 1`), its model runs at 100 % SM with the largest batch that meets the
 * SLO budget, and the revision is autoscaled by the KPA on requests per second with the
 * per-pod target set to that instance's profiled capacity (x 70 % utilisation). Cost: one
 * GPU per instance for as long as it exists. For fragmentation the instance counts the SM it
 * needs (the least SM at which its batch meets the budget), as Dilu's simulator counts its
 * Exclusive baseline, since the rest of the GPU sits idle.
 */
export function createExclusiveKpa(kpa: KpaSpec): ScalingPolicy {
  return createKpaPolicy('exclusive-kpa', kpa, (fn, ctx) => {
    const f = ctx.functions[fn];
    if (!f) throw new RangeError(`no function ${fn}`);
    const shape = shapeAt(f.predictor, f.sloMs, 100, 100);
    const need = neededSm(f.predictor, shape.batch, f.sloMs * BATCH_BUDGET_FRACTION);
    return {
      batch: shape.batch,
      smRequest: need,
      smLimit: 100,
      quota: 100,
      memoryMiB: f.memoryMiB,
      exclusive: true,
      perPodTotal: kpa.metric === 'rps' ? shape.capacityRps : shape.batch,
    };
  });
}

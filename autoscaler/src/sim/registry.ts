import { createExclusiveKpa } from './baselines/exclusive-kpa.js';
import { createFastGshare } from './baselines/fast-gshare.js';
import { createHasGpu } from './baselines/has-gpu.js';
import { createMpsStatic } from './baselines/mps-static.js';
import type { PolicyFactories } from './run.js';
import type { Scenario } from './scenario.js';
import { firstFitPlacer } from './testing.js';

/**
 * The policies `dilu simulate` compares, each with the placer it runs with.
 *
 * INTERIM: until the placement module (autoscaler/src/placement) and the production policy
 * (autoscaler/src/policy) are merged, the baselines place with the first-fit test placer and
 * `dilu` is unavailable. On merge: exclusive and equal-slice placers and the fragmentation
 * metric come from the placement module, `dilu` is the production policy with complementary
 * placement.
 */
export function defaultFactories(): PolicyFactories {
  const gpus = (s: Scenario): number => s.cluster.nodes * s.cluster.gpusPerNode;
  return {
    dilu: () => {
      throw new Error('the dilu policy is not wired yet (waiting for autoscaler/src/policy)');
    },
    'has-gpu': s => ({
      policy: createHasGpu(gpus(s)),
      placer: firstFitPlacer(gpus(s), s.cluster.gpu.memoryMiB),
    }),
    'fast-gshare': s => ({
      policy: createFastGshare(gpus(s)),
      placer: firstFitPlacer(gpus(s), s.cluster.gpu.memoryMiB),
    }),
    'mps-static': s => {
      const policy = createMpsStatic(s.kpa, s.cluster, s.functions, s.mpsSlicesPerGpu);
      return {
        policy,
        placer: firstFitPlacer(gpus(s), s.cluster.gpu.memoryMiB, { slotsPerGpu: policy.slices }),
        settings: { slicesPerGpu: policy.slices },
      };
    },
    'exclusive-kpa': s => ({
      policy: createExclusiveKpa(s.kpa),
      placer: firstFitPlacer(gpus(s), s.cluster.gpu.memoryMiB),
    }),
  };
}

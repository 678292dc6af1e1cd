import { createExclusiveKpa } from './baselines/exclusive-kpa.js';
import { createFastGshare } from './baselines/fast-gshare.js';
import { createHasGpu } from './baselines/has-gpu.js';
import { createMpsStatic } from './baselines/mps-static.js';
import { placementPlacer } from './placement-adapter.js';
import { createDiluPolicy } from './policy-adapters/dilu.js';
import type { Placer } from './policy.js';
import type { PolicyFactories } from './run.js';
import type { Scenario } from './scenario.js';

/**
 * The policies `dilu simulate` compares, each with the placer it runs with. Placement and the
 * fragmentation metric are the placement module's (autoscaler/src/placement), as in the
 * placement service: exclusive-kpa uses its `exclusive` placer, mps-static its `equal-slice`
 * placer (and `exclusive` for models larger than a slice), HAS-GPU and FaST-GShare place with
 * their own SM rows and are only recorded on the cluster.
 * `dilu` is the production policy (autoscaler/src/policy) with the `dilu` placer
 * (complementary best fit), both unchanged.
 */
export function defaultFactories(): PolicyFactories {
  const gpus = (s: Scenario): number => s.cluster.nodes * s.cluster.gpusPerNode;
  const recordOnly = (s: Scenario): Placer =>
    placementPlacer(s, { exclusive: undefined }, () => 'exclusive');
  return {
    dilu: s => ({
      policy: createDiluPolicy(s),
      placer: placementPlacer(s, { dilu: {} }, () => 'dilu'),
    }),
    'has-gpu': s => ({ policy: createHasGpu(gpus(s)), placer: recordOnly(s) }),
    'fast-gshare': s => ({ policy: createFastGshare(gpus(s)), placer: recordOnly(s) }),
    'mps-static': s => {
      const policy = createMpsStatic(s.kpa, s.cluster, s.functions, s.mpsSlicesPerGpu);
      const placer = placementPlacer(
        s,
        { 'equal-slice': { slots: policy.slices }, exclusive: {} },
        x => (x.exclusive ? 'exclusive' : 'equal-slice'),
      );
      return { policy, placer, settings: { slicesPerGpu: policy.slices } };
    },
    'exclusive-kpa': s => ({
      policy: createExclusiveKpa(s.kpa),
      placer: placementPlacer(s, { exclusive: {} }, () => 'exclusive'),
    }),
  };
}

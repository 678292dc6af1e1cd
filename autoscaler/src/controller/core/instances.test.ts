import { describe, expect, it } from '@jest/globals';
import type { V1Pod } from '@kubernetes/client-node';
import { fileURLToPath } from 'node:url';
import { createPredictor, loadProfile } from '../../model/index.js';
import {
  createCoScalingPolicy,
  createInstanceSizer,
  parseFunctionSpec,
} from '../../policy/index.js';
import { buildAllocationIndex, instanceViews } from './instances.js';

const RESNET152 = fileURLToPath(
  new URL('../../../data/profiles/dilu-a100/bs_sm_resnet152.csv', import.meta.url),
);

/** A ready pod the webhook sized at r = 2, l = 10 (an idle floor well below the latency floor). */
function pod(name: string): V1Pod {
  return {
    metadata: {
      name,
      namespace: 'fns',
      annotations: {
        'dilu.dev/decision': JSON.stringify({
          batch: 1,
          smRequest: 2,
          smLimit: 10,
          node: 'n1',
          gpuIndex: 0,
        }),
      },
    },
    spec: { nodeName: 'n1', containers: [] },
    status: { conditions: [{ type: 'Ready', status: 'True' }] },
  };
}

const fallback = {
  batch: 1,
  smRequest: 2,
  smLimit: 10,
  memoryMiB: 3300,
} as unknown as Parameters<typeof instanceViews>[2];

describe('instanceViews for a pod its node agent has not mapped yet', () => {
  it("takes r and l from the webhook's decision and the headroom to reach l", () => {
    const [view] = instanceViews([pod('a')], buildAllocationIndex(new Map()), fallback);
    expect(view).toMatchObject({
      id: 'a',
      batch: 1,
      smRequest: 2,
      smLimit: 10,
      quota: 2,
      quotaHeadroom: 8,
    });
  });

  it('lets the policy size the fleet for the load instead of an unbounded count', () => {
    const views = instanceViews([pod('a'), pod('b')], buildAllocationIndex(new Map()), fallback);
    const policy = createCoScalingPolicy({ sizer: createInstanceSizer() });
    const d = policy.decide({
      spec: parseFunctionSpec({
        name: 'fns/classify',
        sloMs: 150,
        minScale: 1,
        fixed: { batch: 1 },
      }),
      predictor: createPredictor(loadProfile(RESNET152)),
      instances: views,
      load: { samples: [8, 8, 9] },
      nowS: 100,
    });
    // 8 rps: one instance of this configuration reaches about 36 rps at its limit.
    expect(d.desiredReplicas).toBeLessThanOrEqual(3);
  });
});

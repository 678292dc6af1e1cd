import { describe, expect, it } from '@jest/globals';
import type { V1Pod } from '@kubernetes/client-node';
import { fileURLToPath } from 'node:url';
import { createPredictor, loadProfile } from '../../model/index.js';
import {
  createCoScalingPolicy,
  createInstanceSizer,
  parseFunctionSpec,
} from '../../policy/index.js';
import type { Allocation } from '../nodeagent/node-agent-client.js';
import { buildAllocationIndex, createAllocationStore, instanceViews } from './instances.js';

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

describe('instanceViews across ticks (a pod object kept by the informer)', () => {
  const allocation = (quota: number, id = 'a-1'): Allocation => ({
    allocationId: id,
    gpuIndex: 0,
    gpuUuid: 'GPU-0',
    smRequest: 2,
    smLimit: 10,
    quota,
    memoryMiB: 3300,
    generation: 1,
    pod: { namespace: 'fns', name: 'a', uid: 'u', container: 'c' },
  });

  it('follows an allocation the quota actuator updated', () => {
    const store = createAllocationStore();
    store.replaceNode('n1', [allocation(4)]);
    const p = pod('a');
    expect(instanceViews([p], store, fallback)[0]?.quota).toBe(4);
    store.update('n1', allocation(7));
    expect(instanceViews([p], store, fallback)[0]).toMatchObject({ quota: 7, quotaHeadroom: 93 });
  });

  it('drops an allocation the node agent no longer reports', () => {
    const store = createAllocationStore();
    store.replaceNode('n1', [allocation(6)]);
    const p = pod('a');
    const before = store.byPod('fns', 'a');
    expect(instanceViews([p], store, fallback)[0]?.quota).toBe(6);
    store.replaceNode('n1', []);
    expect(before?.current).toBe(false);
    // Unmapped again: the decision's r, and the headroom to reach its l.
    expect(instanceViews([p], store, fallback)[0]).toMatchObject({ quota: 2, quotaHeadroom: 8 });
    store.replaceNode('n1', [allocation(5, 'a-2')]);
    expect(instanceViews([p], store, fallback)[0]?.quota).toBe(5);
  });

  it('follows a pod another node reports last', () => {
    const store = createAllocationStore();
    store.replaceNode('n1', [allocation(6)]);
    const p = pod('a');
    expect(instanceViews([p], store, fallback)[0]?.gpu).toBe('n1/0');
    store.replaceNode('n2', [{ ...allocation(8, 'a-2'), gpuIndex: 1 }]);
    expect(instanceViews([p], store, fallback)[0]).toMatchObject({ gpu: 'n2/1', quota: 8 });
  });

  it('reuses the view while nothing about the pod changed', () => {
    const store = createAllocationStore();
    store.replaceNode('n1', [allocation(6)]);
    const p = pod('a');
    const [first] = instanceViews([p], store, fallback);
    expect(instanceViews([p], store, fallback)[0]).toBe(first);
    // Another pod's quota on the GPU changes this one's headroom: a new view.
    store.update('n1', { ...allocation(30, 'a-9'), pod: null });
    expect(instanceViews([p], store, fallback)[0]).toMatchObject({ quota: 6, quotaHeadroom: 64 });
  });
});

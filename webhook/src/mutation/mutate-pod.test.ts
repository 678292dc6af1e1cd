import { describe, expect, it } from '@jest/globals';
import jsonPatch from 'fast-json-patch';
import type { Decision } from '../decision/decide.js';
import type { Placement } from '../placement/placement-client.js';
import type { Pod } from '../pod/pod-types.js';
import { knativeRevisionPod } from '../test-support/fixtures.js';
import { buildVerifiedPatch } from './json-patch.js';
import { mutatePod } from './mutate-pod.js';

const decision: Decision = {
  batch: 4,
  smRequest: 30,
  smLimit: 45,
  memoryMiB: 3300,
  sloMs: 100,
  class: 'latency-critical',
  source: 'profile',
  needsProfile: false,
  basis: 'test',
};
const placement: Placement = {
  reservation: 'r-1',
  node: 'gpu-node-a',
  gpuIndex: 1,
  memoryUnits: 13,
  expiresAt: '2026-11-23T10:02:00Z',
};

function mutate(pod: Pod, previouslyMutated = false): Pod {
  return mutatePod({
    pod,
    gpuContainerIndex: 0,
    decision,
    placement,
    functionLabel: 'f',
    previouslyMutated,
  });
}

describe('mutatePod and its patch', () => {
  it('leaves the input alone and shares every untouched part', () => {
    const pod = knativeRevisionPod();
    const snapshot = JSON.stringify(pod);
    const after = mutate(pod);
    expect(JSON.stringify(pod)).toBe(snapshot);
    expect(after.spec!.containers[1]).toBe(pod.spec!.containers[1]);
    expect(after.spec!.volumes).toBe(pod.spec!.volumes);
  });

  it('keeps the user’s node affinity terms and pins each to the node', () => {
    const pod = knativeRevisionPod();
    const zoneA = { key: 'topology.kubernetes.io/zone', operator: 'In', values: ['a'] };
    const zoneB = { key: 'topology.kubernetes.io/zone', operator: 'In', values: ['b'] };
    pod.spec!.affinity = {
      nodeAffinity: {
        requiredDuringSchedulingIgnoredDuringExecution: {
          nodeSelectorTerms: [{ matchExpressions: [zoneA] }, { matchExpressions: [zoneB] }],
        },
      },
      podAntiAffinity: { preferredDuringSchedulingIgnoredDuringExecution: [] },
    };
    const pin = { key: 'metadata.name', operator: 'In', values: ['gpu-node-a'] };
    const after = mutate(pod);
    expect(after.spec!.affinity).toEqual({
      nodeAffinity: {
        requiredDuringSchedulingIgnoredDuringExecution: {
          nodeSelectorTerms: [
            { matchExpressions: [zoneA], matchFields: [pin] },
            { matchExpressions: [zoneB], matchFields: [pin] },
          ],
        },
      },
      podAntiAffinity: { preferredDuringSchedulingIgnoredDuringExecution: [] },
    });
    const patch = buildVerifiedPatch(pod, after, 0);
    expect(jsonPatch.applyPatch(structuredClone(pod), patch).newDocument).toEqual(after);
  });

  it('replaces, not stacks, an earlier admission’s pin, resources, env and needs-profile label', () => {
    const first = mutatePod({
      pod: knativeRevisionPod(),
      gpuContainerIndex: 0,
      decision: { ...decision, needsProfile: true },
      placement: { ...placement, node: 'old-node', gpuIndex: 0 },
      functionLabel: 'f',
      previouslyMutated: false,
    });
    const second = mutate(first, true);
    const c = second.spec!.containers[0]!;
    expect(Object.keys(c.resources!.limits!).filter(k => k.startsWith('dilu.dev/'))).toEqual([
      'dilu.dev/gpu1-sm',
      'dilu.dev/gpu1-mem',
    ]);
    expect(c.env!.filter(e => e.name === 'CUDA_MPS_ACTIVE_THREAD_PERCENTAGE')).toEqual([
      { name: 'CUDA_MPS_ACTIVE_THREAD_PERCENTAGE', value: '45' },
    ]);
    expect(
      second.spec!.affinity!.nodeAffinity!.requiredDuringSchedulingIgnoredDuringExecution!
        .nodeSelectorTerms,
    ).toEqual([
      { matchFields: [{ key: 'metadata.name', operator: 'In', values: ['gpu-node-a'] }] },
    ]);
    expect(second.metadata!.labels!['dilu.dev/needs-profile']).toBeUndefined();
  });

  it('refuses to send a patch that would change a sidecar or another field', () => {
    const pod = knativeRevisionPod();
    const after = mutate(pod);
    const sidecarChanged = {
      ...after,
      spec: {
        ...after.spec!,
        containers: [after.spec!.containers[0]!, { ...pod.spec!.containers[1]! }],
      },
    };
    expect(() => buildVerifiedPatch(pod, sidecarChanged, 0)).toThrow(
      'mutation changed container "queue-proxy", which is not the GPU container',
    );
    const volumesChanged = { ...after, spec: { ...after.spec!, volumes: [] } };
    expect(() => buildVerifiedPatch(pod, volumesChanged, 0)).toThrow(
      'mutation changed spec.volumes',
    );
  });

  it('escapes annotation keys in JSON pointers', () => {
    const pod = knativeRevisionPod();
    const patch = buildVerifiedPatch(pod, mutate(pod), 0);
    expect(patch).toContainEqual({
      op: 'add',
      path: '/metadata/annotations/dilu.dev~1gpu-index',
      value: '1',
    });
  });
});

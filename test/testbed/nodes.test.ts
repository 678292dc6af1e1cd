import { describe, expect, it } from '@jest/globals';
import type { TestbedConnection } from './control-plane.js';
import { gpuNodeManifest, gpuNodeResources } from './nodes.js';

const connection = {
  nodeLabel: { key: 'dilu.dev/testbed-node', value: 'kwok' },
} as TestbedConnection;

describe('gpuNodeResources', () => {
  it('advertises one sm/mem pair per GPU and the whole-GPU count', () => {
    expect(
      gpuNodeResources({ name: 'n', gpus: [{ memoryUnits: 160 }, { sm: 50, memoryUnits: 80 }] }),
    ).toEqual({
      cpu: '32',
      memory: '256Gi',
      pods: '110',
      'nvidia.com/gpu': '2',
      'dilu.dev/gpu0-sm': '100',
      'dilu.dev/gpu0-mem': '160',
      'dilu.dev/gpu1-sm': '50',
      'dilu.dev/gpu1-mem': '80',
    });
  });

  it('names the field and the allowed range on bad input', () => {
    expect(() => gpuNodeResources({ name: 'n', gpus: [{ sm: 150, memoryUnits: 1 }] })).toThrow(
      'node n: gpus[0].sm is 150; allowed: an integer 0..100',
    );
    expect(() => gpuNodeResources({ name: 'n', gpus: [{ memoryUnits: -1 }] })).toThrow(
      /gpus\[0\]\.memoryUnits is -1/,
    );
  });
});

describe('gpuNodeManifest', () => {
  it('labels the node for kwok and publishes the memory unit', () => {
    const node = gpuNodeManifest(
      { name: 'n1', gpus: [{ memoryUnits: 4 }], labels: { pool: 'a' }, memoryUnitMiB: 512 },
      connection,
    );
    expect(node.metadata?.labels).toMatchObject({ 'dilu.dev/testbed-node': 'kwok', pool: 'a' });
    expect(node.metadata?.annotations?.['dilu.dev/memory-unit-mib']).toBe('512');
    expect(node.status?.allocatable?.['dilu.dev/gpu0-mem']).toBe('4');
  });
});

import { describe, expect, it } from '@jest/globals';
import { createCluster } from './cluster.js';
import { createFgdMeasure } from './fgd.js';
import { fgdNodesFromCluster, fgdTaskFromRequest } from './fgd-cluster.js';
import { gpuNode, req } from './test-fixtures.js';

describe('FGD view of a placement cluster', () => {
  it('turns unpromised SM into free GPU share and splits mixed-model nodes', () => {
    const c = createCluster([
      gpuNode('n1', 2),
      {
        id: 'mix',
        gpus: [
          { model: 'A100', memoryMiB: 40_960 },
          { model: 'L4', memoryMiB: 24_576 },
        ],
      },
    ]);
    c.add({ ...req('a', 30, 1024), id: 'a' }, { nodeId: 'n1', gpuIndex: 0 });
    c.add({ ...req('b', 12.5, 1024), id: 'b' }, { nodeId: 'mix', gpuIndex: 1 });
    expect(fgdNodesFromCluster(c)).toEqual([
      { id: 'n1', cpuMilliFree: Infinity, gpuModel: 'A100', gpuMilliFree: [700, 1000] },
      { id: 'mix/A100', cpuMilliFree: Infinity, gpuModel: 'A100', gpuMilliFree: [1000] },
      { id: 'mix/L4', cpuMilliFree: Infinity, gpuModel: 'L4', gpuMilliFree: [875] },
    ]);
  });

  it('maps an instance to a one-GPU task of r × 10 milli-GPU (at least 1)', () => {
    expect(fgdTaskFromRequest(req('f', 30, 1024, { gpuModels: ['A100'] }))).toEqual({
      cpuMilli: 0,
      gpuCount: 1,
      gpuMilli: 300,
      gpuModels: ['A100'],
    });
    expect(fgdTaskFromRequest(req('f', 0, 1024, { smLimit: 10 })).gpuMilli).toBe(1);
  });

  it('measures a placement cluster against its own instance shapes', () => {
    const c = createCluster([gpuNode('n1', 2)]);
    c.add({ ...req('a', 80, 1024), id: 'a' }, { nodeId: 'n1', gpuIndex: 0 });
    const m = createFgdMeasure([{ task: fgdTaskFromRequest(req('f', 30, 1)), popularity: 1 }]);
    // GPU 0 has 200 free, too little for a 300 task: a 200 fragment out of 1200 idle.
    const f = m.cluster(fgdNodesFromCluster(c));
    expect(f.fragmentMilli).toBe(200);
    expect(f.fragmentOfIdle).toBeCloseTo(200 / 1200, 12);
  });
});

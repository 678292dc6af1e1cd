import { describe, expect, it } from '@jest/globals';
import { openbTask, parseOpenbNodes, parseOpenbPods } from './openb-trace.js';

const NODES = `sn,cpu_milli,memory_mib,gpu,model
openb-node-0000,64000,262144,2,P100
openb-node-0001,96000,786432,8,G2
cpu-node,32000,131072,0,
`;
const PODS = `name,cpu_milli,memory_mib,num_gpu,gpu_milli,gpu_spec,qos,pod_phase,creation_time,deletion_time,scheduled_time
openb-pod-0000,12000,16384,1,1000,,LS,Running,0,12537496,0
openb-pod-0001,6000,12288,1,460,V100M16|V100M32,BE,Running,427061,,427061
openb-pod-0002,88000,300000,8,1000,,LS,Running,5,9,5
openb-pod-0003,4000,8192,0,0,,BE,Succeeded,7,8,7
`;

describe('parseOpenbNodes', () => {
  it('reads the node list', () => {
    expect(parseOpenbNodes(NODES)).toEqual([
      {
        name: 'openb-node-0000',
        cpuMilli: 64000,
        memoryMiB: 262144,
        gpuCount: 2,
        gpuModel: 'P100',
      },
      { name: 'openb-node-0001', cpuMilli: 96000, memoryMiB: 786432, gpuCount: 8, gpuModel: 'G2' },
      { name: 'cpu-node', cpuMilli: 32000, memoryMiB: 131072, gpuCount: 0, gpuModel: '' },
    ]);
  });

  it.each<[string, string, RegExp]>([
    ['an empty file', '\n\n', /^nodes\.csv: is empty/],
    [
      'a missing column',
      'sn,cpu_milli,gpu,model\nn,1,1,T4\n',
      /^nodes\.csv:1: header lacks column\(s\) memory_mib/,
    ],
    [
      'a short row',
      'sn,cpu_milli,memory_mib,gpu,model\nn,1,1,T4\n',
      /^nodes\.csv:2: expected 5 comma-separated cells, found 4/,
    ],
    [
      'a negative CPU',
      'sn,cpu_milli,memory_mib,gpu,model\nn,-1,1,1,T4\n',
      /^nodes\.csv:2:cpu_milli: must be an integer >= 0, got '-1'/,
    ],
    [
      'a non-numeric GPU count',
      'sn,cpu_milli,memory_mib,gpu,model\nn,1,1,two,T4\n',
      /^nodes\.csv:2:gpu: /,
    ],
    [
      'a GPU node without model',
      'sn,cpu_milli,memory_mib,gpu,model\nn,1,1,2,\n',
      /^nodes\.csv:2:model: must name/,
    ],
    [
      'a duplicate node',
      'sn,cpu_milli,memory_mib,gpu,model\nn,1,1,1,T4\nn,1,1,1,T4\n',
      /^nodes\.csv:3:sn: duplicate node 'n'/,
    ],
    [
      'an empty name',
      'sn,cpu_milli,memory_mib,gpu,model\n,1,1,1,T4\n',
      /^nodes\.csv:2:sn: must not be empty/,
    ],
  ])('rejects %s with file, line and column', (_n, text, message) => {
    expect(() => parseOpenbNodes(text, 'nodes.csv')).toThrow(message);
  });
});

describe('parseOpenbPods', () => {
  it('reads the pod list, GPU model lists and optional times', () => {
    const pods = parseOpenbPods(PODS);
    expect(pods).toHaveLength(4);
    expect(pods[1]).toEqual({
      name: 'openb-pod-0001',
      cpuMilli: 6000,
      memoryMiB: 12288,
      gpuCount: 1,
      gpuMilli: 460,
      gpuModels: ['V100M16', 'V100M32'],
      qos: 'BE',
      creationTime: 427061,
      deletionTime: undefined,
    });
    expect(pods.map(openbTask)).toEqual([
      { cpuMilli: 12000, gpuCount: 1, gpuMilli: 1000, gpuModels: [] },
      { cpuMilli: 6000, gpuCount: 1, gpuMilli: 460, gpuModels: ['V100M16', 'V100M32'] },
      { cpuMilli: 88000, gpuCount: 8, gpuMilli: 1000, gpuModels: [] },
      { cpuMilli: 4000, gpuCount: 0, gpuMilli: 0, gpuModels: [] },
    ]);
  });

  const header = 'name,cpu_milli,memory_mib,num_gpu,gpu_milli,gpu_spec,qos\n';
  it.each<[string, string, RegExp]>([
    [
      'a share above one GPU',
      'p,1,1,1,1200,,LS',
      /^pods\.csv:2:gpu_milli: must be an integer within 0\.\.1000, got '1200'/,
    ],
    [
      'a share without GPU',
      'p,1,1,0,300,,LS',
      /^pods\.csv:2:gpu_milli: must be 0 for a pod with num_gpu 0/,
    ],
    [
      'a GPU without share',
      'p,1,1,2,0,,LS',
      /^pods\.csv:2:gpu_milli: must be > 0 for a pod with num_gpu 2/,
    ],
    ['a fractional CPU', 'p,1.5,1,0,0,,LS', /^pods\.csv:2:cpu_milli: /],
    ['NaN memory', 'p,1,NaN,0,0,,LS', /^pods\.csv:2:memory_mib: /],
    [
      'a quoted cell with a comma',
      'p,1,1,0,0,"a,b",LS',
      /^pods\.csv:2: expected 7 comma-separated cells, found 8/,
    ],
  ])('rejects %s', (_n, row, message) => {
    expect(() => parseOpenbPods(header + row + '\n', 'pods.csv')).toThrow(message);
  });
});

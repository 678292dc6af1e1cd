import { describe, expect, it } from '@jest/globals';
import type { FgdNode, FgdTask, WeightedTask } from './fgd.js';
import { createFgdMeasure, targetWorkload, validateFgdTask } from './fgd.js';
import { PlacementError } from './placement-error.js';

const share: FgdTask = { cpuMilli: 1000, gpuCount: 1, gpuMilli: 500 };
const whole: FgdTask = { cpuMilli: 1000, gpuCount: 1, gpuMilli: 1000 };
const cpuOnly: FgdTask = { cpuMilli: 2000, gpuCount: 0, gpuMilli: 0 };
const workload: WeightedTask[] = [
  { task: share, popularity: 0.5 },
  { task: whole, popularity: 0.3 },
  { task: cpuOnly, popularity: 0.2 },
];
const node = (gpuMilliFree: number[], cpuMilliFree = 10_000, gpuModel = 'T4'): FgdNode => ({
  id: 'n',
  cpuMilliFree,
  gpuModel,
  gpuMilliFree,
});

describe('FGD fragment of one task type on one node', () => {
  const m = createFgdMeasure(workload);
  it.each<[string, FgdNode, FgdTask, string, number]>([
    // Fits: only GPUs with less free than the task needs are fragments.
    ['share task, one GPU too small', node([1000, 300]), share, 'fits', 300],
    ['share task, every GPU big enough', node([1000, 600]), share, 'fits', 0],
    [
      'whole-GPU task: every partial GPU is a fragment',
      node([1000, 300, 999]),
      whole,
      'fits',
      1299,
    ],
    // Cannot run: all free GPU on the node is a fragment.
    ['no GPU big enough', node([400, 300]), share, 'lacks-gpu', 700],
    ['GPUs fit but CPU does not', node([1000, 300], 500), share, 'lacks-cpu', 1300],
    ['neither fits', node([400, 300], 500), share, 'lacks-both', 700],
    [
      'CPU-only task sees all free GPU as fragment',
      node([1000, 300]),
      cpuOnly,
      'no-gpu-demand',
      1300,
    ],
    [
      'task for another GPU model',
      node([1000, 1000]),
      { ...share, gpuModels: ['V100'] },
      'wrong-gpu-model',
      2000,
    ],
    [
      'task accepting this model',
      node([1000, 200]),
      { ...share, gpuModels: ['V100', 'T4'] },
      'fits',
      200,
    ],
    [
      'two-GPU task, one GPU free',
      node([1000, 800]),
      { cpuMilli: 0, gpuCount: 2, gpuMilli: 1000 },
      'lacks-gpu',
      1800,
    ],
    [
      'two-GPU task fits',
      node([1000, 1000, 300]),
      { cpuMilli: 0, gpuCount: 2, gpuMilli: 1000 },
      'fits',
      300,
    ],
    ['fully allocated node has nothing to fragment', node([0, 0]), share, 'lacks-gpu', 0],
  ])('%s', (_n, n, t, kind, fragment) => {
    expect(m.classify(n, t)).toBe(kind);
    expect(m.taskFragment(n, t)).toBe(fragment);
  });
});

describe('FGD fragment of a node and a cluster against a workload', () => {
  const m = createFgdMeasure(workload);

  it('weights each task type by its popularity', () => {
    // share: 0.5·300 = 150; whole: 0.3·300 = 90; cpu-only: 0.2·1300 = 260 → 500
    const f = m.node(node([1000, 300]));
    expect(f.fragmentMilli).toBeCloseTo(500, 9);
    expect(f.idleMilli).toBe(1300);
    expect(f.byCase.fits).toBeCloseTo(240, 9);
    expect(f.byCase['no-gpu-demand']).toBeCloseTo(260, 9);
    expect(f.byCase['lacks-gpu']).toBe(0);
  });

  it('sees the whole node as fragment when no task type fits', () => {
    expect(m.node(node([400, 300], 500)).fragmentMilli).toBeCloseTo(700, 9);
  });

  it('sums nodes and relates the sum to capacity and to idle GPU', () => {
    const c = m.cluster([
      node([1000, 300]),
      { ...node([400, 300]), id: 'm' },
      { ...node([]), id: 'cpu' },
    ]);
    // node 2: share 0.5·700 + whole 0.3·700 + cpu 0.2·700 = 700
    expect(c.fragmentMilli).toBeCloseTo(1200, 9);
    expect(c.idleMilli).toBe(2000);
    expect(c.capacityMilli).toBe(4000);
    expect(c.fragmentOfCapacity).toBeCloseTo(0.3, 12);
    expect(c.fragmentOfIdle).toBeCloseTo(0.6, 12);
    expect(m.cluster([]).fragmentOfCapacity).toBe(0);
  });

  it('grows when a placement strands GPU share (the gradient FGD descends)', () => {
    // Placing a 500 share on the full GPU leaves [500, 300]: whole task can no longer run.
    const before = m.node(node([1000, 300])).fragmentMilli;
    const after = m.node(node([500, 300])).fragmentMilli;
    // share: 0.5·300 = 150; whole: lacks-gpu 0.3·800 = 240; cpu-only: 0.2·800 = 160 → 550
    expect(after).toBeCloseTo(550, 9);
    expect(after - before).toBeCloseTo(50, 9);
  });
});

describe('FGD input checks', () => {
  it.each<[string, WeightedTask[], string]>([
    ['empty workload', [], 'workload'],
    ['popularities not summing to 1', [{ task: share, popularity: 0.7 }], 'workload'],
    [
      'negative popularity',
      [
        { task: share, popularity: -1 },
        { task: whole, popularity: 2 },
      ],
      'workload[0].popularity',
    ],
    [
      'negative CPU',
      [{ task: { ...share, cpuMilli: -1 }, popularity: 1 }],
      'workload[0].task.cpuMilli',
    ],
    [
      'share above one GPU',
      [{ task: { ...share, gpuMilli: 1200 }, popularity: 1 }],
      'workload[0].task.gpuMilli',
    ],
    [
      'GPU share with no GPU',
      [{ task: { ...cpuOnly, gpuMilli: 300 }, popularity: 1 }],
      'workload[0].task.gpuMilli',
    ],
    [
      'fractional GPU count',
      [{ task: { ...share, gpuCount: 1.5 }, popularity: 1 }],
      'workload[0].task.gpuCount',
    ],
    [
      'NaN share',
      [{ task: { ...share, gpuMilli: NaN }, popularity: 1 }],
      'workload[0].task.gpuMilli',
    ],
  ])('rejects %s', (_n, w, field) => {
    let err: unknown;
    try {
      createFgdMeasure(w);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(PlacementError);
    expect((err as PlacementError).field).toBe(field);
  });

  it.each<[string, FgdNode, string]>([
    ['free share above 1000', node([1001]), 'node.gpuMilliFree[0]'],
    ['negative free share', node([1000, -1]), 'node.gpuMilliFree[1]'],
    ['NaN CPU', node([1000], NaN), 'node.cpuMilliFree'],
    ['empty id', { ...node([1000]), id: '' }, 'node.id'],
  ])('rejects a node with %s', (_n, n, field) => {
    const m = createFgdMeasure(workload);
    expect(() => m.node(n)).toThrow(new RegExp(`^${field.replace(/[[\].]/g, '\\$&')}:`));
    expect(() => m.cluster([n])).toThrow(/^nodes\[0\]\./);
  });

  it('accepts Infinity CPU (not modelled)', () => {
    expect(() => {
      validateFgdTask(share);
      createFgdMeasure(workload).node(node([1000], Infinity));
    }).not.toThrow();
  });
});

describe('targetWorkload', () => {
  const t = (gpuMilli: number, cpuMilli = 1000): FgdTask => ({
    cpuMilli,
    gpuCount: gpuMilli > 0 ? 1 : 0,
    gpuMilli,
  });

  it('keeps the most frequent shapes up to the coverage and renormalises', () => {
    const tasks = [...Array<FgdTask>(6).fill(t(500)), ...Array<FgdTask>(3).fill(t(1000)), t(0)];
    const w = targetWorkload(tasks, { coverage: 0.9 });
    expect(w.map(x => [x.task.gpuMilli, x.popularity])).toEqual([
      [500, 6 / 9],
      [1000, 3 / 9],
    ]);
    expect(targetWorkload(tasks).map(x => x.task.gpuMilli)).toEqual([500, 1000, 0]);
  });

  it('can leave CPU-only tasks out', () => {
    const w = targetWorkload([t(500), t(0), t(0)], { includeCpuOnly: false });
    expect(w).toEqual([{ task: t(500), popularity: 1 }]);
  });

  it('treats the same shape with models in another order as one shape', () => {
    const a = { ...t(300), gpuModels: ['T4', 'V100'] };
    const b = { ...t(300), gpuModels: ['V100', 'T4'] };
    expect(targetWorkload([a, b])).toHaveLength(1);
  });

  it.each<[string, FgdTask[], object, string]>([
    ['no tasks', [], {}, 'tasks'],
    ['only CPU tasks when they are excluded', [t(0)], { includeCpuOnly: false }, 'tasks'],
    ['coverage 0', [t(1)], { coverage: 0 }, 'coverage'],
    ['a bad task', [t(1), { ...t(1), cpuMilli: -1 }], {}, 'tasks[1].cpuMilli'],
  ])('rejects %s', (_n, tasks, o, field) => {
    expect(() => targetWorkload(tasks, o)).toThrow(
      new RegExp(`^${field.replace(/[[\].]/g, '\\$&')}:`),
    );
  });
});

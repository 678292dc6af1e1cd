import { describe, expect, it } from '@jest/globals';
import type { WeightedTask } from './fgd.js';
import type { OpenbNode, OpenbPod } from './openb-trace.js';
import type { ReplayOptions, ReplayPolicy } from './openb-replay.js';
import { replayOpenb } from './openb-replay.js';

const nodes: OpenbNode[] = [
  { name: 'n1', cpuMilli: 8000, memoryMiB: 1000, gpuCount: 2, gpuModel: 'T4' },
  { name: 'n2', cpuMilli: 8000, memoryMiB: 1000, gpuCount: 1, gpuModel: 'T4' },
];
const pod = (name: string, gpuMilli: number, cpuMilli = 1000): OpenbPod => ({
  name,
  cpuMilli,
  memoryMiB: 10,
  gpuCount: gpuMilli > 0 ? 1 : 0,
  gpuMilli,
  gpuModels: [],
  qos: 'LS',
  creationTime: 0,
  deletionTime: undefined,
});
const pods = [pod('a', 600), pod('b', 600), pod('c', 1000)];
const workload: WeightedTask[] = [
  { task: { cpuMilli: 1000, gpuCount: 1, gpuMilli: 600 }, popularity: 1 },
];
const asIs = { tuneRatio: 0, shuffle: false, workload } as const;

function curve(policy: ReplayPolicy, o: Partial<ReplayOptions> = {}): string[] {
  const r = replayOpenb(nodes, pods, { ...asIs, policy, ...o });
  return r.points.map(
    p => `${p.arrivedPercent}:${p.fragmentPercent.toFixed(2)}/${p.allocatedPercent.toFixed(2)}`,
  );
}

describe('replayOpenb on a hand-checked cluster (3 GPUs, tasks of 0.6 GPU)', () => {
  it('best-fit: a to n2 (tighter), b to n1, c fills n1', () => {
    // after a: n1 [1000,1000] frag 0, n2 [400] too small → 400 → 13.33 % of 3000
    // after b: n1 [400,1000] frag 400 + n2 400 → 26.67 %
    // after c: n1 [400,0] too small → 400, n2 400 → 26.67 %, allocated 2200/3000
    expect(curve('best-fit')).toEqual(['20:13.33/20.00', '40:26.67/40.00', '73:26.67/73.33']);
  });

  it('fgd: equal fragment growth, so the node with less free GPU (n2) takes a', () => {
    expect(curve('fgd')).toEqual(['20:13.33/20.00', '40:26.67/40.00', '73:26.67/73.33']);
  });

  it('first-fit: a and b fill n1, c takes n2', () => {
    // after a: n1 [400,1000] → 400; after b: n1 [400,400] → 800; after c: n2 [0] → 800
    expect(curve('first-fit')).toEqual(['20:13.33/20.00', '40:26.67/40.00', '73:26.67/73.33']);
    const r = replayOpenb(nodes, pods, { ...asIs, policy: 'first-fit' });
    expect([r.placedPods, r.failedPods]).toEqual([3, 0]);
  });

  it('fgd strands less than best-fit where the choices differ', () => {
    // Workload: half 0.6-GPU tasks, half whole GPUs. Pods 0.4, 0.7, 0.2 GPU.
    // best-fit: 0.4 → n2 [600]; 0.7 → n1 [300,1000]; 0.2 → n2 (tightest node) [400].
    //   n1: 0.5·300 + 0.5·300 = 300; n2: nothing fits, 400 → 700 = 23.33 %
    // fgd: 0.4 → n2 (tie, less free); 0.7 → n1; 0.2 onto n1's GPU with 300 left (fragment
    //   300 → 100, a drop of 200, where n2 would grow it by 100) → 100 + 300 = 13.33 %
    const mixed: WeightedTask[] = [
      { task: { cpuMilli: 1000, gpuCount: 1, gpuMilli: 600 }, popularity: 0.5 },
      { task: { cpuMilli: 1000, gpuCount: 1, gpuMilli: 1000 }, popularity: 0.5 },
    ];
    const three = [pod('a', 400), pod('b', 700), pod('c', 200)];
    const last = (policy: ReplayPolicy): string => {
      const r = replayOpenb(nodes, three, { ...asIs, workload: mixed, policy });
      return r.points.at(-1)?.fragmentPercent.toFixed(2) ?? '';
    };
    expect([last('best-fit'), last('fgd'), last('first-fit')]).toEqual(['23.33', '13.33', '13.33']);
  });

  it('counts pods that fit nowhere and reports fragment of idle GPU', () => {
    const r = replayOpenb(nodes, [...pods, pod('d', 600)], { ...asIs, policy: 'best-fit' });
    expect([r.placedPods, r.failedPods]).toEqual([3, 1]);
    const last = r.points.at(-1);
    expect(last?.arrivedPercent).toBe(93);
    expect(last?.fragmentOfIdlePercent).toBeCloseTo(100, 9);
  });

  it('is reproducible for a seed, with sampling and shuffling', () => {
    const o = { policy: 'random', seed: 7, tuneRatio: 1, workload } as const;
    const a = replayOpenb(nodes, pods, o);
    expect(replayOpenb(nodes, pods, o)).toEqual(a);
    expect(a.arrivedPods).toBeGreaterThanOrEqual(3);
    // Arrivals stop before their GPU demand would pass 100 % of capacity.
    expect(a.points.at(-1)?.arrivedPercent).toBeLessThanOrEqual(100);
  });

  it('builds the workload from the pods when none is given', () => {
    const r = replayOpenb(nodes, pods, { policy: 'best-fit', tuneRatio: 0, shuffle: false });
    // Workload: 2/3 tasks of 0.6 GPU, 1/3 whole GPUs. After a: n2 [400] fragment for both (400);
    // n1 [1000,1000] none. 400 / 3000 = 13.33 %.
    expect(r.points[0]?.fragmentPercent).toBeCloseTo(13.33, 2);
  });

  it.each<[string, Partial<ReplayOptions>, RegExp]>([
    ['an unknown policy', { policy: 'worst-fit' as ReplayPolicy }, /^policy: must be one of/],
    ['a negative tune ratio', { tuneRatio: -1 }, /^tuneRatio: /],
    ['a NaN resolution', { fgdResolutionMilli: NaN }, /^fgdResolutionMilli: /],
    ['a fractional seed', { seed: 1.5 }, /^seed: /],
    ['a bad workload', { workload: [] }, /^workload: /],
  ])('rejects %s', (_n, o, message) => {
    expect(() => replayOpenb(nodes, pods, { policy: 'best-fit', ...o })).toThrow(message);
  });

  it('rejects an empty pod list and a cluster without GPUs', () => {
    expect(() => replayOpenb(nodes, [], { policy: 'fgd' })).toThrow(/^pods: /);
    const cpu = [{ ...nodes[0], gpuCount: 0 } as OpenbNode];
    expect(() => replayOpenb(cpu, pods, { policy: 'fgd' })).toThrow(/^nodes: /);
  });
});

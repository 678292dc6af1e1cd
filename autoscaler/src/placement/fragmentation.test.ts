import { describe, expect, it } from '@jest/globals';
import { createCluster } from './cluster.js';
import { createActiveGpuCounter, fragmentation, fragmentationByScan } from './fragmentation.js';
import { PlacementError } from './placement-error.js';
import { gpuNode, req } from './test-fixtures.js';

describe('fragmentation (DESIGN.md §7)', () => {
  it('is the mean over active GPUs of unrequested SM and unused memory', () => {
    const c = createCluster([gpuNode('n1', 3)]);
    // GPU 0: Σr = 70, Σm = 10 240 of 40 960; GPU 1: Σr = 40, Σm = 30 720; GPU 2 idle.
    c.add({ ...req('a', 50, 8192), id: 'a' }, { nodeId: 'n1', gpuIndex: 0 });
    c.add({ ...req('b', 20, 2048), id: 'b' }, { nodeId: 'n1', gpuIndex: 0 });
    c.add({ ...req('c', 40, 30_720), id: 'c' }, { nodeId: 'n1', gpuIndex: 1 });
    // SM: ((1 − .7) + (1 − .4)) / 2 = .45; memory: ((1 − .25) + (1 − .75)) / 2 = .5
    const f = fragmentation(c);
    expect(f.activeGpus).toBe(2);
    expect(f.sm).toBeCloseTo(0.45, 12);
    expect(f.memory).toBeCloseTo(0.5, 12);
    const scan = fragmentationByScan(c);
    expect(scan.activeGpus).toBe(2);
    expect(scan.sm).toBeCloseTo(f.sm, 12);
    expect(scan.memory).toBeCloseTo(f.memory, 12);
  });

  it('is 0 with no active GPU, and idle GPUs never count', () => {
    const c = createCluster([gpuNode('n1', 8)]);
    expect(fragmentation(c)).toEqual({ activeGpus: 0, sm: 0, memory: 0 });
    c.add({ ...req('a', 100, 40_960), id: 'a' }, { nodeId: 'n1', gpuIndex: 3 });
    expect(fragmentation(c)).toEqual({ activeGpus: 1, sm: 0, memory: 0 });
    c.remove('a');
    expect(fragmentation(c)).toEqual({ activeGpus: 0, sm: 0, memory: 0 });
  });

  it('counts requests above 100 % (ω > 1) as a full GPU, not a negative fragment', () => {
    const c = createCluster([gpuNode('n1', 1)]);
    c.add({ ...req('a', 80, 1024), id: 'a' }, { nodeId: 'n1', gpuIndex: 0 });
    c.add({ ...req('b', 40, 1024), id: 'b' }, { nodeId: 'n1', gpuIndex: 0 });
    expect(fragmentation(c).sm).toBe(0);
    expect(fragmentationByScan(c).sm).toBe(0);
  });
});

describe('createActiveGpuCounter', () => {
  it('gives peak and time-weighted mean of a step function', () => {
    const k = createActiveGpuCounter();
    k.observe(0, 2);
    k.observe(10, 6); // 2 GPUs for 10 s
    k.observe(15, 4); // 6 GPUs for 5 s
    // 4 GPUs for 5 s up to t = 20: (20 + 30 + 20) / 20 = 3.5
    expect(k.summary(20)).toEqual({
      peak: 6,
      mean: 3.5,
      gpuSeconds: 70,
      durationSeconds: 20,
      observations: 3,
    });
    expect(k.summary()).toMatchObject({ gpuSeconds: 50, durationSeconds: 15 });
  });

  it('handles no and single observations', () => {
    const k = createActiveGpuCounter();
    expect(k.summary()).toEqual({
      peak: 0,
      mean: 0,
      gpuSeconds: 0,
      durationSeconds: 0,
      observations: 0,
    });
    k.observe(5, 3);
    expect(k.summary()).toMatchObject({ peak: 3, mean: 3, durationSeconds: 0 });
  });

  it.each<[string, (k: ReturnType<typeof createActiveGpuCounter>) => void, string]>([
    ['time going back', k => k.observe(4, 1), 'timeSeconds'],
    ['NaN time', k => k.observe(NaN, 1), 'timeSeconds'],
    ['negative count', k => k.observe(6, -1), 'activeGpus'],
    ['fractional count', k => k.observe(6, 1.5), 'activeGpus'],
    ['summary before the last observation', k => k.summary(1), 'endSeconds'],
  ])('rejects %s', (_n, act, field) => {
    const k = createActiveGpuCounter();
    k.observe(5, 1);
    expect(() => act(k)).toThrow(PlacementError);
    expect(() => act(k)).toThrow(new RegExp(`^${field}:`));
  });
});

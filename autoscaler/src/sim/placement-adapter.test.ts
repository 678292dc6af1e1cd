import { describe, expect, it } from '@jest/globals';
import { placementPlacer } from './placement-adapter.js';
import { testScenario } from './testing.js';

const s = testScenario({
  durationSeconds: 1,
  functions: [{ arrivals: [] }],
  nodes: 2,
  gpusPerNode: 2,
});
const inst = (
  id: number,
  smRequest: number,
  extra: { exclusive?: boolean; memoryMiB?: number } = {},
) => ({
  id,
  fn: 0,
  class: 'latency-critical' as const,
  smRequest,
  smLimit: Math.max(smRequest, 1),
  memoryMiB: extra.memoryMiB ?? 1000,
  exclusive: extra.exclusive ?? false,
});

describe('placementPlacer', () => {
  it('places through the placement module and numbers GPUs node by node', () => {
    const p = placementPlacer(s, { exclusive: {} }, () => 'exclusive');
    expect([1, 2, 3, 4].map(i => p.place(inst(i, 10, { exclusive: true })))).toEqual([0, 1, 2, 3]);
    expect(p.place(inst(5, 10, { exclusive: true }))).toBeUndefined();
    p.remove(2);
    expect(p.place(inst(6, 10, { exclusive: true }))).toBe(1);
  });

  it('routes per instance, records self-placed instances and reports fragmentation', () => {
    const p = placementPlacer(s, { 'equal-slice': { slots: 4 }, exclusive: {} }, x =>
      x.exclusive ? 'exclusive' : 'equal-slice',
    );
    expect(p.place(inst(1, 25))).toBe(0);
    expect(p.place(inst(2, 25))).toBe(0);
    expect(p.place(inst(3, 100, { exclusive: true, memoryMiB: 20000 }))).toBe(1);
    p.record(inst(4, 30), 3);
    const f = p.fragmentation();
    expect(f.activeGpus).toBe(3);
    // GPU 0: 1 - 0.5; GPU 1: 0; GPU 3: 1 - 0.3.
    expect(f.sm).toBeCloseTo((0.5 + 0 + 0.7) / 3, 9);
    p.resize(4, 20);
    expect(p.fragmentation().sm).toBeCloseTo((0.5 + 0 + 0.8) / 3, 9);
    p.remove(99); // unknown ids are ignored
  });
});

import { describe, expect, it } from '@jest/globals';
import { createCluster } from './cluster.js';
import { fragmentation, fragmentationByScan } from './fragmentation.js';
import { PlacementError } from './placement-error.js';
import { createRng } from './rng.js';
import { A100_MIB, gpuNode, req } from './test-fixtures.js';

const spec = (id: string, r: number, m: number, extra: object = {}) => ({
  ...req('f', r, m),
  id,
  ...extra,
});

describe('createCluster', () => {
  it('lists nodes and GPUs in order and keeps per-GPU sums', () => {
    const c = createCluster([gpuNode('n1', 2), gpuNode('n2', 1, 24_576, 'L4')]);
    expect(c.gpus().map(g => `${g.nodeId}/${g.gpuIndex}:${g.model}`)).toEqual([
      'n1/0:A100',
      'n1/1:A100',
      'n2/0:L4',
    ]);
    c.add({ ...spec('a', 30, 4096), smLimit: 50 }, { nodeId: 'n1', gpuIndex: 1 });
    c.add({ ...spec('b', 20, 1024), class: 'best-effort' }, { nodeId: 'n1', gpuIndex: 1 });
    const g = c.gpu({ nodeId: 'n1', gpuIndex: 1 });
    expect([g.sumSmRequest, g.sumSmLimit, g.sumMemoryMiB, g.instanceCount]).toEqual([
      50, 70, 5120, 2,
    ]);
    expect([g.latencyCriticalCount, g.bestEffortCount, g.replicasOf('f')]).toEqual([1, 1, 2]);
    expect(g.instanceIds()).toEqual(['a', 'b']);
    expect(c.node('n1').activeGpuCount).toBe(1);
    expect(c.instance('a')).toMatchObject({ nodeId: 'n1', gpuIndex: 1, smRequest: 30 });
    expect([...c.instances()].map(i => i.id)).toEqual(['a', 'b']);
  });

  it('never overcommits memory, also on update', () => {
    const c = createCluster([gpuNode('n1', 1)]);
    c.add(spec('a', 10, 30_000), { nodeId: 'n1', gpuIndex: 0 });
    expect(() => c.add(spec('b', 10, 12_000), { nodeId: 'n1', gpuIndex: 0 })).toThrow(
      /memoryMiB: 12000 MiB does not fit GPU n1\/0: 10960 of 40960 MiB free/,
    );
    c.add(spec('b', 10, 10_960), { nodeId: 'n1', gpuIndex: 0 });
    expect(() => c.update('b', { memoryMiB: 11_000 })).toThrow(PlacementError);
    expect(c.instance('b').memoryMiB).toBe(10_960);
    expect(c.gpu({ nodeId: 'n1', gpuIndex: 0 }).sumMemoryMiB).toBe(A100_MIB);
  });

  it('updates r, l, m in place and moves the sums by the difference', () => {
    const c = createCluster([gpuNode('n1', 1)]);
    c.add({ ...spec('a', 30, 4096), smLimit: 50 }, { nodeId: 'n1', gpuIndex: 0 });
    c.add(spec('b', 10, 1024), { nodeId: 'n1', gpuIndex: 0 });
    const a = c.update('a', { smRequest: 40, smLimit: 60 });
    expect(a).toMatchObject({ smRequest: 40, smLimit: 60, memoryMiB: 4096 });
    const g = c.gpu({ nodeId: 'n1', gpuIndex: 0 });
    expect([g.sumSmRequest, g.sumSmLimit, g.sumMemoryMiB]).toEqual([50, 70, 5120]);
    expect(() => c.update('a', { smRequest: 70 })).toThrow(/smLimit: must be >= smRequest \(70\)/);
  });

  it('keeps exclusive instances alone on their GPU', () => {
    const c = createCluster([gpuNode('n1', 1)]);
    c.add(spec('a', 10, 1024), { nodeId: 'n1', gpuIndex: 0 });
    expect(() =>
      c.add(spec('x', 100, 1024, { exclusive: true }), { nodeId: 'n1', gpuIndex: 0 }),
    ).toThrow(/exclusive: GPU n1\/0 already holds 1 instance/);
    c.remove('a');
    c.add(spec('x', 100, 1024, { exclusive: true }), { nodeId: 'n1', gpuIndex: 0 });
    expect(c.gpu({ nodeId: 'n1', gpuIndex: 0 }).exclusive).toBe(true);
    expect(() => c.add(spec('b', 1, 1), { nodeId: 'n1', gpuIndex: 0 })).toThrow(/held exclusively/);
  });

  it("respects the profile's GPU models", () => {
    const c = createCluster([gpuNode('n1', 1, 24_576, 'L4')]);
    const r = { ...spec('a', 10, 1024), gpuModels: ['A100'] };
    expect(() => c.add(r, { nodeId: 'n1', gpuIndex: 0 })).toThrow(/gpuModels: GPU n1\/0 is a L4/);
  });

  it.each<[string, (c: ReturnType<typeof createCluster>) => unknown, string, RegExp]>([
    ['unknown node', c => c.gpu({ nodeId: 'nx', gpuIndex: 0 }), 'nodeId', /unknown node 'nx'/],
    [
      'unknown GPU index',
      c => c.gpu({ nodeId: 'n1', gpuIndex: 2 }),
      'gpuIndex',
      /has no GPU 2 \(it has 2\)/,
    ],
    ['fractional GPU index', c => c.gpu({ nodeId: 'n1', gpuIndex: 0.5 }), 'gpuIndex', /no GPU 0.5/],
    ['unknown instance', c => c.instance('nope'), 'instanceId', /unknown instance 'nope'/],
    ['remove unknown', c => c.remove('nope'), 'instanceId', /unknown instance/],
    ['update unknown', c => c.update('nope', {}), 'instanceId', /unknown instance/],
    [
      'duplicate instance',
      c => c.add(spec('a', 1, 1), { nodeId: 'n1', gpuIndex: 1 }),
      'id',
      /already placed/,
    ],
    ['duplicate node', c => c.addNode(gpuNode('n1', 1)), 'id', /node 'n1' already exists/],
    ['node with instances', c => c.removeNode('n1'), 'nodeId', /still holds 1 instance\(s\) \(a\)/],
    [
      'bad instance spec',
      c => c.add(spec('z', -3, 1), { nodeId: 'n1', gpuIndex: 1 }),
      'smRequest',
      /got -3/,
    ],
    [
      'instance without id',
      c => c.add(spec('', 3, 1), { nodeId: 'n1', gpuIndex: 1 }),
      'id',
      /non-empty/,
    ],
  ])('rejects %s with an error naming the field', (_n, act, field, message) => {
    const c = createCluster([gpuNode('n1', 2)]);
    c.add(spec('a', 10, 1024), { nodeId: 'n1', gpuIndex: 0 });
    let err: unknown;
    try {
      act(c);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(PlacementError);
    expect((err as PlacementError).field).toBe(field);
    expect((err as PlacementError).message).toMatch(message);
    // Nothing was lost or half-applied.
    expect(c.summary()).toMatchObject({ instances: 1, activeGpus: 1 });
  });

  it('adds and removes nodes; a removed node leaves the GPU order', () => {
    const c = createCluster([gpuNode('n1', 1), gpuNode('n2', 2)]);
    c.removeNode('n1');
    expect(c.gpus().map(g => g.nodeId)).toEqual(['n2', 'n2']);
    c.addNode(gpuNode('n3', 1));
    expect(c.summary()).toMatchObject({ nodes: 2, gpus: 3, activeGpus: 0 });
  });

  it('visits active GPUs, then one idle GPU per node and kind with how many it stands for', () => {
    const c = createCluster([
      gpuNode('n1', 4),
      {
        id: 'mix',
        gpus: [
          { model: 'A100', memoryMiB: A100_MIB },
          { model: 'L4', memoryMiB: 24_576 },
          { model: 'A100', memoryMiB: A100_MIB },
        ],
      },
      gpuNode('full', 1),
    ]);
    c.add(spec('a', 10, 1), { nodeId: 'n1', gpuIndex: 0 });
    c.add(spec('b', 10, 1), { nodeId: 'mix', gpuIndex: 0 });
    c.add(spec('c', 10, 1), { nodeId: 'full', gpuIndex: 0 });
    c.add(spec('d', 10, 1), { nodeId: 'n1', gpuIndex: 2 });
    c.remove('a');
    const seen: string[] = [];
    c.forEachCandidate((g, alike) => seen.push(`${g.nodeId}/${g.gpuIndex}x${alike}`));
    expect(seen.slice(0, 3).sort()).toEqual(['full/0x1', 'mix/0x1', 'n1/2x1']);
    expect(seen.slice(3)).toEqual(['n1/0x3', 'mix/2x1', 'mix/1x1']);
    expect(c.gpus().map(g => g.order)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    c.remove('c');
    c.remove('d');
    c.removeNode('full');
    c.removeNode('n1');
    expect(c.gpus().map(g => `${g.nodeId}/${g.gpuIndex}@${g.order}`)).toEqual([
      'mix/0@0',
      'mix/1@1',
      'mix/2@2',
    ]);
  });

  it('keeps running totals equal to a full rescan through 5,000 random changes', () => {
    const c = createCluster([gpuNode('n1', 4), gpuNode('n2', 4, 81_920)]);
    const rnd = createRng(7);
    const ids: string[] = [];
    for (let step = 0; step < 5000; step++) {
      const roll = rnd();
      if (roll < 0.5 || ids.length === 0) {
        const g = c.gpus()[Math.floor(rnd() * c.gpus().length)];
        if (!g) throw new Error('no gpu');
        const r = Math.round(rnd() * 40 * 10) / 10;
        const m = 1 + Math.floor(rnd() * 8000);
        if (g.sumMemoryMiB + m > g.memoryMiB) continue;
        const id = `i${step}`;
        c.add({ ...req(`f${step % 5}`, r, m, { smLimit: r + 10 }), id }, g);
        ids.push(id);
      } else if (roll < 0.8) {
        const [id] = ids.splice(Math.floor(rnd() * ids.length), 1);
        c.remove(id ?? '');
      } else {
        const id = ids[Math.floor(rnd() * ids.length)] ?? '';
        c.update(id, { smRequest: Math.round(rnd() * 300) / 10, smLimit: 40 });
      }
      const fast = fragmentation(c);
      const slow = fragmentationByScan(c);
      expect(fast.activeGpus).toBe(slow.activeGpus);
      expect(fast.sm).toBeCloseTo(slow.sm, 9);
      expect(fast.memory).toBeCloseTo(slow.memory, 9);
    }
    expect(c.summary().instances).toBe(ids.length);
  });
});

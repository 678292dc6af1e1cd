import { describe, expect, it } from '@jest/globals';
import type { Cluster } from './cluster.js';
import { createCluster } from './cluster.js';
import { PlacementError } from './placement-error.js';
import type { PlacerKind, RejectReason } from './placer.js';
import { createPlacer } from './placer.js';
import { createRng } from './rng.js';
import { gpuNode, req } from './test-fixtures.js';
import type { GpuRef, InstanceClass, InstanceRequest } from './types.js';

interface Resident {
  gpu: number;
  fn?: string;
  r: number;
  l?: number;
  m: number;
  cls?: InstanceClass;
}

/** One node with `gpus` A100-40GB GPUs and the given residents already on them. */
function clusterWith(gpus: number, residents: readonly Resident[] = []): Cluster {
  const c = createCluster([gpuNode('n1', gpus)]);
  residents.forEach((x, i) => {
    c.add(
      {
        ...req(x.fn ?? `other${i}`, x.r, x.m, { smLimit: x.l ?? x.r, class: x.cls }),
        id: `res${i}`,
      },
      { nodeId: 'n1', gpuIndex: x.gpu },
    );
  });
  return c;
}

function where(c: Cluster, kind: PlacerKind, x: InstanceRequest, options?: object): string {
  const r = createPlacer(kind, { cluster: c }, options as never).place(x);
  if (!r.placed) return `none:${reasons(r.rejected)}`;
  return `${r.instance.nodeId}/${r.instance.gpuIndex}`;
}

function reasons(rejected: Readonly<Record<RejectReason, number>>): string {
  return Object.entries(rejected)
    .filter(([, n]) => n > 0)
    .map(([k, n]) => `${k}=${n}`)
    .join(',');
}

describe('dilu placer: feasibility (one GPU, residents already there)', () => {
  it.each<[string, Resident[], InstanceRequest, object | undefined, string]>([
    ['Σr + r = 100 fits', [{ gpu: 0, r: 70, m: 1024 }], req('f', 30, 1024), undefined, 'n1/0'],
    [
      'Σr + r > 100',
      [{ gpu: 0, r: 70, m: 1024 }],
      req('f', 31, 1024),
      undefined,
      'none:sm-request=1',
    ],
    [
      'ω = 1.1 admits 110',
      [{ gpu: 0, r: 70, m: 1024 }],
      req('f', 40, 1024),
      { requestCap: 1.1 },
      'n1/0',
    ],
    [
      'Σl + l = 150 fits',
      [{ gpu: 0, r: 40, l: 100, m: 1024 }],
      req('f', 20, 1024, { smLimit: 50 }),
      undefined,
      'n1/0',
    ],
    [
      'Σl + l > 150',
      [{ gpu: 0, r: 40, l: 100, m: 1024 }],
      req('f', 20, 1024, { smLimit: 51 }),
      undefined,
      'none:sm-limit=1',
    ],
    [
      'γ = 1 forbids overcommit',
      [{ gpu: 0, r: 40, l: 100, m: 1024 }],
      req('f', 20, 1024, { smLimit: 50 }),
      { limitCap: 1 },
      'none:sm-limit=1',
    ],
    [
      'memory exactly full fits',
      [{ gpu: 0, r: 10, m: 30_000 }],
      req('f', 10, 10_960),
      undefined,
      'n1/0',
    ],
    [
      'memory one MiB over',
      [{ gpu: 0, r: 10, m: 30_000 }],
      req('f', 10, 10_961),
      undefined,
      'none:memory=1',
    ],
    [
      'wrong GPU model',
      [],
      req('f', 10, 1024, { gpuModels: ['H100'] }),
      undefined,
      'none:gpu-model=1',
    ],
    ['model listed', [], req('f', 10, 1024, { gpuModels: ['H100', 'A100'] }), undefined, 'n1/0'],
  ])('%s', (_name, residents, x, options, expected) => {
    expect(where(clusterWith(1, residents), 'dilu', x, options)).toBe(expected);
  });

  it('never shares a GPU held by an exclusive instance', () => {
    const c = clusterWith(1);
    createPlacer('exclusive', { cluster: c }).place(req('big', 100, 1024));
    expect(where(c, 'dilu', req('f', 1, 1))).toBe('none:exclusive=1');
  });
});

describe('dilu placer: which GPU', () => {
  const be: InstanceClass = 'best-effort';
  it.each<[string, number, Resident[], InstanceRequest, string, string]>([
    [
      'best fit: the fuller GPU',
      2,
      [
        { gpu: 0, r: 20, m: 4096 },
        { gpu: 1, r: 60, m: 4096 },
      ],
      req('f', 30, 4096),
      'n1/1',
      'n1/1',
    ],
    [
      // A: S' = .8, U' = .2 (fit .44, balance .6 → .56); B: S' = U' = .5 (fit .5, balance 0 → .5)
      'compute-heavy joins memory-heavy residents',
      2,
      [
        { gpu: 0, r: 40, m: 4096, cls: be },
        { gpu: 1, r: 10, m: 16_384, cls: be },
      ],
      req('f', 40, 4096),
      'n1/1',
      'n1/0',
    ],
    [
      'memory-heavy joins compute-heavy residents',
      2,
      // A: S' = .3, U' = .9 (fit .46, balance .6 → .58); B: S' = U' = .5 (fit .5 → .5)
      [
        { gpu: 0, r: 20, m: 20_480, cls: be },
        { gpu: 1, r: 40, m: 4096, cls: be },
      ],
      req('f', 10, 16_384),
      'n1/1',
      'n1/0',
    ],
    [
      'latency-critical joins best-effort residents',
      2,
      [
        { gpu: 0, r: 30, m: 4096 },
        { gpu: 1, r: 30, m: 4096, cls: be },
      ],
      req('f', 20, 2048),
      'n1/1',
      'n1/0',
    ],
    [
      'best-effort joins latency-critical residents',
      2,
      [
        { gpu: 0, r: 30, m: 4096, cls: be },
        { gpu: 1, r: 30, m: 4096 },
      ],
      req('f', 20, 2048, { class: be }),
      'n1/1',
      'n1/0',
    ],
    [
      'a replica avoids a GPU holding its function when another fits',
      2,
      [
        { gpu: 0, fn: 'f', r: 50, m: 4096 },
        { gpu: 1, r: 20, m: 4096 },
      ],
      req('f', 30, 4096),
      'n1/1',
      'n1/0',
    ],
    [
      'a replica opens a fresh GPU rather than join its own function',
      2,
      [{ gpu: 0, fn: 'f', r: 50, m: 4096 }],
      req('f', 30, 4096),
      'n1/1',
      'n1/0',
    ],
    [
      'a replica joins its function when nothing else fits',
      2,
      [
        { gpu: 0, fn: 'f', r: 50, m: 4096 },
        { gpu: 1, r: 80, m: 4096 },
      ],
      req('f', 30, 4096),
      'n1/0',
      'n1/0',
    ],
    [
      '…and then the GPU with the fewest of its replicas',
      2,
      [
        { gpu: 0, fn: 'f', r: 20, m: 4096 },
        { gpu: 0, fn: 'f', r: 20, m: 4096 },
        { gpu: 1, fn: 'f', r: 10, m: 4096 },
      ],
      req('f', 30, 4096),
      'n1/1',
      'n1/0',
    ],
    [
      'an active GPU that fits beats a fresh one, even a lopsided fit',
      2,
      [{ gpu: 0, r: 60, m: 36_000, cls: be }],
      req('f', 30, 1024),
      'n1/0',
      'n1/0',
    ],
    [
      'a fresh GPU only when no active one fits',
      2,
      [{ gpu: 0, r: 90, m: 1024 }],
      req('f', 20, 1024),
      'n1/1',
      'n1/1',
    ],
  ])('%s', (_name, gpus, residents, x, dilu, bestFit) => {
    expect(where(clusterWith(gpus, residents), 'dilu', x)).toBe(dilu);
    expect(where(clusterWith(gpus, residents), 'best-fit', x)).toBe(bestFit);
  });

  it('with spreadReplicas off, a replica takes the best fit', () => {
    const c = clusterWith(2, [
      { gpu: 0, fn: 'f', r: 50, m: 4096 },
      { gpu: 1, r: 20, m: 4096 },
    ]);
    expect(where(c, 'dilu', req('f', 30, 4096), { spreadReplicas: false })).toBe('n1/0');
  });

  it('opens the fresh GPU on a node already in use, and the tightest in memory', () => {
    const c = createCluster([gpuNode('big', 2, 81_920), gpuNode('n1', 2), gpuNode('n2', 2)]);
    c.add({ ...req('g', 90, 1024), id: 'x' }, { nodeId: 'n2', gpuIndex: 0 });
    const p = createPlacer('dilu', { cluster: c });
    const r = p.place(req('f', 30, 8192));
    expect(r.placed && `${r.instance.nodeId}/${r.instance.gpuIndex}`).toBe('n2/1');
    expect(r.placed && r.freshGpu).toBe(true);
  });

  it('is deterministic: the same requests land on the same GPUs', () => {
    const run = (): string[] => {
      const c = createCluster([gpuNode('n1', 4), gpuNode('n2', 4)]);
      const p = createPlacer('dilu', { cluster: c });
      const out: string[] = [];
      for (let i = 0; i < 40; i++) {
        const x = req(`f${i % 3}`, 10 + (i % 4) * 7, 2048 + (i % 5) * 1500, {
          class: i % 2 ? 'best-effort' : 'latency-critical',
        });
        const r = p.place(x);
        out.push(
          r.placed ? `${r.instance.id}@${r.instance.nodeId}/${r.instance.gpuIndex}` : 'none',
        );
      }
      return out;
    };
    expect(run()).toEqual(run());
  });
});

describe('placement does not depend on the history of the cluster', () => {
  it.each<PlacerKind>(['dilu', 'best-fit', 'has-gpu', 'exclusive', 'equal-slice'])(
    '%s: the same state reached in another order gives the same choices',
    kind => {
      const options = kind === 'equal-slice' ? { slots: 4 } : undefined;
      const rnd = createRng(11);
      const placements: { x: InstanceRequest; id: string; ref: GpuRef }[] = [];
      const a = createCluster([gpuNode('n1', 4), gpuNode('n2', 4), gpuNode('n3', 4, 81_920)]);
      const pa = createPlacer(kind, { cluster: a }, options as never);
      for (let i = 0; i < 30; i++) {
        const x = req(`f${i % 4}`, 5 + Math.floor(rnd() * 30), 1024 + Math.floor(rnd() * 8000), {
          class: rnd() < 0.5 ? 'best-effort' : 'latency-critical',
        });
        const r = pa.place(x);
        if (r.placed) placements.push({ x, id: r.instance.id, ref: r.instance });
      }
      // Same instances, added in reverse: the active list is in another order.
      const b = createCluster([gpuNode('n1', 4), gpuNode('n2', 4), gpuNode('n3', 4, 81_920)]);
      for (const p of [...placements].reverse()) {
        b.add({ ...p.x, id: p.id, exclusive: kind === 'exclusive' || undefined }, p.ref);
      }
      const pb = createPlacer(kind, { cluster: b }, options as never);
      for (let i = 0; i < 20; i++) {
        const x = req(`g${i % 3}`, 1 + Math.floor(rnd() * 40), 512 + Math.floor(rnd() * 12_000));
        const ca = pa.choose(x);
        const cb = pb.choose(x);
        expect(cb.placed && `${cb.gpu.nodeId}/${cb.gpu.gpuIndex}`).toBe(
          ca.placed && `${ca.gpu.nodeId}/${ca.gpu.gpuIndex}`,
        );
      }
    },
  );
});

describe('has-gpu placer', () => {
  it.each<[string, Resident[], InstanceRequest, string]>([
    [
      'least loaded active GPU first (HAS-GPU scale-up order)',
      [
        { gpu: 0, r: 60, m: 1024 },
        { gpu: 1, r: 20, m: 1024 },
      ],
      req('f', 10, 1024),
      'n1/1',
    ],
    [
      'an active GPU at 95 % occupancy takes nothing more',
      [
        { gpu: 0, r: 96, m: 1024 },
        { gpu: 1, r: 95, m: 1024 },
      ],
      req('f', 4, 1024),
      'n1/2',
    ],
    [
      'limits are not overcommitted by default',
      [{ gpu: 0, r: 10, l: 90, m: 1024 }],
      req('f', 5, 1024, { smLimit: 20 }),
      'n1/1',
    ],
    [
      'no complementary preference: fuller SM loses',
      [
        { gpu: 0, r: 50, m: 1024, cls: 'best-effort' },
        { gpu: 1, r: 40, m: 1024 },
      ],
      req('f', 10, 1024),
      'n1/1',
    ],
  ])('%s', (_n, residents, x, expected) => {
    expect(where(clusterWith(3, residents), 'has-gpu', x)).toBe(expected);
  });
});

describe('exclusive and equal-slice placers', () => {
  it('exclusive: one instance per GPU in cluster order, then no GPU fits', () => {
    const c = clusterWith(2);
    const p = createPlacer('exclusive', { cluster: c });
    const a = p.place(req('f', 20, 1024));
    const b = p.place(req('g', 20, 1024));
    expect([a.placed && a.instance.gpuIndex, b.placed && b.instance.gpuIndex]).toEqual([0, 1]);
    expect(a.placed && a.instance.exclusive).toBe(true);
    const none = p.place(req('h', 1, 1));
    expect(none).toEqual({
      placed: false,
      reason: 'no-gpu-fits',
      rejected: expect.objectContaining({ exclusive: 2 }) as unknown,
    });
  });

  it('equal-slice: n slots per GPU, each with 1/n of the memory', () => {
    const c = clusterWith(2);
    const p = createPlacer('equal-slice', { cluster: c }, { slots: 2 });
    const got = [1, 2, 3].map(() => {
      const r = p.place(req('f', 50, 10_000));
      return r.placed ? r.instance.gpuIndex : -1;
    });
    expect(got).toEqual([0, 0, 1]);
    // GPU 0: both slots taken. GPU 1: a slot is free but a slice holds 20 480 MiB.
    expect(where(c, 'equal-slice', req('f', 50, 20_480), { slots: 2 })).toBe('n1/1');
    c.remove('f-3');
    expect(where(c, 'equal-slice', req('f', 50, 20_481), { slots: 2 })).toBe(
      'none:memory=1,slots=1',
    );
  });
});

describe('placer API', () => {
  it('reports how many GPUs each rule turned down', () => {
    const c = clusterWith(4, [
      { gpu: 0, r: 90, m: 1024 },
      { gpu: 1, r: 10, l: 100, m: 1024 },
      { gpu: 2, r: 10, m: 40_000 },
      { gpu: 3, r: 10, m: 1024 },
    ]);
    const r = createPlacer('dilu', { cluster: c }).place(
      req('f', 20, 2048, { smLimit: 60, gpuModels: ['A100'] }),
    );
    expect(r.placed).toBe(true);
    c.add({ ...req('z', 80, 1024), id: 'fill' }, { nodeId: 'n1', gpuIndex: 3 });
    const none = createPlacer('dilu', { cluster: c }).place(req('f', 20, 2048, { smLimit: 60 }));
    expect(!none.placed && reasons(none.rejected)).toBe('memory=1,sm-request=2,sm-limit=1');
  });

  it('choose and check look without placing', () => {
    const c = clusterWith(2, [{ gpu: 0, r: 80, m: 1024 }]);
    const p = createPlacer('dilu', { cluster: c });
    const ch = p.choose(req('f', 30, 1024));
    expect(ch.placed && ch.gpu.gpuIndex).toBe(1);
    expect(c.summary().instances).toBe(1);
    expect(p.check(req('f', 30, 1024), { nodeId: 'n1', gpuIndex: 0 })).toBe('sm-request');
    expect(p.check(req('f', 10, 1024), { nodeId: 'n1', gpuIndex: 0 })).toBeUndefined();
    expect(() => p.check(req('f', 10, 1024), { nodeId: 'nx', gpuIndex: 0 })).toThrow(
      /nodeId: unknown node/,
    );
  });

  it('names instances <function>-<n>, or uses the given or injected id', () => {
    const c = clusterWith(2);
    const p = createPlacer('dilu', { cluster: c });
    const ids = [
      p.place(req('f', 10, 1)),
      p.place({ ...req('f', 10, 1), id: 'pod-uid' }),
      p.place(req('f', 10, 1)),
    ].map(r => (r.placed ? r.instance.id : ''));
    expect(ids).toEqual(['f-1', 'pod-uid', 'f-2']);
    expect(() => p.place({ ...req('f', 10, 1), id: 'pod-uid' })).toThrow(
      /id: instance 'pod-uid' already placed/,
    );
    const q = createPlacer('dilu', { cluster: c, newId: x => `${x.functionId}-x` });
    expect(q.place(req('g', 1, 1))).toMatchObject({ instance: { id: 'g-x' } });
  });

  it('removes and resizes by the policy’s rules', () => {
    const c = clusterWith(1, [{ gpu: 0, r: 50, l: 100, m: 1024 }]);
    const p = createPlacer('dilu', { cluster: c });
    const r = p.place(req('f', 30, 1024, { smLimit: 40 }));
    if (!r.placed) throw new Error('not placed');
    const id = r.instance.id;
    expect(p.resize(id, { smRequest: 50, smLimit: 50 })).toMatchObject({
      resized: true,
      instance: { smRequest: 50 },
    });
    expect(p.resize(id, { smRequest: 51, smLimit: 51 })).toEqual({
      resized: false,
      reason: 'sm-request',
    });
    expect(p.resize(id, { smLimit: 51 })).toEqual({ resized: false, reason: 'sm-limit' });
    expect(p.resize(id, { memoryMiB: 40_000 })).toEqual({ resized: false, reason: 'memory' });
    expect(c.instance(id)).toMatchObject({ smRequest: 50, smLimit: 50, memoryMiB: 1024 });
    expect(() => p.resize(id, { smRequest: -1 })).toThrow(/smRequest/);
    expect(() => p.resize('nope', {})).toThrow(/instanceId: unknown instance 'nope'/);
    expect(p.remove(id).id).toBe(id);
    expect(c.gpu({ nodeId: 'n1', gpuIndex: 0 }).sumSmRequest).toBe(50);
  });

  it('rejects a bad request with the field named and places nothing', () => {
    const c = clusterWith(1);
    const p = createPlacer('dilu', { cluster: c });
    expect(() => p.place(req('f', 60, 1024, { smLimit: 50 }))).toThrow(
      /^smLimit: must be >= smRequest/,
    );
    expect(() => p.place(req('f', NaN, 1024))).toThrow(/^smRequest:/);
    expect(() => p.place(req('f', 10, -1))).toThrow(/^memoryMiB:/);
    expect(c.summary().instances).toBe(0);
  });

  it.each<[string, PlacerKind, unknown, string, RegExp]>([
    [
      'unknown kind',
      'spread' as PlacerKind,
      undefined,
      'kind',
      /must be one of dilu, best-fit, has-gpu, exclusive, equal-slice/,
    ],
    ['unknown option', 'dilu', { slots: 2 }, 'slots', /not an option of the dilu placer/],
    ['non-positive ω', 'dilu', { requestCap: 0 }, 'requestCap', /.+/],
    [
      'γ below ω',
      'best-fit',
      { requestCap: 1.2, limitCap: 1 },
      'limitCap',
      /limitCap must be >= requestCap/,
    ],
    ['negative weight', 'dilu', { weights: { balance: -1 } }, 'weights.balance', /.+/],
    ['unknown weight', 'dilu', { weights: { spread: 1 } }, 'spread', /not an option/],
    ['spreadReplicas not boolean', 'dilu', { spreadReplicas: 'yes' }, 'spreadReplicas', /.+/],
    ['occupancy above 1', 'has-gpu', { occupancyCap: 1.5 }, 'occupancyCap', /.+/],
    ['slots missing', 'equal-slice', {}, 'slots', /.+/],
    ['fractional slots', 'equal-slice', { slots: 1.5 }, 'slots', /.+/],
    [
      'options on exclusive',
      'exclusive',
      { slots: 2 },
      'slots',
      /not an option of the exclusive placer/,
    ],
  ])('rejects %s', (_n, kind, options, field, message) => {
    let err: unknown;
    try {
      createPlacer(kind, { cluster: clusterWith(1) }, options as never);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(PlacementError);
    expect((err as PlacementError).field).toBe(field);
    expect((err as PlacementError).rule).toMatch(message);
  });
});

import { describe, expect, it } from '@jest/globals';
import { createCluster } from './cluster.js';
import { createPlacer } from './placer.js';
import { createReservationBook } from './reservations.js';
import { gpuNode, req } from './test-fixtures.js';

function setup(gpus = 1, kind: 'dilu' | 'exclusive' = 'dilu') {
  const cluster = createCluster([gpuNode('n1', gpus)]);
  const placer = createPlacer(kind, { cluster });
  let t = 1_000_000;
  const clock = { advance: (ms: number) => (t += ms) };
  const book = createReservationBook({ placer, now: () => t, ttlMs: 60_000 });
  return { cluster, placer, book, clock };
}

describe('createReservationBook', () => {
  it('holds capacity at once, so concurrent admissions never get the same slot', () => {
    const { book, cluster } = setup(1);
    const a = book.reserve(req('f', 60, 1024));
    const b = book.reserve(req('g', 60, 1024));
    expect(a).toMatchObject({
      reserved: true,
      reservation: { id: 'rsv-1', nodeId: 'n1', gpuIndex: 0 },
    });
    expect(b).toMatchObject({ reserved: false, reason: 'no-gpu-fits' });
    expect(cluster.gpu({ nodeId: 'n1', gpuIndex: 0 }).sumSmRequest).toBe(60);
    expect(a.reserved && a.reservation.expiresAtMs).toBe(1_060_000);
  });

  it('commits a hold as the pod’s instance, on the same GPU', () => {
    const { book, cluster } = setup(2);
    const r = book.reserve(req('f', 30, 1024));
    if (!r.reserved) throw new Error('not reserved');
    const inst = book.commit(r.reservation.id, { instanceId: 'pod-uid-1' });
    expect(inst).toMatchObject({ id: 'pod-uid-1', nodeId: 'n1', gpuIndex: 0, smRequest: 30 });
    expect(cluster.hasInstance(r.reservation.id)).toBe(false);
    expect(book.list()).toEqual([]);
    expect(book.release(r.reservation.id)).toBe(false);
    // Committing under the reservation id keeps the instance as it is.
    const s = book.reserve(req('g', 30, 1024));
    if (!s.reserved) throw new Error('not reserved');
    expect(book.commit(s.reservation.id).id).toBe(s.reservation.id);
    expect(cluster.summary().instances).toBe(2);
  });

  it('releases a hold and gives the capacity back; unknown ids are a no-op', () => {
    const { book, cluster } = setup(1);
    const r = book.reserve(req('f', 100, 1024));
    expect(r.reserved && book.release(r.reservation.id)).toBe(true);
    expect(cluster.summary().instances).toBe(0);
    expect(book.release('nope')).toBe(false);
    expect(book.reserve(req('g', 100, 1024)).reserved).toBe(true);
  });

  it('drops holds past their deadline, also before the next reservation', () => {
    const { book, cluster, clock } = setup(1);
    const r = book.reserve(req('f', 100, 1024), { ttlMs: 1000 });
    clock.advance(1000);
    expect(book.expire()).toEqual([]);
    clock.advance(1);
    expect(book.reserve(req('g', 100, 1024))).toMatchObject({ reserved: true });
    expect(r.reserved && book.get(r.reservation.id)).toBeUndefined();
    expect(cluster.summary().instances).toBe(1);
  });

  it('refuses to commit an expired hold and frees it', () => {
    const { book, cluster, clock } = setup(1);
    const r = book.reserve(req('f', 50, 1024));
    if (!r.reserved) throw new Error('not reserved');
    clock.advance(60_001);
    expect(() => book.commit(r.reservation.id)).toThrow(
      /^reservation: reservation 'rsv-1' expired at/,
    );
    expect(cluster.summary().instances).toBe(0);
  });

  it('restores holds after a restart at the GPU they were given', () => {
    const { book, cluster } = setup(2, 'exclusive');
    const restored = book.restore({
      id: 'rsv-9',
      nodeId: 'n1',
      gpuIndex: 1,
      expiresAtMs: 2_000_000,
      request: req('f', 100, 1024),
    });
    expect(book.get('rsv-9')).toBe(restored);
    expect(cluster.instance('rsv-9')).toMatchObject({ gpuIndex: 1, exclusive: true });
    expect(book.reserve(req('g', 100, 1024))).toMatchObject({ reservation: { gpuIndex: 0 } });
  });

  it.each<[string, (b: ReturnType<typeof setup>['book']) => unknown, RegExp]>([
    ['commit of an unknown id', b => b.commit('nope'), /^reservation: unknown reservation 'nope'/],
    ['a non-positive ttl', b => b.reserve(req('f', 1, 1), { ttlMs: 0 }), /^ttlMs: /],
    ['a bad request', b => b.reserve(req('f', 1, -1)), /^memoryMiB: /],
    [
      'restoring onto an unknown GPU',
      b =>
        b.restore({ id: 'x', nodeId: 'n1', gpuIndex: 7, expiresAtMs: 1, request: req('f', 1, 1) }),
      /^gpuIndex: /,
    ],
    [
      'restoring with a NaN deadline',
      b =>
        b.restore({
          id: 'x',
          nodeId: 'n1',
          gpuIndex: 0,
          expiresAtMs: NaN,
          request: req('f', 1, 1),
        }),
      /^expiresAtMs: /,
    ],
  ])('rejects %s', (_n, act, message) => {
    const { book, cluster } = setup(1);
    expect(() => act(book)).toThrow(message);
    expect(cluster.summary().instances).toBe(0);
    expect(book.list()).toEqual([]);
  });

  it('rejects a committed pod id that is already placed', () => {
    const { book, cluster } = setup(2);
    cluster.add({ ...req('x', 1, 1), id: 'taken' }, { nodeId: 'n1', gpuIndex: 1 });
    const r = book.reserve(req('f', 10, 10));
    if (!r.reserved) throw new Error('not reserved');
    expect(() => book.commit(r.reservation.id, { instanceId: 'taken' })).toThrow(/^instanceId: /);
    expect(book.get(r.reservation.id)).toBeDefined();
  });

  it('rejects a bad default ttl when created', () => {
    const placer = createPlacer('dilu', { cluster: createCluster() });
    expect(() => createReservationBook({ placer, now: () => 0, ttlMs: -5 })).toThrow(/^ttlMs: /);
  });
});

import { describe, expect, it } from '@jest/globals';
import { GPU_SM_PERCENT } from '../placement/index.js';
import type { PlacementRequest } from './service.js';
import { createPlacementService } from './service.js';
import { gpuNode, placedPod } from './test-objects.js';

const request = (smRequest: number, memoryMiB = 2048): PlacementRequest => ({
  namespace: 'fns',
  generateName: 'fn-00001-deployment-7d9f-',
  function: 'knative.fns.fn-00001',
  class: 'latency-critical',
  smRequest,
  smLimit: Math.min(100, Math.ceil(smRequest * 1.5)),
  memoryMiB,
});

function sumRequests(service: ReturnType<typeof createPlacementService>): Map<string, number> {
  const sums = new Map<string, number>();
  for (const i of service.cluster.instances()) {
    const k = `${i.nodeId}/${i.gpuIndex}`;
    sums.set(k, (sums.get(k) ?? 0) + i.smRequest);
  }
  return sums;
}

describe('placement service', () => {
  it('reads GPUs from allocatable per-GPU resources and the node memory unit', () => {
    const s = createPlacementService();
    s.applyNode(gpuNode('a', 2, 160, 256));
    s.applyNode({ metadata: { name: 'cpu-only' }, status: { allocatable: { cpu: '8' } } });
    s.applyNode({ ...gpuNode('cordoned', 1), spec: { unschedulable: true } });
    expect(s.stats()).toMatchObject({ nodes: 1, gpus: 2 });
    expect(s.cluster.gpu({ nodeId: 'a', gpuIndex: 1 }).memoryMiB).toBe(160 * 256);
  });

  it('reserves, answers in memory units, and never gives the same capacity twice', () => {
    let t = 1_000_000;
    const s = createPlacementService({ now: () => t });
    s.applyNode(gpuNode('a', 1, 40, 512));
    const first = s.place(request(60, 3300));
    expect(first).toEqual({
      placed: true,
      placement: {
        reservation: expect.stringMatching(/^rsv-/),
        node: 'a',
        gpuIndex: 0,
        memoryUnits: 7,
        expiresAt: new Date(t + 120_000).toISOString(),
      },
    });
    const second = s.place(request(60));
    expect(second.placed).toBe(false);
    if (!second.placed) expect(second.details.rejected['sm-request']).toBe(1);
    // Unclaimed, the hold expires after two minutes and the capacity comes back.
    t += 120_001;
    expect(s.expire()).toBe(1);
    expect(s.place(request(60)).placed).toBe(true);
  });

  it('hands a reservation over to its pod, which holds it until deleted', () => {
    let t = 0;
    const s = createPlacementService({ now: () => t });
    s.applyNode(gpuNode('a', 1));
    const r = s.place(request(70));
    if (!r.placed) throw new Error('not placed');
    const pod = placedPod({
      uid: 'u1',
      node: 'a',
      gpuIndex: 0,
      smRequest: 70,
      reservation: r.placement.reservation,
      bound: false,
    });
    s.applyPod(pod);
    expect(s.stats()).toMatchObject({ reservations: 0, instances: 1 });
    t += 10 * 60_000;
    expect(s.expire()).toBe(0);
    expect(s.place(request(40)).placed).toBe(false);
    s.applyPod({ ...pod, spec: { nodeName: 'a' }, status: { phase: 'Running' } });
    expect(s.stats()).toMatchObject({ instances: 1 });
    s.deletePod(pod);
    expect(s.stats()).toMatchObject({ instances: 0 });
    expect(s.place(request(40)).placed).toBe(true);
  });

  it('frees the slot of a finished pod, and of a pod deleted before it was seen', () => {
    const s = createPlacementService();
    s.applyNode(gpuNode('a', 1));
    s.applyPod(placedPod({ uid: 'u1', node: 'a', gpuIndex: 0, smRequest: 90 }));
    expect(s.place(request(20)).placed).toBe(false);
    s.applyPod(placedPod({ uid: 'u1', node: 'a', gpuIndex: 0, smRequest: 90, phase: 'Succeeded' }));
    const r = s.place(request(20));
    if (!r.placed) throw new Error('not placed');
    s.deletePod(
      placedPod({
        uid: 'u2',
        node: 'a',
        gpuIndex: 0,
        smRequest: 20,
        reservation: r.placement.reservation,
      }),
    );
    expect(s.stats()).toMatchObject({ reservations: 0, instances: 0 });
  });

  it('after a restart rebuilds held slots from the pods’ decisions, whatever the listing order', () => {
    const s = createPlacementService();
    // Pods listed before their nodes: they wait for them.
    s.applyPod(placedPod({ uid: 'u1', node: 'b', gpuIndex: 1, smRequest: 80 }));
    s.applyPod(placedPod({ uid: 'u2', node: 'a', gpuIndex: 0, smRequest: 50, bound: false }));
    s.applyNode(gpuNode('a', 1));
    s.applyNode(gpuNode('b', 2));
    expect(sumRequests(s)).toEqual(
      new Map([
        ['b/1', 80],
        ['a/0', 50],
      ]),
    );
    // New work does not land on the capacity those pods hold.
    const r = s.place(request(60));
    expect(r.placed && r.placement).toMatchObject({ node: 'b', gpuIndex: 0 });
  });

  it('counts a pod whose decision no longer fits as a conflict instead of overcommitting', () => {
    const conflicts: string[] = [];
    const s = createPlacementService({
      events: { conflict: (key, reason) => conflicts.push(`${key}: ${reason}`) },
    });
    s.applyNode(gpuNode('a', 1, 16));
    s.applyPod(placedPod({ uid: 'u1', node: 'a', gpuIndex: 0, smRequest: 30, memoryMiB: 3000 }));
    s.applyPod(placedPod({ uid: 'u2', node: 'a', gpuIndex: 0, smRequest: 30, memoryMiB: 3000 }));
    expect(conflicts).toHaveLength(1);
    expect(conflicts[0]).toMatch(/^pod\/u2: .*memory is never overcommitted/);
    s.applyPod({
      ...placedPod({ uid: 'u3', node: 'a', gpuIndex: 0, smRequest: 1 }),
      metadata: { uid: 'u3', annotations: { 'dilu.dev/decision': '{"node":1}' } },
    });
    expect(conflicts[1]).toMatch(/^pod\/u3: dilu\.dev\/decision: /);
  });

  it('rebuilds a node whose GPUs changed, keeping pods that still fit', () => {
    const s = createPlacementService();
    s.applyNode(gpuNode('a', 2));
    s.applyPod(placedPod({ uid: 'u1', node: 'a', gpuIndex: 1, smRequest: 40 }));
    const r = s.place(request(30));
    if (!r.placed) throw new Error('not placed');
    s.applyNode(gpuNode('a', 2, 120));
    // The pod is back on GPU 1; the unclaimed reservation was given up.
    expect(sumRequests(s)).toEqual(new Map([['a/1', 40]]));
    expect(s.stats()).toMatchObject({ reservations: 0, instances: 1 });
    s.deleteNode('a');
    expect(s.stats()).toMatchObject({ nodes: 0, instances: 0 });
  });

  it('keeps the sum of SM requests per GPU within 100 % under a long random stream', () => {
    let seed = 42;
    const rand = (): number => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    const s = createPlacementService();
    for (let n = 0; n < 4; n++) s.applyNode(gpuNode(`n${n}`, 4));
    const held: string[] = [];
    for (let i = 0; i < 2000; i++) {
      if (held.length > 0 && rand() < 0.4) {
        s.release(held.splice(Math.floor(rand() * held.length), 1)[0] ?? '');
        continue;
      }
      const r = s.place(request(5 + Math.floor(rand() * 50), 512 + Math.floor(rand() * 8000)));
      if (r.placed) held.push(r.placement.reservation);
    }
    for (const sum of sumRequests(s).values()) expect(sum).toBeLessThanOrEqual(GPU_SM_PERCENT);
    expect(s.stats().reservations).toBe(held.length);
  });
});

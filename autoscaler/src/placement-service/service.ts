import { randomUUID } from 'node:crypto';
import type {
  Cluster,
  GpuRef,
  InstanceClass,
  InstanceRequest,
  Placer,
  PlacerKind,
  RejectReason,
  ReservationBook,
} from '../placement/index.js';
import { createCluster, createPlacer, createReservationBook } from '../placement/index.js';
import type { NodeObject, PodObject } from './kube-objects.js';
import type { NodeCapacity } from './node-capacity.js';
import { DEFAULT_MEMORY_UNIT_MIB, nodeCapacity, sameCapacity } from './node-capacity.js';
import type { PodPlacement } from './pod-placement.js';
import { readPod } from './pod-placement.js';

/** `PlacementRequest` of docs/contracts/placement-api.md, validated. */
export interface PlacementRequest {
  readonly namespace: string;
  readonly podName?: string | undefined;
  readonly generateName?: string | undefined;
  readonly function: string;
  readonly class: InstanceClass;
  readonly smRequest: number;
  readonly smLimit: number;
  readonly memoryMiB: number;
}

/** `Placement` of placement-api.md. */
export interface Placement {
  readonly reservation: string;
  readonly node: string;
  readonly gpuIndex: number;
  readonly memoryUnits: number;
  readonly expiresAt: string;
}

export type PlaceOutcome =
  | { readonly placed: true; readonly placement: Placement }
  | {
      readonly placed: false;
      readonly details: {
        readonly smRequest: number;
        readonly memoryMiB: number;
        readonly gpus: number;
        readonly rejected: Readonly<Record<RejectReason, number>>;
      };
    };

/** Things worth counting; the HTTP layer turns them into metrics. */
export interface ServiceEvents {
  /** A pod's decision could not be honoured (its GPU is full or gone, or it is malformed). */
  conflict?(podKey: string, reason: string): void;
}

export interface PlacementServiceDeps {
  /** @default 'dilu' (complementary best fit, decision 0160) */
  readonly placer?: PlacerKind | undefined;
  /** Clock in epoch ms. @default Date.now */
  readonly now?: (() => number) | undefined;
  /** How long a reservation is held without a pod. @default 120000 (placement-api.md) */
  readonly reservationTtlMs?: number | undefined;
  readonly events?: ServiceEvents | undefined;
}

export interface PlacementService {
  /** Reserves a slot; synchronous, so two requests can never be given the same capacity. */
  place(request: PlacementRequest): PlaceOutcome;
  /** Gives a reservation back; false when unknown (expired, taken over by its pod, released). */
  release(reservation: string): boolean;
  /** Drops reservations past their deadline; returns how many. */
  expire(): number;
  applyNode(node: NodeObject): void;
  deleteNode(name: string): void;
  applyPod(pod: PodObject): void;
  deletePod(pod: PodObject): void;
  /** Held reservations and placed instances, for metrics and tests. */
  stats(): { nodes: number; gpus: number; reservations: number; instances: number };
  readonly cluster: Cluster;
}

interface KnownNode {
  readonly capacity: NodeCapacity;
}

/**
 * The state behind the placement API: the cluster's GPU nodes and the pods that hold GPU
 * shares, in the placement model, with reservations on top. Fed by informers (nodes, pods) and
 * by the webhook's requests; everything is synchronous in one event loop.
 *
 * Lifecycle of a slot: `place` reserves it (id `rsv-…`); when the pod carrying that
 * reservation appears (created, bound or not), the pod takes it over (`pod/<uid>`), so it is
 * never freed while the pod exists; a reservation no pod claims expires after the TTL; a
 * deleted or finished pod frees its slot. After a restart the slots are rebuilt from the pods'
 * `dilu.dev/decision` annotations as the pod informer lists them.
 */
export function createPlacementService(deps: PlacementServiceDeps = {}): PlacementService {
  const now = deps.now ?? Date.now;
  const cluster = createCluster();
  const placer: Placer = createPlacer(deps.placer ?? 'dilu', { cluster });
  const book: ReservationBook = createReservationBook({
    placer,
    now,
    newId: () => `rsv-${randomUUID()}`,
    ttlMs: deps.reservationTtlMs,
  });
  const nodes = new Map<string, KnownNode>();
  /** Pods that hold a slot, whether or not their node is known yet. */
  const pods = new Map<string, PodPlacement>();
  const conflict = (key: string, reason: string): void => deps.events?.conflict?.(key, reason);

  const unitOf = (nodeId: string): number =>
    nodes.get(nodeId)?.capacity.memoryUnitMiB ?? DEFAULT_MEMORY_UNIT_MIB;
  /** kube-scheduler charges whole memory units; the model charges the same. */
  const charged = (memoryMiB: number, unit: number): number => Math.ceil(memoryMiB / unit) * unit;

  const addPodInstance = (p: PodPlacement): void => {
    if (!nodes.has(p.nodeId)) return; // placed when its node appears
    const ref: GpuRef = { nodeId: p.nodeId, gpuIndex: p.gpuIndex };
    const request: InstanceRequest = {
      ...p.request,
      memoryMiB: charged(p.request.memoryMiB, unitOf(p.nodeId)),
    };
    try {
      cluster.add({ ...request, id: p.key }, ref);
    } catch (err) {
      conflict(p.key, (err as Error).message);
    }
  };

  const takeOver = (p: PodPlacement): boolean => {
    const held = p.reservation === undefined ? undefined : book.get(p.reservation);
    if (!held || held.nodeId !== p.nodeId || held.gpuIndex !== p.gpuIndex) return false;
    book.commit(held.id, { instanceId: p.key });
    return true;
  };

  const removePodInstance = (key: string): void => {
    if (cluster.hasInstance(key)) cluster.remove(key);
  };

  /**
   * Rebuilds a node whose capacity changed (or that went away). Reservations on it are given
   * up (their pods, when they appear, are re-added from their decisions if they still fit);
   * pods' instances go back where they were if they fit, else count as conflicts.
   */
  const replaceNode = (name: string, capacity: NodeCapacity | undefined): void => {
    for (const i of [...cluster.instances()]) {
      if (i.nodeId !== name) continue;
      if (book.get(i.id)) book.release(i.id);
      else cluster.remove(i.id);
    }
    if (nodes.has(name)) {
      cluster.removeNode(name);
      nodes.delete(name);
    }
    if (!capacity) return;
    cluster.addNode(capacity.spec);
    nodes.set(name, { capacity });
    for (const p of pods.values()) if (p.nodeId === name) addPodInstance(p);
  };

  return {
    cluster,
    place(request) {
      // Round up to the largest memory unit in the cluster, so the slot holds whole units
      // on whichever node it lands (units are the same everywhere in practice).
      let unit = DEFAULT_MEMORY_UNIT_MIB;
      for (const n of nodes.values()) unit = Math.max(unit, n.capacity.memoryUnitMiB);
      const memoryMiB = charged(request.memoryMiB, unit);
      const result = book.reserve({
        functionId: request.function,
        class: request.class,
        smRequest: request.smRequest,
        smLimit: request.smLimit,
        memoryMiB,
      });
      if (!result.reserved) {
        return {
          placed: false,
          details: {
            smRequest: request.smRequest,
            memoryMiB,
            gpus: cluster.gpus().length,
            rejected: result.rejected,
          },
        };
      }
      const r = result.reservation;
      return {
        placed: true,
        placement: {
          reservation: r.id,
          node: r.nodeId,
          gpuIndex: r.gpuIndex,
          memoryUnits: Math.ceil(request.memoryMiB / unitOf(r.nodeId)),
          expiresAt: new Date(r.expiresAtMs).toISOString(),
        },
      };
    },
    release: id => book.release(id),
    expire: () => book.expire().length,
    applyNode(node) {
      const name = node.metadata?.name;
      if (!name) return;
      const capacity = nodeCapacity(node);
      const known = nodes.get(name);
      if (known && capacity && sameCapacity(known.capacity, capacity)) return;
      if (!known && !capacity) return;
      replaceNode(name, capacity);
    },
    deleteNode(name) {
      if (nodes.has(name)) replaceNode(name, undefined);
    },
    applyPod(pod) {
      const reading = readPod(pod);
      if (reading.kind === 'none') {
        if (reading.key) {
          pods.delete(reading.key);
          removePodInstance(reading.key);
        }
        return;
      }
      if (reading.kind === 'invalid') {
        conflict(reading.key, reading.reason);
        return;
      }
      const p = reading.placement;
      const before = pods.get(p.key);
      pods.set(p.key, p);
      if (before && cluster.hasInstance(p.key)) {
        const unchanged =
          before.nodeId === p.nodeId &&
          before.gpuIndex === p.gpuIndex &&
          JSON.stringify(before.request) === JSON.stringify(p.request);
        if (unchanged) return;
        removePodInstance(p.key);
      }
      if (!cluster.hasInstance(p.key) && !takeOver(p)) addPodInstance(p);
    },
    deletePod(pod) {
      const reading = readPod(pod);
      const key = reading.kind === 'holds' ? reading.placement.key : reading.key;
      if (!key) return;
      pods.delete(key);
      removePodInstance(key);
      // A pod deleted before the service saw it take its slot over.
      if (reading.kind === 'holds' && reading.placement.reservation) {
        book.release(reading.placement.reservation);
      }
    },
    stats: () => ({
      nodes: nodes.size,
      gpus: cluster.gpus().length,
      reservations: book.list().length,
      instances: cluster.summary().instances - book.list().length,
    }),
  };
}

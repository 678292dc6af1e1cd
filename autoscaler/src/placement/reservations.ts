import type { PlacedInstance } from './cluster.js';
import { PlacementError } from './placement-error.js';
import type { NoGpuFits, Placer } from './placer.js';
import type { GpuRef, InstanceRequest } from './types.js';

/** A slot held for a pod that is being admitted. */
export interface Reservation {
  readonly id: string;
  readonly nodeId: string;
  readonly gpuIndex: number;
  /** Epoch milliseconds after which an uncommitted hold is dropped. */
  readonly expiresAtMs: number;
  readonly request: InstanceRequest;
}

export type ReserveResult =
  | { readonly reserved: true; readonly reservation: Reservation }
  | {
      readonly reserved: false;
      readonly reason: NoGpuFits['reason'];
      readonly rejected: NoGpuFits['rejected'];
    };

export interface ReservationBookDeps {
  readonly placer: Placer;
  /** Clock in epoch milliseconds (injected so tests and the simulator control time). */
  readonly now: () => number;
  /** Reservation ids; default `rsv-<n>`. The HTTP service injects random ids. */
  readonly newId?: (() => string) | undefined;
  /** How long a hold lasts without a commit. Default 120 000 ms (docs/contracts/placement-api.md). */
  readonly ttlMs?: number | undefined;
}

/**
 * Tentative placements on top of a placer, for the webhook's placement service: `reserve`
 * places the instance at once under the reservation's id, so the capacity is taken and a
 * concurrent request cannot get it; `commit` makes it permanent (optionally under the pod's
 * id), `release` gives it back, `expire` drops holds past their deadline.
 *
 * Everything is synchronous and single-threaded, so two requests never see the same capacity.
 */
export interface ReservationBook {
  reserve(request: InstanceRequest, options?: { readonly ttlMs?: number }): ReserveResult;
  /** The hold becomes an ordinary instance (id `instanceId`, default the reservation id). */
  commit(reservationId: string, options?: { readonly instanceId?: string }): PlacedInstance;
  /** Gives the slot back; false when the id is unknown (already released, expired, committed). */
  release(reservationId: string): boolean;
  /** Drops every hold whose deadline has passed; returns them. */
  expire(): readonly Reservation[];
  /** Re-creates a hold after a restart, at the GPU it was given (from pod annotations). */
  restore(reservation: Reservation): Reservation;
  get(reservationId: string): Reservation | undefined;
  list(): readonly Reservation[];
}

function checkTtl(field: string, ttl: number): void {
  if (!Number.isFinite(ttl) || ttl <= 0) {
    throw new PlacementError(field, `must be a finite number of milliseconds > 0, got ${ttl}`);
  }
}

export function createReservationBook(deps: ReservationBookDeps): ReservationBook {
  const { placer, now } = deps;
  const cluster = placer.cluster;
  const defaultTtl = deps.ttlMs ?? 120_000;
  checkTtl('ttlMs', defaultTtl);
  let seq = 0;
  const newId =
    deps.newId ??
    ((): string => {
      let id: string;
      do id = `rsv-${++seq}`;
      while (cluster.hasInstance(id) || holds.has(id));
      return id;
    });
  const holds = new Map<string, Reservation>();

  const known = (id: string): Reservation => {
    const r = holds.get(id);
    if (!r) throw new PlacementError('reservation', `unknown reservation '${id}'`);
    return r;
  };
  const drop = (r: Reservation): void => {
    holds.delete(r.id);
    cluster.remove(r.id);
  };

  const book: ReservationBook = {
    reserve(request, options) {
      const ttl = options?.ttlMs ?? defaultTtl;
      checkTtl('ttlMs', ttl);
      book.expire();
      const id = newId();
      if (holds.has(id) || cluster.hasInstance(id)) {
        throw new PlacementError('reservation', `id '${id}' is already in use`);
      }
      const placed = placer.place({ ...request, id });
      if (!placed.placed)
        return { reserved: false, reason: placed.reason, rejected: placed.rejected };
      const r: Reservation = {
        id,
        nodeId: placed.instance.nodeId,
        gpuIndex: placed.instance.gpuIndex,
        expiresAtMs: now() + ttl,
        request,
      };
      holds.set(id, r);
      return { reserved: true, reservation: r };
    },
    commit(id, options) {
      const r = known(id);
      if (now() > r.expiresAtMs) {
        drop(r);
        throw new PlacementError(
          'reservation',
          `reservation '${id}' expired at ${new Date(r.expiresAtMs).toISOString()}`,
        );
      }
      const instanceId = options?.instanceId ?? id;
      if (instanceId !== id && cluster.hasInstance(instanceId)) {
        throw new PlacementError('instanceId', `instance '${instanceId}' already placed`);
      }
      holds.delete(id);
      if (instanceId === id) return cluster.instance(id);
      // Same GPU, same resources: the capacity the hold kept is exactly what is re-added.
      const { nodeId, gpuIndex, ...spec } = cluster.remove(id);
      return cluster.add({ ...spec, id: instanceId }, { nodeId, gpuIndex });
    },
    release(id) {
      const r = holds.get(id);
      if (!r) return false;
      drop(r);
      return true;
    },
    expire() {
      const t = now();
      const gone: Reservation[] = [];
      for (const r of holds.values()) if (t > r.expiresAtMs) gone.push(r);
      for (const r of gone) drop(r);
      return gone;
    },
    restore(r) {
      if (holds.has(r.id)) throw new PlacementError('reservation', `reservation '${r.id}' exists`);
      if (!Number.isFinite(r.expiresAtMs)) {
        throw new PlacementError(
          'expiresAtMs',
          `must be a finite epoch time, got ${r.expiresAtMs}`,
        );
      }
      const ref: GpuRef = { nodeId: r.nodeId, gpuIndex: r.gpuIndex };
      const exclusive = placer.kind === 'exclusive' || undefined;
      cluster.add({ ...r.request, id: r.id, exclusive }, ref);
      holds.set(r.id, r);
      return r;
    },
    get: id => holds.get(id),
    list: () => [...holds.values()],
  };
  return book;
}

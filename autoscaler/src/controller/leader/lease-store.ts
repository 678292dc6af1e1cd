import type { KubeConfig } from '@kubernetes/client-node';
import { CoordinationV1Api, V1Lease, V1LeaseSpec, V1MicroTime } from '@kubernetes/client-node';
import { isConflict, isNotFound } from '../kube/api-error.js';

/** What the elector keeps in a coordination.k8s.io/v1 Lease. */
export interface LeaseRecord {
  readonly holderIdentity: string;
  readonly leaseDurationSeconds: number;
  /** Milliseconds since the epoch. */
  readonly acquireTimeMs: number;
  readonly renewTimeMs: number;
  readonly leaseTransitions: number;
}

export interface StoredLease {
  readonly record: LeaseRecord;
  /** Optimistic-concurrency token: an update with a stale one fails. */
  readonly version: string;
}

/** Lease persistence; `create`/`update` return false when another writer got there first. */
export interface LeaseStore {
  get(): Promise<StoredLease | undefined>;
  create(record: LeaseRecord): Promise<boolean>;
  update(record: LeaseRecord, version: string): Promise<boolean>;
  describe(): string;
}

function toMs(value: unknown): number {
  if (value instanceof Date) return value.getTime();
  if (typeof value === 'string' || typeof value === 'number') return new Date(value).getTime();
  return 0;
}

/** A LeaseStore on the API server; updates carry the resourceVersion read. */
export function createKubeLeaseStore(kc: KubeConfig, namespace: string, name: string): LeaseStore {
  const api = kc.makeApiClient(CoordinationV1Api);
  const body = (record: LeaseRecord, resourceVersion?: string): V1Lease => {
    const spec = Object.assign(new V1LeaseSpec(), {
      holderIdentity: record.holderIdentity,
      leaseDurationSeconds: record.leaseDurationSeconds,
      // MicroTime: the API server wants six fractional digits.
      acquireTime: new V1MicroTime(record.acquireTimeMs),
      renewTime: new V1MicroTime(record.renewTimeMs),
      leaseTransitions: record.leaseTransitions,
    });
    return Object.assign(new V1Lease(), {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: { name, namespace, ...(resourceVersion === undefined ? {} : { resourceVersion }) },
      spec,
    });
  };
  return {
    async get() {
      try {
        const lease = await api.readNamespacedLease({ name, namespace });
        const s = lease.spec;
        return {
          version: lease.metadata?.resourceVersion ?? '',
          record: {
            holderIdentity: s?.holderIdentity ?? '',
            leaseDurationSeconds: s?.leaseDurationSeconds ?? 0,
            acquireTimeMs: toMs(s?.acquireTime),
            renewTimeMs: toMs(s?.renewTime),
            leaseTransitions: s?.leaseTransitions ?? 0,
          },
        };
      } catch (err) {
        if (isNotFound(err)) return undefined;
        throw err;
      }
    },
    async create(record) {
      try {
        await api.createNamespacedLease({ namespace, body: body(record) });
        return true;
      } catch (err) {
        if (isConflict(err)) return false;
        throw err;
      }
    },
    async update(record, version) {
      try {
        await api.replaceNamespacedLease({ name, namespace, body: body(record, version) });
        return true;
      } catch (err) {
        if (isConflict(err)) return false;
        throw err;
      }
    },
    describe: () => `Lease ${namespace}/${name}`,
  };
}

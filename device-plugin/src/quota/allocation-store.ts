import { mkdir, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { allocationIdFor, isAllocationId } from './allocation-id.js';
import {
  QUOTA_FILE_NAME,
  QUOTA_FILE_VERSION,
  readQuotaFile,
  writeQuotaFile,
} from './quota-file.js';
import type { QuotaFile } from './quota-file.js';

export type AllocationRecord = Readonly<QuotaFile>;

export interface NewAllocation {
  readonly gpuIndex: number;
  readonly gpuUuid: string;
  readonly smDeviceIds: readonly string[];
}

export interface AllocationStore {
  /** Rebuilds the in-memory index from the quota files on disk. */
  load(): Promise<{ loaded: number; unreadable: string[] }>;
  /** Records an SM allocation made by Allocate and writes its first quota file (q = r). */
  recordAllocation(a: NewAllocation): Promise<AllocationRecord>;
  get(id: string): AllocationRecord | undefined;
  list(): AllocationRecord[];
  /**
   * Changes one allocation: `change` gets the current record and returns the fields to change,
   * or `undefined` to leave it alone. Changes of one store run one at a time, so a check made
   * in `change` (such as Σq ≤ 100) still holds when the file is written.
   */
  update(
    id: string,
    change: (
      current: AllocationRecord,
      all: readonly AllocationRecord[],
    ) => Partial<QuotaFile> | undefined,
  ): Promise<AllocationRecord | undefined>;
  remove(id: string): Promise<void>;
  /** Host directory that holds an allocation's quota file (mounted into the container). */
  dirOf(id: string): string;
}

export interface AllocationStoreDeps {
  /** `<stateDir>/allocations/<id>/quota.json` per quota-file.md. */
  readonly stateDir: string;
  readonly log: Logger;
  readonly now?: () => Date;
}

export function createAllocationStore(deps: AllocationStoreDeps): AllocationStore {
  const root = join(deps.stateDir, 'allocations');
  const now = deps.now ?? ((): Date => new Date());
  const records = new Map<string, AllocationRecord>();
  let queue: Promise<unknown> = Promise.resolve();

  function exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = queue.then(fn, fn);
    queue = run.catch(() => undefined);
    return run;
  }

  const dirOf = (id: string): string => join(root, id);

  const made = new Set<string>();
  async function persist(rec: QuotaFile, durable: boolean): Promise<AllocationRecord> {
    if (!made.has(rec.allocationId)) {
      await mkdir(dirOf(rec.allocationId), { recursive: true, mode: 0o755 });
      made.add(rec.allocationId);
    }
    await writeQuotaFile(dirOf(rec.allocationId), rec, durable);
    records.set(rec.allocationId, rec);
    return rec;
  }

  return {
    dirOf,

    async load() {
      await mkdir(root, { recursive: true, mode: 0o755 });
      records.clear();
      const unreadable: string[] = [];
      for (const entry of await readdir(root, { withFileTypes: true })) {
        if (!entry.isDirectory() || !isAllocationId(entry.name)) continue;
        try {
          const rec = await readQuotaFile(join(root, entry.name, QUOTA_FILE_NAME));
          records.set(rec.allocationId, rec);
          made.add(rec.allocationId);
        } catch (err) {
          unreadable.push(entry.name);
          deps.log.warn(
            { allocationId: entry.name, err: (err as Error).message },
            'unreadable quota file',
          );
        }
      }
      return { loaded: records.size, unreadable };
    },

    recordAllocation(a) {
      return exclusive(async () => {
        const id = allocationIdFor(a.smDeviceIds);
        const previous = records.get(id);
        const at = now().toISOString();
        // The same devices always give the same id; a new Allocate for them is a new container
        // (the previous holder released them), so its quota starts again at the request. The
        // generation keeps counting so a reader of the old file never mistakes it for newer.
        // Not fsync'ed: only the container reads it, and a crash that loses it ends the container.
        return persist(
          {
            version: QUOTA_FILE_VERSION,
            allocationId: id,
            gpuIndex: a.gpuIndex,
            gpuUuid: a.gpuUuid,
            smRequest: a.smDeviceIds.length,
            smLimit: null,
            quota: a.smDeviceIds.length,
            memoryMiB: null,
            generation: (previous?.generation ?? 0) + 1,
            updatedAt: at,
            allocatedAt: at,
            pod: null,
          },
          false,
        );
      });
    },

    get: id => records.get(id),
    list: () => [...records.values()],

    update(id, change) {
      return exclusive(async () => {
        const current = records.get(id);
        if (current === undefined) return undefined;
        const fields = change(current, [...records.values()]);
        if (fields === undefined) return current;
        return persist(
          {
            ...current,
            ...fields,
            allocationId: current.allocationId,
            generation: current.generation + 1,
            updatedAt: now().toISOString(),
          },
          true,
        );
      });
    },

    remove(id) {
      return exclusive(async () => {
        records.delete(id);
        made.delete(id);
        await rm(dirOf(id), { recursive: true, force: true });
      });
    },
  };
}

import type { Logger } from 'pino';
import { parseResourceName } from '../kubelet/resources.js';
import type { DevicePluginMetrics } from '../metrics/metrics.js';
import { allocationIdFor } from '../quota/allocation-id.js';
import type { AllocationRecord, AllocationStore } from '../quota/allocation-store.js';
import type { PodRef } from '../quota/quota-file.js';
import type { PodReader } from './pod-reader.js';
import type { PodResourcesLister } from './pod-resources.js';

export interface GpuUsage {
  /** SM devices held by containers (Σ SM requests), from PodResources. */
  readonly smAllocated: number;
  readonly memoryAllocatedMiB: number;
  /** Σ q over the live allocations. */
  readonly quotaSum: number;
  readonly allocations: number;
}

export interface AllocationSync {
  /** Matches allocations to pods; concurrent callers share one pass, passes are rate-limited. */
  sync(): Promise<void>;
  /** Whether an allocation counts toward Σq: held by a container, or allocated moments ago. */
  isLive(rec: AllocationRecord): boolean;
  usage(gpuIndex: number): GpuUsage;
}

export interface AllocationSyncDeps {
  readonly lister: PodResourcesLister;
  readonly pods: PodReader;
  readonly store: AllocationStore;
  readonly gpuIndices: () => readonly number[];
  readonly memoryUnitMiB: number;
  /** A new allocation counts as live this long before PodResources shows it. */
  readonly freshMs: number;
  /** An allocation no container holds is deleted after this long. */
  readonly orphanGraceMs: number;
  /** Passes closer together than this reuse the last result. */
  readonly minIntervalMs: number;
  readonly now?: () => number;
  readonly log: Logger;
  readonly metrics: DevicePluginMetrics;
}

interface Holder {
  readonly pod: { namespace: string; name: string; container: string };
  readonly gpuIndex: number;
  readonly memoryMiB: number;
}

/**
 * Maps allocations to pods with the kubelet PodResources API: the allocation id is recomputed
 * from the SM device IDs each container holds, exactly as Allocate computed it. The pod is then
 * read once through the API for its UID and SM limit l (fixed at pod start).
 */
export function createAllocationSync(deps: AllocationSyncDeps): AllocationSync {
  const now = deps.now ?? Date.now;
  const log = deps.log.child({ component: 'sync' });
  let held = new Set<string>();
  const lastSeen = new Map<string, number>();
  let usage = new Map<number, { sm: number; memMiB: number }>();
  let inFlight: Promise<void> | undefined;
  let lastPass = -Infinity;

  function isLive(rec: AllocationRecord): boolean {
    return held.has(rec.allocationId) || now() - Date.parse(rec.allocatedAt) < deps.freshMs;
  }

  function holders(entries: Awaited<ReturnType<PodResourcesLister['list']>>): {
    byId: Map<string, Holder>;
    perGpu: Map<number, { sm: number; memMiB: number }>;
  } {
    const byId = new Map<string, Holder>();
    const perGpu = new Map<number, { sm: number; memMiB: number }>();
    for (const pod of entries) {
      for (const c of pod.containers) {
        const sm = new Map<number, string[]>();
        const mem = new Map<number, number>();
        for (const d of c.devices) {
          const r = parseResourceName(d.resource_name);
          if (r === undefined) continue;
          const u = perGpu.get(r.gpuIndex) ?? { sm: 0, memMiB: 0 };
          if (r.kind === 'sm') {
            sm.set(r.gpuIndex, [...(sm.get(r.gpuIndex) ?? []), ...d.device_ids]);
            u.sm += d.device_ids.length;
          } else {
            mem.set(
              r.gpuIndex,
              (mem.get(r.gpuIndex) ?? 0) + d.device_ids.length * deps.memoryUnitMiB,
            );
            u.memMiB += d.device_ids.length * deps.memoryUnitMiB;
          }
          perGpu.set(r.gpuIndex, u);
        }
        for (const [gpuIndex, ids] of sm) {
          byId.set(allocationIdFor(ids), {
            pod: { namespace: pod.namespace, name: pod.name, container: c.name },
            gpuIndex,
            memoryMiB: mem.get(gpuIndex) ?? 0,
          });
        }
      }
    }
    return { byId, perGpu };
  }

  async function match(rec: AllocationRecord, h: Holder): Promise<void> {
    const same =
      rec.pod !== null &&
      rec.pod.namespace === h.pod.namespace &&
      rec.pod.name === h.pod.name &&
      rec.pod.container === h.pod.container;
    let pod: PodRef | null = rec.pod;
    let smLimit = rec.smLimit;
    if (!same || smLimit === null) {
      const facts = await deps.pods.read(h.pod.namespace, h.pod.name, h.pod.container);
      if (facts === undefined) return; // gone between the two reads; the next pass sees it
      pod = { ...h.pod, uid: facts.uid };
      // Without a limit on the pod, MPS gives the container the whole GPU: l = 100.
      smLimit = Math.max(rec.smRequest, facts.smLimit ?? 100);
    }
    const limit = smLimit;
    if (same && limit === rec.smLimit && h.memoryMiB === rec.memoryMiB) return;
    await deps.store.update(rec.allocationId, cur => ({
      pod,
      smLimit: limit,
      memoryMiB: h.memoryMiB,
      quota: Math.min(Math.max(cur.quota, cur.smRequest), limit),
    }));
    log.info(
      { allocationId: rec.allocationId, pod, smLimit: limit },
      'allocation matched to its pod',
    );
  }

  async function pass(): Promise<void> {
    const { byId, perGpu } = holders(await deps.lister.list());
    held = new Set([...byId.keys()].filter(id => deps.store.get(id) !== undefined));
    usage = perGpu;
    const t = now();
    for (const rec of deps.store.list()) {
      const h = byId.get(rec.allocationId);
      if (h !== undefined) {
        lastSeen.set(rec.allocationId, t);
        try {
          await match(rec, h);
        } catch (err) {
          log.warn(
            { allocationId: rec.allocationId, err: (err as Error).message },
            'cannot read the pod',
          );
        }
        continue;
      }
      const since = Math.max(
        Date.parse(rec.allocatedAt),
        lastSeen.get(rec.allocationId) ?? -Infinity,
      );
      if (t - since > deps.orphanGraceMs) {
        log.info(
          { allocationId: rec.allocationId, pod: rec.pod },
          'no container holds the allocation; removing it',
        );
        lastSeen.delete(rec.allocationId);
        await deps.store.remove(rec.allocationId);
      }
    }
    for (const gpu of deps.gpuIndices()) deps.metrics.gpuUsage(gpu, usageOf(gpu));
  }

  function usageOf(gpuIndex: number): GpuUsage {
    const live = deps.store.list().filter(r => r.gpuIndex === gpuIndex && isLive(r));
    const u = usage.get(gpuIndex);
    return {
      smAllocated: u?.sm ?? 0,
      memoryAllocatedMiB: u?.memMiB ?? 0,
      quotaSum: live.reduce((s, r) => s + r.quota, 0),
      allocations: live.length,
    };
  }

  return {
    isLive,
    usage: usageOf,
    sync() {
      if (inFlight !== undefined) return inFlight;
      if (now() - lastPass < deps.minIntervalMs) return Promise.resolve();
      inFlight = pass()
        .then(() => {
          lastPass = now();
        })
        .finally(() => {
          inFlight = undefined;
        });
      return inFlight;
    },
  };
}

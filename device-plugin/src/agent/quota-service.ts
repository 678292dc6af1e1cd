import type { DevicePluginMetrics } from '../metrics/metrics.js';
import type { AllocationRecord, AllocationStore } from '../quota/allocation-store.js';
import type { AllocationSync } from './allocation-sync.js';

/** A refused quota change; `status` is the HTTP status the API answers with. */
export class QuotaError extends Error {
  readonly status: 400 | 404 | 409;
  readonly field: string | undefined;
  constructor(status: 400 | 404 | 409, message: string, field?: string) {
    super(message);
    this.name = 'QuotaError';
    this.status = status;
    this.field = field;
  }
}

export interface QuotaService {
  setQuota(allocationId: string, quota: number): Promise<AllocationRecord>;
}

/**
 * Applies quota changes: q must lie in [smRequest, smLimit] of the allocation and Σq over the
 * live allocations of its GPU must stay ≤ 100. The check and the file write happen inside one
 * store update, so two concurrent changes on one GPU cannot both pass the check.
 */
export function createQuotaService(deps: {
  readonly store: AllocationStore;
  readonly sync: AllocationSync;
  readonly metrics: DevicePluginMetrics;
}): QuotaService {
  const { store, sync, metrics } = deps;
  return {
    async setQuota(id, quota) {
      if (store.get(id)?.smLimit === null) await sync.sync();
      const rec = store.get(id);
      if (rec === undefined) {
        metrics.quotaUpdate('not_found');
        throw new QuotaError(404, `no allocation ${id} on this node`);
      }
      if (!sync.isLive(rec)) {
        metrics.quotaUpdate('conflict');
        throw new QuotaError(
          409,
          `no container holds allocation ${id} any more; it will be removed`,
        );
      }
      if (rec.smLimit === null || rec.pod === null) {
        metrics.quotaUpdate('conflict');
        throw new QuotaError(
          409,
          `allocation ${id} is not matched to a running pod yet; retry shortly`,
        );
      }
      if (quota < rec.smRequest || quota > rec.smLimit) {
        metrics.quotaUpdate('rejected');
        throw new QuotaError(
          400,
          `quota must be an integer in [${rec.smRequest}, ${rec.smLimit}] (the allocation's SM request and limit), got ${quota}`,
          'quota',
        );
      }
      const updated = await store.update(id, (cur, all) => {
        if (cur.quota === quota) return undefined;
        const others = all
          .filter(a => a.gpuIndex === cur.gpuIndex && a.allocationId !== id && sync.isLive(a))
          .reduce((s, a) => s + a.quota, 0);
        if (others + quota > 100) {
          metrics.quotaUpdate('conflict');
          throw new QuotaError(
            409,
            `GPU ${cur.gpuIndex} has ${100 - others} % of quota left for this allocation; ${quota} would make the sum ${others + quota} % (> 100)`,
            'quota',
          );
        }
        return { quota };
      });
      if (updated === undefined) {
        metrics.quotaUpdate('not_found');
        throw new QuotaError(404, `no allocation ${id} on this node`);
      }
      metrics.quotaUpdate('applied');
      return updated;
    },
  };
}

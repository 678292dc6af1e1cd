import express from 'express';
import type { Express, NextFunction, Request, Response } from 'express';
import { z } from 'zod';
import type { DevicePluginMetrics } from '../metrics/metrics.js';
import type { GpuMonitor } from '../node/gpu-monitor.js';
import { isAllocationId } from '../quota/allocation-id.js';
import type { AllocationRecord, AllocationStore } from '../quota/allocation-store.js';
import type { AllocationSync } from './allocation-sync.js';
import { bearerAuth } from './auth.js';
import type { TokenReviewer } from './auth.js';
import { QuotaError } from './quota-service.js';
import type { QuotaService } from './quota-service.js';

export interface AgentAppDeps {
  readonly monitor: GpuMonitor;
  readonly store: AllocationStore;
  readonly sync: AllocationSync;
  readonly quotas: QuotaService;
  readonly reviewer: TokenReviewer;
  readonly allowedUsers: readonly string[];
  readonly memoryUnitMiB: number;
  readonly metrics: DevicePluginMetrics;
}

/** The Allocation object of node-agent-api.md. */
export function toApiAllocation(r: AllocationRecord): Record<string, unknown> {
  return {
    allocationId: r.allocationId,
    gpuIndex: r.gpuIndex,
    gpuUuid: r.gpuUuid,
    smRequest: r.smRequest,
    smLimit: r.smLimit,
    quota: r.quota,
    memoryMiB: r.memoryMiB,
    generation: r.generation,
    pod: r.pod,
  };
}

const quotaBody = z.strictObject({
  quota: z
    .number({ error: "quota must be an integer percent of the GPU's SMs" })
    .int('quota must be an integer'),
});

/** Express app of the node agent API (node-agent-api.md). Every route needs a bearer token. */
export function createAgentApp(deps: AgentAppDeps): Express {
  const app = express();
  app.disable('x-powered-by');
  app.use((req, res, next) => {
    res.on('finish', () => {
      deps.metrics.httpRequest(routeOf(req), res.statusCode);
    });
    next();
  });
  app.use(bearerAuth(deps.reviewer, deps.allowedUsers));
  app.use(express.json({ limit: '16kb', strict: true }));

  // Refreshing from PodResources first makes pod and memory fields current; a failure there
  // still answers from the last known state.
  const refresh = async (): Promise<void> => {
    await deps.sync.sync().catch(() => undefined);
  };

  app.get('/v1/gpus', async (_req, res) => {
    await refresh();
    res.json(
      deps.monitor.gpus().map(g => {
        const u = deps.sync.usage(g.index);
        return {
          index: g.index,
          uuid: g.uuid,
          name: g.name,
          memoryMiB: g.memoryMiB,
          healthy: g.healthy,
          problems: [...g.problems, ...(g.mpsUp === false ? ['MPS control daemon down'] : [])],
          smRequested: u.smAllocated,
          quotaSum: u.quotaSum,
          memoryAllocatedMiB: u.memoryAllocatedMiB,
          memoryUnitMiB: deps.memoryUnitMiB,
          allocations: u.allocations,
        };
      }),
    );
  });

  app.get('/v1/allocations', async (_req, res) => {
    await refresh();
    res.json(
      deps.store
        .list()
        .sort((a, b) => a.gpuIndex - b.gpuIndex || a.allocationId.localeCompare(b.allocationId))
        .map(toApiAllocation),
    );
  });

  app.get('/v1/allocations/:id', async (req, res) => {
    const id = checkId(req.params.id);
    await refresh();
    const rec = deps.store.get(id);
    if (rec === undefined) throw new QuotaError(404, `no allocation ${id} on this node`);
    res.json(toApiAllocation(rec));
  });

  app.put('/v1/allocations/:id/quota', async (req, res) => {
    const id = checkId(req.params.id);
    const parsed = quotaBody.safeParse(req.body);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const field = issue?.code === 'unrecognized_keys' ? issue.keys[0] : issue?.path.join('.');
      const message =
        issue?.code === 'unrecognized_keys'
          ? `unknown field ${field}; the body is {"quota": <int>}`
          : issue?.message;
      res.status(400).json({
        error: message ?? 'invalid body',
        field: field === '' || field === undefined ? 'quota' : field,
      });
      return;
    }
    const updated = await deps.quotas.setQuota(id, parsed.data.quota);
    res.json(toApiAllocation(updated));
  });

  app.use((_req, res) => {
    res.status(404).json({ error: 'no such route; see node-agent-api.md' });
  });

  app.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
    if (err instanceof QuotaError) {
      res
        .status(err.status)
        .json(
          err.field === undefined
            ? { error: err.message }
            : { error: err.message, field: err.field },
        );
      return;
    }
    const e = err as { type?: string; status?: number; message?: string };
    if (e.type === 'entity.parse.failed') {
      res.status(400).json({ error: `body is not JSON: ${e.message ?? ''}`, field: 'body' });
      return;
    }
    if (typeof e.status === 'number' && e.status >= 400 && e.status < 500) {
      res.status(e.status).json({ error: e.message ?? 'bad request', field: 'body' });
      return;
    }
    res.status(500).json({ error: `internal error: ${e.message ?? String(err)}` });
  });
  return app;
}

function checkId(id: string | string[] | undefined): string {
  const s = Array.isArray(id) ? id.join('/') : (id ?? '');
  if (!isAllocationId(s))
    throw new QuotaError(
      400,
      `allocation id "${s}" is not of the form a-<16 hex digits>`,
      'allocationId',
    );
  return s;
}

function routeOf(req: Request): string {
  const r = (req.route as { path?: string } | undefined)?.path;
  return typeof r === 'string' ? r : 'other';
}

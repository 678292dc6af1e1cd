import type { ErrorRequestHandler, Express } from 'express';
import express from 'express';
import type { Logger } from 'pino';
import { z } from 'zod';
import { INSTANCE_CLASSES } from '../placement/index.js';
import type { PlacementServiceMetrics } from './metrics.js';
import type { PlacementService } from './service.js';

/** PlacementRequest of docs/contracts/placement-api.md; unknown fields are refused. */
const requestSchema = z
  .strictObject({
    namespace: z.string().min(1),
    podName: z.string().min(1).optional(),
    generateName: z.string().min(1).optional(),
    function: z.string().min(1),
    class: z.enum(INSTANCE_CLASSES),
    smRequest: z.number().min(0).max(100),
    smLimit: z.number().gt(0).max(100),
    memoryMiB: z.number().positive(),
  })
  .refine(r => r.smLimit >= r.smRequest, {
    message: 'must be >= smRequest',
    path: ['smLimit'],
  });

export interface PlacementAppDeps {
  readonly service: PlacementService;
  readonly metrics: PlacementServiceMetrics;
  readonly log: Logger;
  /** Names of the caches not synced yet; placements wait for all of them. */
  readonly notReady: () => readonly string[];
}

/** The placement API over HTTP (express, no server: tests and `startPlacementService` listen). */
export function createPlacementApp(deps: PlacementAppDeps): Express {
  const { service, metrics, log } = deps;
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);

  app.get('/healthz', (_req, res) => {
    res.type('text/plain').send('ok');
  });
  app.get('/readyz', (_req, res) => {
    const waiting = deps.notReady();
    if (waiting.length === 0) res.type('text/plain').send('ok');
    else
      res
        .status(503)
        .type('text/plain')
        .send(`waiting for: ${waiting.join(', ')}`);
  });
  app.get('/metrics', async (_req, res) => {
    const s = service.stats();
    metrics.setHeld(s.reservations, s.instances);
    const { contentType, body } = await metrics.render();
    res.type(contentType).send(body);
  });

  app.post('/v1/placements', express.json({ limit: '64kb' }), (req, res) => {
    const started = process.hrtime.bigint();
    const waiting = deps.notReady();
    if (waiting.length > 0) {
      // Placing before every pod is known could hand out a slot a running pod holds.
      metrics.observeRequest(started, 'not-ready');
      res
        .status(503)
        .json({ error: `placement service is starting: waiting for ${waiting.join(', ')}` });
      return;
    }
    const parsed = requestSchema.safeParse(req.body);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const field = issue?.path.map(String).join('.') || '(body)';
      metrics.observeRequest(started, 'bad-request');
      res.status(400).json({ error: `${field}: ${issue?.message ?? 'invalid'}` });
      return;
    }
    const outcome = service.place(parsed.data);
    if (!outcome.placed) {
      metrics.observeRequest(started, 'no-fit');
      res.status(409).json({ error: 'no GPU fits', details: outcome.details });
      return;
    }
    metrics.observeRequest(started, 'placed');
    log.debug({ request: parsed.data, placement: outcome.placement }, 'reserved');
    res.json(outcome.placement);
  });

  app.delete('/v1/placements/:reservation', (req, res) => {
    service.release(req.params.reservation);
    res.status(204).end();
  });

  app.use((_req, res) => {
    res.status(404).json({ error: 'not found; see docs/contracts/placement-api.md' });
  });
  const onError: ErrorRequestHandler = (err: unknown, _req, res, _next) => {
    const e = err as { status?: number; type?: string; message?: string };
    const status =
      typeof e.status === 'number' && e.status >= 400 && e.status < 500 ? e.status : 500;
    if (status >= 500) log.error({ err }, 'placement request failed');
    const message =
      e.type === 'entity.parse.failed'
        ? `body is not valid JSON: ${e.message ?? ''}`
        : (e.message ?? 'error');
    res.status(status).json({ error: message });
  };
  app.use(onError);
  return app;
}

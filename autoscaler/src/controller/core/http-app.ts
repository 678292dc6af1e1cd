import { timingSafeEqual } from 'node:crypto';
import type { Express, NextFunction, Request, Response } from 'express';
import express from 'express';
import type { Logger } from 'pino';
import type { AlertBook } from '../openfaas/alert-book.js';
import { alertmanagerPayloadSchema } from '../openfaas/alert-book.js';
import type { AutoscalerMetrics } from './autoscaler-metrics.js';

export interface HttpAppDeps {
  readonly metrics: AutoscalerMetrics;
  readonly log: Logger;
  /** Liveness: the process can serve. */
  readonly healthy: () => boolean;
  /** Readiness: informers synced (a standby replica is ready too). */
  readonly ready: () => boolean;
  readonly leader: () => { readonly isLeader: boolean; readonly holder: string };
  /** OpenFaaS mode: the Alertmanager receiver. */
  readonly alerts?: {
    readonly book: AlertBook;
    readonly defaultNamespace: string;
    /** Basic auth the receiver requires; undefined: none. */
    readonly basicAuth?: { readonly user: string; readonly password: string } | undefined;
    /** Asks for an immediate decision after firing alerts. */
    readonly onFiring: () => void;
  };
  /** Extra routes mounted before the 404 handler (e.g. the placement service). */
  readonly mount?: (app: Express) => void;
  /** More Prometheus text appended to /metrics (another component's own registry). */
  readonly extraMetrics?: () => Promise<string>;
}

function basicAuthOk(header: string | undefined, user: string, password: string): boolean {
  if (header?.startsWith('Basic ') !== true) return false;
  const given = Buffer.from(header.slice(6), 'base64');
  const want = Buffer.from(`${user}:${password}`);
  return given.length === want.length && timingSafeEqual(given, want);
}

/** The autoscaler's HTTP surface. */
export function createHttpApp(deps: HttpAppDeps): Express {
  const app = express();
  app.disable('x-powered-by');
  app.get('/healthz', (_req, res) => {
    res.status(deps.healthy() ? 200 : 503).json({ ok: deps.healthy() });
  });
  app.get('/readyz', (_req, res) => {
    const ready = deps.ready();
    res.status(ready ? 200 : 503).json({ ready, ...deps.leader() });
  });
  app.get('/metrics', async (_req, res) => {
    const extra = deps.extraMetrics === undefined ? '' : await deps.extraMetrics();
    res.set('Content-Type', deps.metrics.contentType()).send((await deps.metrics.text()) + extra);
  });
  const alerts = deps.alerts;
  if (alerts !== undefined) {
    app.post('/system/alert', express.json({ limit: '1mb' }), (req, res) => {
      const auth = alerts.basicAuth;
      if (auth !== undefined && !basicAuthOk(req.headers.authorization, auth.user, auth.password)) {
        res.status(401).set('WWW-Authenticate', 'Basic realm="dilu-autoscaler"').json({
          error: 'basic auth required',
        });
        return;
      }
      const parsed = alertmanagerPayloadSchema.safeParse(req.body);
      if (!parsed.success) {
        const issue = parsed.error.issues[0];
        res.status(400).json({
          error: `not an Alertmanager webhook payload: ${issue?.message ?? 'invalid'}`,
          field: issue?.path.join('.') || 'body',
        });
        return;
      }
      const summary = alerts.book.apply(parsed.data, alerts.defaultNamespace);
      for (const _ of summary.firing) deps.metrics.alertReceived('firing');
      for (const _ of summary.resolved) deps.metrics.alertReceived('resolved');
      deps.log.info(summary, 'alerts received');
      if (summary.firing.length > 0) alerts.onFiring();
      res.status(200).json(summary);
    });
  }
  deps.mount?.(app);
  app.use((_req, res) => {
    res.status(404).json({ error: 'no such route' });
  });
  app.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
    const e = err as { type?: string; status?: number; message?: string };
    if (e.type === 'entity.parse.failed') {
      res.status(400).json({ error: `body is not JSON: ${e.message ?? ''}`, field: 'body' });
      return;
    }
    deps.log.error({ err: String(err) }, 'HTTP handler failed');
    res.status(typeof e.status === 'number' ? e.status : 500).json({ error: String(e.message) });
  });
  return app;
}

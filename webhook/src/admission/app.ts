import type { ErrorRequestHandler, Express, Request, Response } from 'express';
import express from 'express';
import type { Logger } from 'pino';
import type { WebhookMetrics } from '../metrics.js';
import type { AdmitPod } from './admit-pod.js';
import { deny, parseAdmissionReview, reviewOf } from './review.js';

export const MUTATE_PATH = '/mutate';

export interface AppDeps {
  readonly admit: AdmitPod;
  readonly metrics: WebhookMetrics;
  readonly log: Logger;
  /** Names of the parts not ready yet (profile cache, decision cache); empty when ready. */
  readonly notReady: () => readonly string[];
  /** express body-parser limit, e.g. "4mb". */
  readonly bodyLimit: string;
  readonly admissionTimeoutMs: number;
}

class DeadlineExceeded extends Error {
  override readonly name = 'DeadlineExceeded';
}

/** The webhook's HTTP surface, without a server: tests drive it over real HTTPS (server.ts). */
export function createApp(deps: AppDeps): Express {
  const app = express();
  app.disable('x-powered-by');
  // ETags hash every body; the API server never revalidates an admission answer.
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
    const { contentType, body } = await deps.metrics.render();
    res.type(contentType).send(body);
  });
  app.post(
    MUTATE_PATH,
    express.json({ limit: deps.bodyLimit, strict: true, type: isJson }),
    (req, res) => handleReview(deps, req, res),
  );
  app.use((_req, res) => {
    res.status(404).json({ error: `not found; the admission endpoint is POST ${MUTATE_PATH}` });
  });
  app.use(bodyErrorHandler(deps));
  return app;
}

function isJson(req: { headers: Record<string, unknown> }): boolean {
  const type = req.headers['content-type'];
  return typeof type === 'string' && /^application\/([\w.+-]*\+)?json\b/i.test(type);
}

async function handleReview(deps: AppDeps, req: Request, res: Response): Promise<void> {
  const started = process.hrtime.bigint();
  if (!isJson(req)) {
    deps.metrics.error('bad-request');
    deps.metrics.observeAdmission(started, 'error');
    res.status(415).json({ error: 'Content-Type must be application/json (an AdmissionReview)' });
    return;
  }
  const parsed = parseAdmissionReview(req.body);
  if (!parsed.ok) {
    deps.metrics.error('bad-request');
    if ('uid' in parsed) {
      deps.metrics.observeAdmission(started, 'denied');
      res.json(reviewOf(deny(parsed.uid, 400, parsed.message)));
    } else {
      deps.metrics.observeAdmission(started, 'error');
      res.status(parsed.httpStatus).json({ error: parsed.message });
    }
    return;
  }
  const { request } = parsed;
  const { uid } = request;
  try {
    const result = await withDeadline(deps.admissionTimeoutMs, signal =>
      deps.admit(request, signal),
    );
    deps.metrics.observeAdmission(started, result.outcome, result.source);
    res.json(reviewOf(result.response));
  } catch (err) {
    const timedOut = err instanceof DeadlineExceeded;
    deps.metrics.error(timedOut ? 'timeout' : 'internal');
    deps.metrics.observeAdmission(started, 'error');
    deps.log.error({ uid, err }, timedOut ? 'admission timed out' : 'admission failed');
    const message = timedOut
      ? `the webhook could not decide within ${deps.admissionTimeoutMs} ms`
      : `internal error in the webhook: ${(err as Error).message}`;
    res.json(reviewOf(deny(uid, timedOut ? 504 : 500, message)));
  }
}

/**
 * Runs `work` with a signal that aborts after `ms` (cancelling the placement call) and rejects
 * with DeadlineExceeded at that moment even if `work` ignores the signal.
 */
async function withDeadline<T>(ms: number, work: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      controller.abort();
      reject(new DeadlineExceeded());
    }, ms);
  });
  try {
    return await Promise.race([work(controller.signal), deadline]);
  } finally {
    clearTimeout(timer);
  }
}

/** body-parser failures (too large, not JSON, bad encoding) become a 4xx with the reason. */
function bodyErrorHandler(deps: AppDeps): ErrorRequestHandler {
  return (err: unknown, _req, res, next) => {
    if (res.headersSent) {
      next(err);
      return;
    }
    const e = err as { status?: number; type?: string; message?: string; limit?: number };
    const status =
      typeof e.status === 'number' && e.status >= 400 && e.status < 500 ? e.status : 500;
    const message =
      e.type === 'entity.too.large'
        ? `body larger than the limit of ${deps.bodyLimit}; an AdmissionReview of one pod is far smaller`
        : e.type === 'entity.parse.failed'
          ? `body is not valid JSON: ${e.message ?? ''}`
          : (e.message ?? 'bad request');
    deps.metrics.error(status < 500 ? 'bad-request' : 'internal');
    if (status >= 500) deps.log.error({ err }, 'request failed');
    res.status(status).json({ error: message });
  };
}

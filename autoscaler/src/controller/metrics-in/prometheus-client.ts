import { z } from 'zod';
import type { Dispatcher } from 'undici';
import { httpGet, ScrapeError } from './http-get.js';

export interface InstantSample {
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

/** The Prometheus HTTP API's instant query (`GET /api/v1/query`). */
export interface PrometheusClient {
  query(promql: string): Promise<InstantSample[]>;
}

const vectorAnswer = z.object({
  status: z.literal('success'),
  data: z.object({
    resultType: z.literal('vector'),
    result: z.array(
      z.object({
        metric: z.record(z.string(), z.string()),
        value: z.tuple([z.number(), z.string()]),
      }),
    ),
  }),
});

export function createPrometheusClient(deps: {
  readonly baseUrl: string;
  readonly timeoutMs: number;
  readonly dispatcher?: Dispatcher;
}): PrometheusClient {
  const base = deps.baseUrl.replace(/\/+$/, '');
  return {
    async query(promql) {
      const url = `${base}/api/v1/query?query=${encodeURIComponent(promql)}`;
      const res = await httpGet(url, {
        timeoutMs: deps.timeoutMs,
        headers: { accept: 'application/json' },
        ...(deps.dispatcher === undefined ? {} : { dispatcher: deps.dispatcher }),
      });
      let json: unknown;
      try {
        json = JSON.parse(res.body.toString('utf8'));
      } catch {
        throw new ScrapeError(url, `HTTP ${res.status}, body is not JSON`);
      }
      const parsed = vectorAnswer.safeParse(json);
      if (res.status !== 200 || !parsed.success) {
        const error = (json as { error?: unknown } | null)?.error;
        throw new ScrapeError(
          url,
          `HTTP ${res.status}: ${typeof error === 'string' ? error : 'not an instant vector'}`,
        );
      }
      return parsed.data.data.result.map(r => ({ labels: r.metric, value: Number(r.value[1]) }));
    },
  };
}

import type { Dispatcher } from 'undici';
import { httpGet, ScrapeError } from './http-get.js';
import type { QueueProxyStat } from './queue-proxy-stat.js';
import { decodeStat, PROTOBUF_CONTENT_TYPE } from './queue-proxy-stat.js';

export interface QueueProxyScraper {
  scrape(url: string): Promise<QueueProxyStat>;
}

/**
 * Reads a queue-proxy's protobuf Stat the way Knative's scraper does: `Accept:
 * application/protobuf`, and any other content type is an error (the Prometheus-text variant
 * on that port is gone since 2022).
 */
export function createQueueProxyScraper(deps: {
  readonly timeoutMs: number;
  readonly dispatcher?: Dispatcher;
}): QueueProxyScraper {
  return {
    async scrape(url) {
      const res = await httpGet(url, {
        timeoutMs: deps.timeoutMs,
        headers: { accept: PROTOBUF_CONTENT_TYPE },
        maxBytes: 64 * 1024,
        ...(deps.dispatcher === undefined ? {} : { dispatcher: deps.dispatcher }),
      });
      if (res.status !== 200) throw new ScrapeError(url, `HTTP ${res.status}`);
      if (!res.contentType.startsWith(PROTOBUF_CONTENT_TYPE)) {
        throw new ScrapeError(
          url,
          `content type "${res.contentType}", want ${PROTOBUF_CONTENT_TYPE}`,
        );
      }
      try {
        return decodeStat(res.body);
      } catch (err) {
        throw new ScrapeError(url, `not a Stat message: ${String(err)}`, { cause: err });
      }
    },
  };
}

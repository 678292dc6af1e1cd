import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';

/** One queue-proxy report (autoscaler.Stat). */
export interface QueueProxyStat {
  readonly podName: string;
  readonly averageConcurrentRequests: number;
  readonly averageProxiedConcurrentRequests: number;
  /** Requests per second over the reporting period. */
  readonly requestCount: number;
  readonly proxiedRequestCount: number;
  readonly processUptime: number;
  /** Unix seconds. */
  readonly timestamp: number;
}

// src/controller/metrics-in and dist/controller/metrics-in are both three levels below the
// package root, where proto/ ships.
export const STAT_PROTO_PATH = fileURLToPath(
  new URL('../../../proto/queue-proxy-stat.proto', import.meta.url),
);

let statType: protobuf.Type | undefined;
function type(): protobuf.Type {
  statType ??= protobuf.loadSync(STAT_PROTO_PATH).lookupType('autoscaler.Stat');
  return statType;
}

export const PROTOBUF_CONTENT_TYPE = 'application/protobuf';

export function decodeStat(bytes: Uint8Array): QueueProxyStat {
  const t = type();
  const o = t.toObject(t.decode(bytes), { longs: Number, defaults: true }) as Record<
    string,
    unknown
  >;
  const num = (k: string): number => (typeof o[k] === 'number' ? o[k] : 0);
  return {
    podName: typeof o['podName'] === 'string' ? o['podName'] : '',
    averageConcurrentRequests: num('averageConcurrentRequests'),
    averageProxiedConcurrentRequests: num('averageProxiedConcurrentRequests'),
    requestCount: num('requestCount'),
    proxiedRequestCount: num('proxiedRequestCount'),
    processUptime: num('processUptime'),
    timestamp: num('timestamp'),
  };
}

export function encodeStat(stat: QueueProxyStat): Uint8Array {
  const t = type();
  return t.encode(t.fromObject({ ...stat })).finish();
}

import { createServer } from 'node:http';
import { close, listen } from './listen.js';

/** runtime-metrics.md histogram buckets, seconds. */
const BUCKETS = [
  0.001, 0.0025, 0.005, 0.01, 0.02, 0.03, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.5, 0.75, 1, 1.5, 2.5,
  5, 10, 30, 60,
];

export interface EmulatedRuntime {
  readonly url: string;
  close(): Promise<void>;
}

/**
 * A function instance's `/metrics` as the runtime in templates/ writes it
 * (docs/contracts/runtime-metrics.md), reduced to `dilu_request_duration_seconds`: requests
 * finish at `rps()` per second, each taking `latencyMs()`; the cumulative histogram grows
 * with the time between reads.
 */
export async function startEmulatedRuntime(opts: {
  readonly host: string;
  readonly port: number;
  readonly rps: () => number;
  readonly latencyMs: () => number;
}): Promise<EmulatedRuntime> {
  const counts = new Array<number>(BUCKETS.length + 1).fill(0);
  let sum = 0;
  let lastMs = Date.now();
  let carry = 0;
  const advance = (): void => {
    const now = Date.now();
    carry += (opts.rps() * (now - lastMs)) / 1000;
    lastMs = now;
    const n = Math.floor(carry);
    carry -= n;
    const s = opts.latencyMs() / 1000;
    const first = BUCKETS.findIndex(b => s <= b);
    for (let i = first === -1 ? BUCKETS.length : first; i <= BUCKETS.length; i++) {
      counts[i] = (counts[i] ?? 0) + n;
    }
    sum += n * s;
  };
  const server = createServer((req, res) => {
    if (req.url !== '/metrics') {
      res.writeHead(404).end();
      return;
    }
    advance();
    const lines = [
      '# HELP dilu_request_duration_seconds arrival to response ready, per request',
      '# TYPE dilu_request_duration_seconds histogram',
      ...BUCKETS.map((b, i) => `dilu_request_duration_seconds_bucket{le="${b}"} ${counts[i] ?? 0}`),
      `dilu_request_duration_seconds_bucket{le="+Inf"} ${counts[BUCKETS.length] ?? 0}`,
      `dilu_request_duration_seconds_sum ${sum}`,
      `dilu_request_duration_seconds_count ${counts[BUCKETS.length] ?? 0}`,
      '',
    ];
    res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' }).end(lines.join('\n'));
  });
  const port = await listen(server, opts.host, opts.port);
  return { url: `http://${opts.host}:${port}/metrics`, close: () => close(server) };
}

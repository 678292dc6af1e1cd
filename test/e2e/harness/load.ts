// Open-loop HTTP load: requests are sent at the rate asked for, whether or not earlier ones
// have been answered (as users arrive), over kept-alive connections. Every request is
// accounted for: answered (by status code), failed at the transport (by error code), or still
// in flight; nothing is dropped silently.
import { Agent, request } from 'node:http';

export interface LoadReport {
  readonly sent: number;
  /** Status code -> count. */
  readonly answered: Readonly<Record<string, number>>;
  /** Transport error code (ECONNREFUSED, ECONNRESET, timeout...) -> count. */
  readonly failed: Readonly<Record<string, number>>;
  readonly inFlight: number;
  /** Latencies of 2xx answers, ms, in arrival order. */
  readonly latenciesMs: readonly number[];
}

export interface LoadGenerator {
  /** Requests per second from now on (0 pauses). */
  setRate(rps: number): void;
  rate(): number;
  report(): LoadReport;
  /** Stops sending; resolves when every request sent has been answered or has failed. */
  stop(): Promise<LoadReport>;
}

export function startLoad(opts: {
  /** http://host:port/path; resolved per request (the target may move). */
  readonly url: () => string;
  readonly body: string;
  readonly headers?: Readonly<Record<string, string>>;
  readonly timeoutMs?: number;
}): LoadGenerator {
  const agent = new Agent({ keepAlive: true, maxSockets: 256 });
  const answered: Record<string, number> = {};
  const failed: Record<string, number> = {};
  const latencies: number[] = [];
  let sent = 0;
  let inFlight = 0;
  let rps = 0;
  let stopped = false;
  let idle: (() => void) | undefined;

  const one = (): void => {
    sent++;
    inFlight++;
    const t0 = performance.now();
    let settled = false;
    const settle = (bucket: Record<string, number>, key: string): void => {
      if (settled) return;
      settled = true;
      bucket[key] = (bucket[key] ?? 0) + 1;
      inFlight--;
      if (inFlight === 0) idle?.();
    };
    const req = request(
      opts.url(),
      {
        method: 'POST',
        agent,
        timeout: opts.timeoutMs ?? 30_000,
        headers: { 'content-type': 'application/json', ...opts.headers },
      },
      res => {
        res.resume();
        res.on('end', () => {
          const code = res.statusCode ?? 0;
          if (code >= 200 && code < 300) latencies.push(performance.now() - t0);
          settle(answered, String(code));
        });
        res.on('error', (err: NodeJS.ErrnoException) => settle(failed, err.code ?? err.message));
      },
    );
    req.on('timeout', () => req.destroy(Object.assign(new Error('timeout'), { code: 'TIMEOUT' })));
    req.on('error', (err: NodeJS.ErrnoException) => settle(failed, err.code ?? err.message));
    req.end(opts.body);
  };

  // Ticks every 10 ms and sends what the elapsed time at the current rate calls for, so the
  // rate holds whatever the timer's jitter.
  let due = 0;
  let last = performance.now();
  const timer = setInterval(() => {
    const now = performance.now();
    due += ((now - last) / 1000) * rps;
    last = now;
    while (!stopped && due >= 1) {
      due -= 1;
      one();
    }
  }, 10);

  const report = (): LoadReport => ({
    sent,
    answered: { ...answered },
    failed: { ...failed },
    inFlight,
    latenciesMs: [...latencies],
  });

  return {
    setRate(r) {
      rps = Math.max(0, r);
    },
    rate: () => rps,
    report,
    async stop() {
      stopped = true;
      clearInterval(timer);
      if (inFlight > 0) await new Promise<void>(resolve => (idle = resolve));
      agent.destroy();
      return report();
    },
  };
}

/** p-th percentile (0..100) of the values, or NaN when there are none. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i] ?? NaN;
}

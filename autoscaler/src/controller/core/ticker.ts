import type { Logger } from 'pino';
import type { TickEngine, TickReport } from './tick-engine.js';

export interface Ticker {
  start(): void;
  stop(): Promise<void>;
  /** Runs one tick now (after any in flight); for alerts and tests. */
  runNow(): Promise<TickReport | undefined>;
}

/**
 * Calls the engine every interval, never two ticks at once: a tick that overruns delays the
 * next instead of piling up behind it.
 */
export function createTicker(deps: {
  readonly engine: TickEngine;
  readonly intervalMs: number;
  readonly log: Logger;
  readonly onTick?: (r: TickReport) => void;
}): Ticker {
  let timer: NodeJS.Timeout | undefined;
  let running = false;
  let current: Promise<TickReport | undefined> = Promise.resolve(undefined);

  const once = (): Promise<TickReport | undefined> => {
    current = current.then(async () => {
      try {
        const r = await deps.engine.tick();
        deps.onTick?.(r);
        return r;
      } catch (err) {
        deps.log.error({ err: String(err) }, 'tick failed');
        return undefined;
      }
    });
    return current;
  };
  const loop = (): void => {
    if (!running) return;
    const started = Date.now();
    void once().then(() => {
      if (!running) return;
      timer = setTimeout(loop, Math.max(0, deps.intervalMs - (Date.now() - started)));
    });
  };
  return {
    start() {
      if (running) return;
      running = true;
      loop();
    },
    async stop() {
      running = false;
      if (timer !== undefined) clearTimeout(timer);
      await current;
    },
    runNow: once,
  };
}

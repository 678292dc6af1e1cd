import type { Logger } from 'pino';
import { pino } from 'pino';

export type { Logger } from 'pino';

/** JSON logs on stdout, context object first: `log.info({ uid, pod }, 'mutated')`. */
export function createLogger(level: string): Logger {
  return pino({ name: 'dilu-webhook', level, timestamp: pino.stdTimeFunctions.isoTime });
}

/** A logger that drops everything, for tests and benchmarks. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}

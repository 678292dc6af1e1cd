/** What the profiling harness reports for one (batch, SM %) configuration. */
export interface Measurement {
  readonly latencyMs: number;
  readonly throughputRps: number;
  readonly memoryMiB?: number | undefined;
}

/**
 * Runs the function at (batch, SM %) and reports what it saw, or undefined when that
 * configuration cannot run at all (batch larger than the model accepts, out of memory).
 */
export type Measure = (batch: number, smPercent: number) => Promise<Measurement | undefined>;

export interface Probe extends Partial<Measurement> {
  readonly batch: number;
  readonly smPercent: number;
  /** False when the configuration could not run. */
  readonly ran: boolean;
  readonly meetsSlo: boolean;
}

/** Throughput efficiency: requests per second per SM percent (higher is cheaper). */
export function throughputEfficiency(m: { throughputRps: number; smPercent: number }): number {
  return m.throughputRps / m.smPercent;
}

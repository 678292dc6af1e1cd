/** One measured operating point of a DL function on one GPU model. */
export interface ProfilePoint {
  /** Requests executed together in one GPU pass. Integer >= 1. */
  readonly batch: number;
  /** MPS active-thread percentage the point was measured at, 1..100. */
  readonly smPercent: number;
  /** Wall time of one batch, in milliseconds. */
  readonly latencyMs: number;
  /** Requests per second served when batches run back to back. */
  readonly throughputRps: number;
  /** GPU memory the instance used at this point, when measured. */
  readonly memoryMiB?: number | undefined;
  /** 1-based source line (CSV) or line of the point's YAML node, for error messages. */
  readonly line?: number | undefined;
}

/** A function's measured performance, whatever file it came from. */
export interface FunctionProfile {
  /** Function or model name (FunctionProfile metadata.name, or the CSV file's stem). */
  readonly name: string;
  /** Where the profile was read from; used in every error message. */
  readonly source: string;
  /** GPU model the points were measured on, when known. */
  readonly gpuModel?: string | undefined;
  /** Instance GPU memory footprint (MiB) when points carry none. */
  readonly memoryMiB?: number | undefined;
  /** Seconds from container start until the model is loaded and serving (cold start). */
  readonly modelLoadSeconds?: number | undefined;
  readonly points: readonly ProfilePoint[];
}

export const SM_PERCENT_MIN = 1;
export const SM_PERCENT_MAX = 100;

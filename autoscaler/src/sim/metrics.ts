import type { SimulationOutcome } from './engine/simulator.js';

/** The figures reported per policy (results.json, the comparison table, the HTML report). */
export interface PolicyMetrics {
  readonly policy: string;
  /** (Completed over the SLO + dropped) / all requests. */
  readonly sloViolationRate: number;
  readonly requests: number;
  readonly completed: number;
  readonly violations: number;
  readonly dropped: number;
  /** ∫ Σ share dt over the run, GPU-seconds (share: q/100 per instance, 1 when exclusive). */
  readonly gpuSeconds: number;
  /** Time-mean and peak of GPUs holding at least one instance. */
  readonly meanActiveGpus: number;
  readonly peakActiveGpus: number;
  /** Time-mean over seconds of the mean over active GPUs of 1 - Σ SM requests / 100 and 1 - memory used / total. */
  readonly fragmentation: { readonly sm: number; readonly mem: number };
  /** Completed requests per second of the run. */
  readonly throughputRps: number;
  /** Completed within the SLO, per second of the run. */
  readonly goodputRps: number;
  readonly latencyMs: {
    readonly p50: number;
    readonly p95: number;
    readonly p99: number;
    readonly mean: number;
  };
  /** Instances started after time 0 (each waits out pod start and model load). */
  readonly coldStarts: number;
  /** How long the simulation itself took, and its speed. */
  readonly wallSeconds: number;
  readonly simulatedRequestsPerWallSecond: number;
}

export function summarize(o: SimulationOutcome): PolicyMetrics {
  const D = o.durationSeconds;
  let activeSum = 0;
  let peak = 0;
  let fragSeconds = 0;
  let fragSm = 0;
  let fragMem = 0;
  for (let t = 0; t < D; t++) {
    const a = o.activeGpus[t] ?? 0;
    activeSum += a;
    if (a > peak) peak = a;
    if (a > 0) {
      fragSeconds++;
      fragSm += o.fragSm[t] ?? 0;
      fragMem += o.fragMem[t] ?? 0;
    }
  }
  const ms = (s: number): number => s * 1000;
  return {
    policy: o.policy,
    sloViolationRate: o.requests === 0 ? 0 : o.violations / o.requests,
    requests: o.requests,
    completed: o.completed,
    violations: o.violations,
    dropped: o.dropped,
    gpuSeconds: o.gpuSeconds,
    meanActiveGpus: D === 0 ? 0 : activeSum / D,
    peakActiveGpus: peak,
    fragmentation: {
      sm: fragSeconds === 0 ? 0 : fragSm / fragSeconds,
      mem: fragSeconds === 0 ? 0 : fragMem / fragSeconds,
    },
    throughputRps: D === 0 ? 0 : o.completed / D,
    goodputRps: D === 0 ? 0 : (o.requests - o.violations) / D,
    latencyMs: {
      p50: ms(o.latency.quantile(0.5)),
      p95: ms(o.latency.quantile(0.95)),
      p99: ms(o.latency.quantile(0.99)),
      mean: ms(o.latency.mean()),
    },
    coldStarts: o.coldStarts,
    wallSeconds: o.wallSeconds,
    simulatedRequestsPerWallSecond: o.wallSeconds > 0 ? o.requests / o.wallSeconds : 0,
  };
}

import type { Predictor } from '../model/index.js';
import type { LoadEstimate } from './load-estimator.js';
import type { InstanceSizing } from './sizing.js';
import type { FunctionSpec } from './spec.js';

/** One instance (pod) of the function as the caller sees it now. */
export interface InstanceView {
  readonly id: string;
  readonly batch: number;
  /** SM request r, percent. */
  readonly smRequest: number;
  /** SM limit l (the MPS cap), percent. */
  readonly smLimit: number;
  /** Effective quota q in [r, l], percent. */
  readonly quota: number;
  /** Serving (model loaded, passes readiness) or still starting. */
  readonly ready: boolean;
  /** How far q may rise now before the sum of quotas on its GPU reaches 100. */
  readonly quotaHeadroom: number;
  /** GPU identity (e.g. `node/0`): this function's instances on one GPU share its headroom. */
  readonly gpu?: string | undefined;
  /** Creation time (s, same clock as nowS): the newest starting instance is removed first. */
  readonly createdAtS?: number | undefined;
}

/**
 * Batches one instance ran since the previous decision, as its runtime measured them: how
 * many, how many requests they held, and the GPU busy time they took (launch to
 * synchronize; the time the runtime charges its duty-cycle tokens for, never the time a
 * batch waited for its quota or for requests). Introspection compares the busy time with
 * what the profile predicts for batches of that size at that limit. Entries for the same
 * instance may be split by batch size (exact) or aggregated (the mean batch size is used).
 */
export interface ExecutionObservation {
  /** MPS limit l of the instance that ran the batches, percent. */
  readonly smLimit: number;
  /** Batches completed. */
  readonly batches: number;
  /** Requests those batches held (Σ batch sizes). */
  readonly requests: number;
  /** Their GPU busy time, summed, seconds. */
  readonly busySeconds: number;
}

/** What was measured since the previous decision. */
export interface LoadObservation {
  /**
   * One-second arrival-rate samples (rps) since the previous decision, oldest first.
   * Absent or empty means the metrics are missing this tick: the policy holds its scale.
   */
  readonly samples?: readonly number[] | undefined;
  /**
   * p95 request latency (arrival to response) the runtimes observed over the same seconds,
   * ms. It includes queueing and quota waits, so it drives capacity (the latency alarm),
   * never the profile's correction.
   */
  readonly p95LatencyMs?: number | undefined;
  /**
   * GPU execution the runtimes measured over the same seconds (docs/contracts/
   * runtime-metrics.md: `dilu_batch_duration_seconds` and `dilu_batch_size`). The profile's
   * introspective correction comes from these alone; absent, the correction holds.
   */
  readonly execution?: readonly ExecutionObservation[] | undefined;
  /** Requests held by the activator or gateway because no instance is ready. */
  readonly waiting?: number | undefined;
}

/** Everything the policy remembers between ticks; plain data, safe to serialize. */
export interface PolicyState {
  readonly load: LoadEstimate;
  /** Time of the previous decision, s; null before the first. */
  readonly lastTickS: number | null;
  /** Initial scale reached once (Knative ScaleTargetInitialized). */
  readonly initialized: boolean;
  /** Panic mode: since when (s), or null when not panicking. */
  readonly panicSinceS: number | null;
  /** In panic: since when the short-window load has been below the threshold. */
  readonly calmSinceS: number | null;
  /** In panic: the highest replica count desired; panic never goes below it. */
  readonly panicReplicas: number;
  /** Quota scale-down timer and the highest load seen while it ran. */
  readonly quotaDownSinceS: number | null;
  readonly quotaDownPeakRps: number;
  /** Replica scale-down timer and the highest forecast seen while it ran. */
  readonly replicaDownSinceS: number | null;
  readonly replicaDownPeakRps: number;
  /** Resize timer: since when a cheaper configuration would replace the whole fleet. */
  readonly resizeSinceS: number | null;
  /** Since when every sample was zero (scale-to-zero grace), or null. */
  readonly zeroSinceS: number | null;
  /** Introspective correction of the profile's latencies (>= 1) and its sample count. */
  readonly correctionFactor: number;
  readonly correctionObservations: number;
  /**
   * Remembered load peak, rps: the highest per-second load (smoothed over the SLO), decaying
   * by half every burstHalfLifeS. Absent in states written before it existed (read as 0).
   */
  readonly peakRps?: number | undefined;
  /** Load smoothed over the SLO (an EMA), from which the peak is taken. */
  readonly sloMeanRps?: number | undefined;
  /**
   * Quota margin learned from latency alarms (>= 1): stretches the latency part of the quota
   * a share needs, for what the model of queueing under duty-cycling misses. Absent: 1.
   */
  readonly latencyMargin?: number | undefined;
  /** Since when observed latency has been alarming (null or absent when it is not). */
  readonly alarmSinceS?: number | null | undefined;
}

export interface DecisionInput {
  readonly spec: FunctionSpec;
  readonly instances: readonly InstanceView[];
  readonly load: LoadObservation;
  /** The function's performance model (uncorrected; the policy applies its correction). */
  readonly predictor: Predictor;
  /** Current time, seconds, on the caller's clock. */
  readonly nowS: number;
  /** The state returned by the previous decision; absent for a new function. */
  readonly state?: PolicyState | undefined;
}

export const REASON_CODES = [
  'metrics-missing',
  'quota-up',
  'quota-down',
  'latency-floor',
  'latency-alarm',
  'profile-correction',
  'headroom-exhausted',
  'scale-out',
  'scale-in',
  'resize',
  'panic-enter',
  'panic-exit',
  'scale-to-zero',
  'activate',
  'initial-scale',
  'scale-bounds',
  'rate-limit',
  'slo-infeasible',
] as const;
export type ReasonCode = (typeof REASON_CODES)[number];

export interface Reason {
  readonly code: ReasonCode;
  readonly message: string;
}

export interface QuotaChange {
  readonly id: string;
  readonly from: number;
  readonly to: number;
}

/** Figures behind the decision, for metrics and logs. */
export interface DecisionFigures {
  /** Load provisioned for now (prediction + margins), rps. */
  readonly predictedRps: number;
  /** Load forecast at the cold-start horizon, rps. */
  readonly forecastRps: number;
  /** Capacity of the ready instances at their current quotas, rps. */
  readonly capacityRps: number;
  /** Capacity of all instances at the quota their GPUs let them reach, rps. */
  readonly reachableRps: number;
  readonly coldStartS: number;
  readonly panic: boolean;
  readonly correctionFactor: number;
  readonly readyReplicas: number;
  readonly startingReplicas: number;
  /** The remembered load peak the fleet keeps instances and range for, rps. */
  readonly peakRps?: number | undefined;
  /** The latency margin in force (1 = the model's own quota). */
  readonly latencyMargin?: number | undefined;
}

export interface Decision {
  /** Vertical changes, applied before the horizontal ones. */
  readonly quotaChanges: readonly QuotaChange[];
  /** Instances wanted after this decision (existing - removed + added). */
  readonly desiredReplicas: number;
  /** New instances to create, each with `newInstance`'s configuration. */
  readonly add: number;
  /** Instances to delete: starting ones first, then the least useful. */
  readonly remove: readonly string[];
  /** Configuration (b, r, l, m) for new instances: what the webhook should inject. */
  readonly newInstance: InstanceSizing;
  readonly state: PolicyState;
  /** Why: one entry per action or notable condition; empty when nothing changed. */
  readonly reasons: readonly Reason[];
  readonly figures: DecisionFigures;
}

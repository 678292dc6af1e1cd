import type { Scenario, ScenarioFunction } from './scenario.js';

/**
 * What a scaling policy sees of, and does to, the simulated cluster. Every policy the
 * simulator compares — the production 2-D policy, the baselines and their placers — is
 * driven through this one surface, so they all get the same information at the same times.
 */

/** One instance (pod) of a function as a policy sees it. */
export interface InstanceView {
  readonly id: number;
  /** Index of the function in the scenario. */
  readonly fn: number;
  /** Global GPU index: node * gpusPerNode + GPU index on the node. */
  readonly gpu: number;
  readonly batch: number;
  /** SM request r, percent: what placement packs. */
  readonly smRequest: number;
  /** SM limit l, percent: the MPS cap, fixed for the instance's life. */
  readonly smLimit: number;
  /** Effective quota q, percent of the GPU (the last value set; applied after the quota delay). */
  readonly quota: number;
  readonly memoryMiB: number;
  /** Holds its GPU alone. */
  readonly exclusive: boolean;
  readonly createdAt: number;
  /** When the model is loaded and the instance serves; <= now means ready. */
  readonly readyAt: number;
  /**
   * What the instance's runtime measured, cumulative since it started: batches run, per
   * batch size (index = requests in the batch), and their GPU busy time in seconds (the
   * time the duty-cycle tokens are charged for; quota waits excluded).
   */
  readonly executedBatches?: ArrayLike<number> | undefined;
  readonly executedBusySeconds?: ArrayLike<number> | undefined;
  /** Batches run in all (the sum of executedBatches). */
  readonly executedTotal?: number | undefined;
}

/** How a new instance should look; the simulator places it unless `gpu` is given. */
export interface NewInstance {
  readonly batch: number;
  readonly smRequest: number;
  readonly smLimit: number;
  readonly quota: number;
  readonly memoryMiB: number;
  readonly exclusive?: boolean | undefined;
  /**
   * The instance's guaranteed share is its quota (FaST-GShare / HAS-GPU time shares: S x Q),
   * so its SM request follows every quota change.
   */
  readonly requestFollowsQuota?: boolean | undefined;
  /** Global GPU index chosen by a policy that places its own instances. */
  readonly gpu?: number | undefined;
}

/** A GPU as the policy sees it: capacity and what is committed on it. */
export interface GpuView {
  readonly index: number;
  readonly node: number;
  readonly model: string;
  readonly memoryMiB: number;
  readonly memoryUsedMiB: number;
  /** Σ SM requests of its instances. */
  readonly smRequested: number;
  /** Σ SM limits of its instances. */
  readonly smLimited: number;
  /** Σ effective quotas of its instances (kept <= 100 by the simulator, as the node agent does). */
  readonly quotaSum: number;
  readonly exclusive: boolean;
  readonly instances: readonly InstanceView[];
}

/**
 * Per-second history of one function, index = simulated second. Only seconds before `now`
 * are complete; policies must not read later ones.
 */
export interface FunctionSeries {
  /** Requests that arrived in the second. */
  readonly arrivals: Float32Array;
  /** Time-averaged requests in the system (queued or executing): Knative's concurrency. */
  readonly concurrency: Float32Array;
  /** Requests that completed in the second. */
  readonly completions: Float32Array;
  /** Completed over the SLO, or dropped, in the second. */
  readonly violations: Float32Array;
}

export interface PolicyContext {
  /** Simulated seconds since the start. */
  readonly now: number;
  readonly scenario: Scenario;
  readonly functions: readonly ScenarioFunction[];
  readonly gpuCount: number;
  series(fn: number): FunctionSeries;
  /** Quantile of latencies observed in the last `windowSeconds`, ms; undefined if none. */
  observedLatencyMs(fn: number, q: number, windowSeconds: number): number | undefined;
  /** Requests waiting for an instance now. */
  queueLength(fn: number): number;
  /** Instances of a function that have not been removed (starting or ready). */
  instances(fn: number): readonly InstanceView[];
  gpu(index: number): GpuView;
  /**
   * Starts an instance (a cold start unless the simulation is at time 0). Returns undefined
   * when no GPU fits it, or when the GPU named in `spec.gpu` cannot hold it.
   */
  addInstance(fn: number, spec: NewInstance): InstanceView | undefined;
  /** Stops an instance; one in the middle of a batch finishes that batch first. */
  removeInstance(id: number): void;
  /**
   * Sets an instance's effective quota (vertical scaling). False when it is outside
   * [1, smLimit] or when the GPU's Σ quota would pass 100 (the node agent answers 409).
   */
  setQuota(id: number, quota: number): boolean;
}

export interface ScalingPolicy {
  readonly name: string;
  /** Seconds between decisions: 1 for the production policy, 2 for KPA and HAS-GPU. */
  readonly tickSeconds: number;
  /** Creates the functions' initial instances; those start warm. */
  start(ctx: PolicyContext): void;
  tick(ctx: PolicyContext): void;
}

/** A placed instance as the placer records it. */
export interface PlacerInstance {
  readonly id: number;
  readonly fn: number;
  readonly class: 'latency-critical' | 'best-effort';
  readonly smRequest: number;
  readonly smLimit: number;
  readonly memoryMiB: number;
  readonly exclusive: boolean;
}

/** Chooses GPUs for instances whose policy does not place them itself. */
export interface Placer {
  /** The GPU for a new instance (recorded), or undefined when none fits. */
  place(instance: PlacerInstance): number | undefined;
  /** Records an instance a policy placed itself on `gpu`. */
  record(instance: PlacerInstance, gpu: number): void;
  remove(id: number): void;
  /** Records a new SM request of a placed instance (one whose request follows its quota). */
  resize(id: number, smRequest: number): void;
  /** SM and memory fragmentation, mean over active GPUs (DESIGN.md §7), and how many are active. */
  fragmentation(): { readonly sm: number; readonly mem: number; readonly activeGpus: number };
}

import { z } from 'zod';
import { fromZodError } from './policy-error.js';

const fraction = z.number().gt(0).max(1);
const nonNegative = z.number().min(0);
const seconds = z.number().min(0).max(3600);

/**
 * Every threshold and constant of the co-scaling policy. Defaults and the source each one
 * follows are listed in docs/policy.md; the comments here say what the knob does.
 */
export const policyKnobsSchema = z
  .strictObject({
    // --- load prediction -------------------------------------------------------------
    /** `kalman` (HAS-GPU) or `ewma`. */
    loadPredictor: z.enum(['kalman', 'ewma']).default('kalman'),
    /** Kalman process noise Q and measurement noise R (rps^2) at `kalmanScaleRps` (HAS: 1, 10). */
    kalmanProcessNoise: z.number().positive().default(1),
    kalmanMeasurementNoise: z.number().positive().default(10),
    /** Rate at which Q and R apply; above it Q grows with rate^2 and R with rate (Poisson). */
    kalmanScaleRps: z.number().positive().default(10),
    /** Weight of the newest sample in the `ewma` predictor. */
    ewmaAlpha: fraction.default(0.3),
    /** Standard deviations of the estimate added to the level (HAS: 1). */
    uncertaintySigmas: nonNegative.max(10).default(1),
    /** Burst margin added to the prediction, as a fraction of it and in absolute rps. */
    burstMarginFraction: nonNegative.max(10).default(0),
    burstMarginRps: nonNegative.default(0),
    /** Weight of the newest slope in the trend estimate (Holt). */
    trendAlpha: fraction.default(0.1),
    /** Forecast the load at the cold-start horizon when adding instances. */
    anticipateColdStart: z.boolean().default(true),
    /** The cold-start forecast never exceeds this multiple of the current prediction. */
    maxForecastGrowth: z.number().min(1).max(100).default(2),

    // --- vertical (SM quota) -----------------------------------------------------------
    /** Utilization of an instance's capacity that quotas are set for. */
    targetUtilization: fraction.default(0.85),
    /** Raise quotas as soon as load exceeds this fraction of capacity (Dilu, HAS: 0.9). */
    scaleUpUtilization: fraction.default(0.9),
    /** Lower quotas when load stays below this fraction of capacity ... */
    quotaDownUtilization: fraction.default(0.7),
    /** ... for this long. */
    quotaDownDelayS: seconds.default(5),
    /** Quota step, as a fraction of the limit, when observed latency nears the SLO (HAS: 10 %). */
    latencyQuotaStep: fraction.default(0.1),
    /**
     * The runtime's duty-cycle window (docs/contracts/quota-file.md): an instance at quota q
     * may run GPU work for q / l of each window, so an idle instance holds q / l x window of
     * GPU time in reserve for the next request. Sets the idle floor r.
     */
    dutyCycleWindowMs: z.number().positive().max(10_000).default(100),

    // --- horizontal (replicas) ---------------------------------------------------------
    /** Add instances when the forecast exceeds this fraction of reachable capacity. */
    scaleOutUtilization: fraction.default(0.9),
    /** Remove instances while the load stays at most this fraction of what remains. */
    scaleInUtilization: fraction.default(0.8),
    /**
     * Room kept for bursts: new configurations reach this multiple of the remembered peak at
     * their limits (vertically), and keep-alive holds the instances that reach it. Above 1
     * because the next burst often tops the highest one seen so far (decision 0335).
     */
    burstHeadroom: z.number().min(1).max(10).default(1.25),
    /** How long load must allow fewer instances before any is removed. */
    scaleDownDelayS: seconds.default(30),
    /** Replace a fleet of outgrown configurations when new ones cost this much less ... */
    resizeSavings: fraction.default(0.4),
    /** ... for this long. */
    resizeDelayS: seconds.default(300),
    /**
     * Half-life of the remembered load peak (the highest per-second load, smoothed over the
     * SLO, decaying by half every this many seconds): instances that the remembered peak
     * needs are kept (keep-alive), and new configurations are sized to reach it vertically.
     */
    burstHalfLifeS: z.number().min(1).max(86_400).default(1800),
    /**
     * Share of the remembered peak the quotas of the ready instances keep serving between
     * bursts (the first second of a burst arrives before any tick can react; 0: quotas
     * follow the current load only).
     */
    burstReserve: z.number().min(0).max(1).default(0.75),
    /** Knative max-scale-up-rate / max-scale-down-rate. */
    maxScaleUpRate: z.number().gt(1).default(1000),
    maxScaleDownRate: z.number().gt(1).default(2),
    /** Seconds from pod creation to container start, added to the model load time. */
    podStartS: seconds.default(2),
    /** Model load time assumed when the profile does not say. */
    defaultModelLoadS: seconds.default(10),

    // --- Knative semantics ---------------------------------------------------------------
    /** Panic when the short-window load reaches this multiple of the target capacity. */
    panicThreshold: z.number().min(1.1).max(10).default(2),
    /** Length of the panic (short) window. */
    panicWindowS: z.number().min(1).max(3600).default(6),
    /** Panic ends after the load stayed below the threshold this long (KPA: stable window). */
    panicExitS: seconds.default(60),
    /** Zero load this long before scaling to zero, where allowed. */
    scaleToZeroGraceS: seconds.default(60),
    /** Instances started when a function at zero receives its first request. */
    activationScale: z.number().int().min(1).default(1),

    // --- latency model and sizing ------------------------------------------------------
    /** Request latency bound = batchWaitFactor x throttled batch latency (wait for a batch, run it). */
    batchWaitFactor: z.number().min(1).max(10).default(2),
    /**
     * Requests of a function wait in one queue and go to the first instance free (Knative's
     * activator and queue-proxy with containerConcurrency = batch): a request waits for the
     * first of the m instances to finish its batch, 1 + (batchWaitFactor - 1) / m batch
     * times in all. false: requests are spread evenly (round robin), each may wait a whole
     * batch (batchWaitFactor).
     */
    sharedQueue: z.boolean().default(true),
    /** Fraction of the SLO the latency bound may use. */
    sloFraction: fraction.default(1),
    /** Fixed per-request overhead outside the GPU (network, pre/post-processing). */
    overheadMs: nonNegative.default(0),
    /** Smallest limit/request ratio a sized instance keeps for vertical scaling. */
    minVerticalRange: z.number().min(1).max(100).default(1.5),
    /** Extra SM % per rps the sizing may pay to reach minVerticalRange. */
    rangeCostTolerance: nonNegative.max(10).default(0.1),
    /** SM % granularity of the sizing search. */
    smStep: z.number().int().min(1).max(50).default(1),
    /** Configurations within this relative cost are ties; the one with more capacity wins. */
    sizingTieTolerance: nonNegative.max(1).default(0.02),
    /** Best-effort sizing: the knee is the smallest SM reaching this share of full throughput. */
    kneeFraction: fraction.default(0.98),
    /** Best-effort sizing: request = this fraction of the limit. */
    bestEffortRequestFraction: fraction.default(0.5),

    // --- introspection -------------------------------------------------------------------
    /** Observed p95 at or above this fraction of the SLO raises quotas. */
    latencyAlarmFraction: fraction.default(0.9),
    /** Observed p95 at or below this fraction of the SLO lets the correction relax. */
    correctionRelaxFraction: fraction.default(0.6),
    /** EWMA weight of each latency observation in the correction factor. */
    correctionAlpha: fraction.default(0.2),
    /** Largest correction factor: beyond it the profile is wrong and must be re-measured. */
    correctionMaxFactor: z.number().min(1).max(100).default(3),
    /** Batches a tick must report before their execution time moves the correction. */
    correctionMinBatches: z.number().int().min(1).default(5),
    /** Largest latency margin learned from latency alarms (quota beyond the model's need). */
    latencyMarginMax: z.number().min(1).max(10).default(2),
  })
  .superRefine((k, ctx) => {
    const order = (lo: keyof typeof k, hi: keyof typeof k, strict: boolean): void => {
      const a = k[lo] as number;
      const b = k[hi] as number;
      if (strict ? a >= b : a > b) {
        ctx.addIssue({
          code: 'custom',
          path: [lo],
          message: `must be ${strict ? '<' : '<='} ${hi} (${b}), got ${a}`,
        });
      }
    };
    order('quotaDownUtilization', 'targetUtilization', true);
    order('targetUtilization', 'scaleUpUtilization', false);
    order('scaleInUtilization', 'scaleOutUtilization', false);
    order('correctionRelaxFraction', 'latencyAlarmFraction', true);
  });

export type PolicyKnobs = Readonly<z.output<typeof policyKnobsSchema>>;
export type PolicyKnobOverrides = z.input<typeof policyKnobsSchema>;

/** Defaults merged with `overrides`; bad values throw PolicyInputError naming the knob. */
export function resolveKnobs(overrides: unknown = {}, field = 'knobs'): PolicyKnobs {
  const r = policyKnobsSchema.safeParse(overrides ?? {});
  if (!r.success) throw fromZodError(field, r.error);
  return Object.freeze(r.data);
}

export const DEFAULT_KNOBS: PolicyKnobs = resolveKnobs();

import { z } from 'zod';

/**
 * The scenario file (YAML): the cluster, and per function its profile, SLO, workload, memory
 * and scale bounds. Defaults are stated here once; docs/simulator.md explains every field.
 */

const positive = z.number().positive();
const nonNegative = z.number().min(0);
const int = z.number().int();

/** A fixed value, or a range that `count` replicas of a function draw from (log-uniform). */
const rateOrRange = z.union([
  positive,
  z
    .strictObject({ min: positive, max: positive })
    .refine(r => r.min <= r.max, { message: 'min must not exceed max' }),
]);
export type RateOrRange = z.infer<typeof rateOrRange>;

const poisson = z.strictObject({ kind: z.literal('poisson'), rps: rateOrRange });
const bursty = z.strictObject({
  kind: z.literal('bursty'),
  baseRps: rateOrRange,
  burstRps: rateOrRange,
  meanBurstSeconds: positive,
  meanGapSeconds: positive,
});
const diurnal = z.strictObject({
  kind: z.literal('diurnal'),
  meanRps: rateOrRange,
  amplitude: z.number().min(0).max(1),
  periodSeconds: positive,
  /** Fraction of a period; `random` draws one per function from the run's seed. */
  phase: z.union([z.number().min(0).max(1), z.literal('random')]).default(0),
});
const synthetic = z.discriminatedUnion('kind', [poisson, bursty, diurnal]);
export type SyntheticSpec = z.infer<typeof synthetic>;

export const TRACE_FORMATS = ['azure-llm-2023', 'azure-functions-2021', 'rate-series'] as const;

const trace = z
  .strictObject({
    /** Path, relative to the scenario file. */
    file: z.string().min(1),
    format: z.enum(TRACE_FORMATS),
    /** azure-functions-2021: keep one app / function (hashed names as in the file). */
    app: z.string().min(1).optional(),
    func: z.string().min(1).optional(),
    /** rate-series: seconds each value lasts. */
    intervalSeconds: positive.optional(),
    /** rate-series: the largest value becomes this many requests per second... */
    peakRps: positive.optional(),
    /** ...or the mean value does. */
    meanRps: positive.optional(),
    /** Trace seconds skipped before the replay starts. */
    offsetSeconds: nonNegative.default(0),
    /** Simulated seconds per trace second (0.5: twice as fast). */
    timeScale: positive.default(1),
    /** Requests per trace request (request-per-row formats). */
    rateMultiplier: positive.default(1),
    /** Start over when the trace ends. */
    loop: z.boolean().default(false),
    /** Start the replay at a random offset within the trace (drawn from the run's seed). */
    randomOffset: z.boolean().default(false),
  })
  .superRefine((t, ctx) => {
    if (t.format === 'rate-series') {
      if ((t.peakRps === undefined) === (t.meanRps === undefined)) {
        ctx.addIssue({
          code: 'custom',
          path: ['peakRps'],
          message: 'a rate-series trace needs exactly one of peakRps or meanRps',
        });
      }
      if (t.rateMultiplier !== 1) {
        ctx.addIssue({
          code: 'custom',
          path: ['rateMultiplier'],
          message:
            'rateMultiplier applies to request-per-row traces; scale a rate-series with peakRps/meanRps',
        });
      }
    } else {
      for (const key of ['intervalSeconds', 'peakRps', 'meanRps'] as const) {
        if (t[key] !== undefined) {
          ctx.addIssue({
            code: 'custom',
            path: [key],
            message: `${key} only applies to format rate-series`,
          });
        }
      }
    }
    if (t.format !== 'azure-functions-2021' && (t.app !== undefined || t.func !== undefined)) {
      ctx.addIssue({
        code: 'custom',
        path: [t.app !== undefined ? 'app' : 'func'],
        message: 'app/func filters only apply to format azure-functions-2021',
      });
    }
  });
export type TraceSpec = z.infer<typeof trace>;

const workload = z.union([z.strictObject({ trace }), z.strictObject({ synthetic })]);
export type WorkloadSpec = z.infer<typeof workload>;

const functionSchema = z
  .strictObject({
    /** Lower-case letters, digits and '-', like a Kubernetes name. */
    name: z
      .string()
      .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, 'must be lower-case letters, digits and -'),
    /** Replicate this entry: functions name-0 .. name-(count-1), each with its own streams. */
    count: int.min(1).max(100000).default(1),
    /** Profile file (.csv or FunctionProfile .yaml), relative to the scenario file. */
    profile: z.string().min(1),
    /** Latency SLO of one request, ms. */
    sloMs: positive,
    /** GPU memory of one instance; default: the profile's. */
    memoryMiB: positive.optional(),
    /** Model load time on a cold start; default: the profile's, else cluster.modelLoadSeconds. */
    modelLoadSeconds: nonNegative.optional(),
    minScale: int.min(0).default(1),
    /** 0 means no upper bound (Knative's convention). */
    maxScale: int.min(0).default(0),
    /** Instances running, warm, when the simulation starts; default max(1, minScale). */
    initialScale: int.min(0).optional(),
    class: z.enum(['latency-critical', 'best-effort']).default('latency-critical'),
    workload,
  })
  .superRefine((f, ctx) => {
    if (f.maxScale > 0 && f.minScale > f.maxScale) {
      ctx.addIssue({
        code: 'custom',
        path: ['minScale'],
        message: `minScale (${f.minScale}) must not exceed maxScale (${f.maxScale})`,
      });
    }
    if (f.initialScale !== undefined && f.maxScale > 0 && f.initialScale > f.maxScale) {
      ctx.addIssue({
        code: 'custom',
        path: ['initialScale'],
        message: `initialScale (${f.initialScale}) must not exceed maxScale (${f.maxScale})`,
      });
    }
  });
export type FunctionSpec = z.infer<typeof functionSchema>;

const cluster = z.strictObject({
  nodes: int.min(1).max(100000),
  gpusPerNode: int.min(1).max(16),
  gpu: z.strictObject({ model: z.string().min(1), memoryMiB: positive }),
  /** Scheduling, image start and runtime start before the model begins to load. */
  podStartSeconds: nonNegative.default(2),
  /** Default model load time for profiles and functions that give none. */
  modelLoadSeconds: nonNegative.default(10),
  /** From a quota decision to the runtime enforcing it (node agent write + runtime poll). */
  quotaChangeMs: nonNegative.default(100),
  /** Window over which the runtime enforces its duty cycle q / l. */
  dutyCycleWindowMs: positive.default(100),
});
export type ClusterSpec = z.infer<typeof cluster>;

const requests = z.strictObject({
  /** A request still queued this long after it arrived is dropped. */
  timeoutSeconds: positive.default(30),
  /** Queue bound per ready instance, in batches of that instance (Knative: 10 x concurrency). */
  queueBatchesPerInstance: int.min(1).default(10),
});

const kpa = z.strictObject({
  metric: z.enum(['rps', 'concurrency']).default('rps'),
  targetUtilization: z.number().gt(0).max(1).default(0.7),
  stableWindowSeconds: int.min(6).max(3600).default(60),
  panicWindowPercentage: z.number().min(1).max(100).default(10),
  panicThresholdPercentage: z.number().min(110).max(1000).default(200),
  maxScaleUpRate: z.number().gt(1).default(1000),
  maxScaleDownRate: z.number().gt(1).default(2),
  scaleToZeroGraceSeconds: positive.default(30),
  tickSeconds: positive.default(2),
});
export type KpaSpec = z.infer<typeof kpa>;

const baselines = z.strictObject({
  kpa: kpa.default(kpa.parse({})),
  mpsStatic: z
    .strictObject({
      /** Equal MPS slices per GPU (NVIDIA device plugin `sharing.mps.resources[].replicas`). */
      slicesPerGpu: z.union([int.min(2).max(48), z.literal('auto')]).default('auto'),
    })
    .default({ slicesPerGpu: 'auto' }),
});
export type BaselinesSpec = z.infer<typeof baselines>;

export const scenarioSchema = z.strictObject({
  name: z.string().min(1),
  description: z.string().optional(),
  durationSeconds: int.min(1).max(7 * 24 * 3600),
  seed: int.min(0).default(1),
  cluster,
  requests: requests.default(requests.parse({})),
  baselines: baselines.default(baselines.parse({})),
  functions: z.array(functionSchema).min(1),
});
export type ScenarioSpec = z.infer<typeof scenarioSchema>;

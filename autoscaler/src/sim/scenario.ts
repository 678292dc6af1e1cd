import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { FunctionProfile, Predictor } from '../model/index.js';
import { ProfileError, createPredictor, loadProfile } from '../model/index.js';
import { lineAtPath, loadYamlWithLines } from '../model/yaml-with-lines.js';
import { ScenarioError, TraceError } from './errors.js';
import type { Rng } from './rng.js';
import { createRng } from './rng.js';
import type {
  ClusterSpec,
  FunctionSpec,
  KpaSpec,
  RateOrRange,
  ScenarioSpec,
  SyntheticSpec,
  TraceSpec,
} from './scenario-schema.js';
import { scenarioSchema } from './scenario-schema.js';
import type { ArrivalStream } from './workload/arrival-stream.js';
import {
  burstyStream,
  diurnalStream,
  piecewisePoissonStream,
  poissonStream,
  traceStream,
} from './workload/arrival-stream.js';
import type { TraceArrivals } from './workload/azure-llm.js';
import { parseAzureLlmTrace } from './workload/azure-llm.js';
import { parseAzureFunctionsTrace } from './workload/azure-functions.js';
import { parseRateSeries } from './workload/rate-series.js';

/** One function of a loaded scenario, with everything the simulator needs resolved. */
export interface ScenarioFunction {
  readonly index: number;
  readonly name: string;
  readonly profile: FunctionProfile;
  readonly predictor: Predictor;
  readonly sloMs: number;
  readonly memoryMiB: number;
  readonly modelLoadSeconds: number;
  readonly minScale: number;
  /** Infinity when the scenario sets no bound. */
  readonly maxScale: number;
  readonly initialScale: number;
  readonly class: 'latency-critical' | 'best-effort';
  /** One line saying where the load comes from, for reports. */
  readonly workload: string;
  /** A fresh arrival stream; the same seed always gives the same arrivals. */
  arrivals(seed: number): ArrivalStream;
}

export interface Scenario {
  readonly name: string;
  readonly description: string | undefined;
  readonly file: string;
  readonly durationSeconds: number;
  readonly seed: number;
  readonly cluster: ClusterSpec;
  readonly requests: ScenarioSpec['requests'];
  readonly kpa: KpaSpec;
  readonly mpsSlicesPerGpu: number | 'auto';
  readonly functions: readonly ScenarioFunction[];
}

/** Reads and validates a scenario file; every error names the file, line, field and rule. */
export function loadScenario(file: string): Scenario {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ScenarioError(file, undefined, `cannot read scenario: ${(err as Error).message}`, {
      cause: err,
    });
  }
  return parseScenario(text, file);
}

export function parseScenario(text: string, file: string): Scenario {
  let loaded;
  try {
    loaded = loadYamlWithLines(text, file);
  } catch (err) {
    const mark = (err as { mark?: { line?: number } }).mark;
    const reason = (err as { reason?: string }).reason ?? String(err);
    throw new ScenarioError(
      file,
      mark?.line === undefined ? undefined : mark.line + 1,
      `not valid YAML: ${reason}`,
      { cause: err },
    );
  }
  const parsed = scenarioSchema.safeParse(loaded.doc);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const path = issue?.path ?? [];
    const field = path.length > 0 ? path.map(String).join('.') : '(document)';
    throw new ScenarioError(
      file,
      lineAtPath(loaded.doc, path, loaded.lineOf),
      `${field}: ${issue?.message ?? 'invalid'}`,
    );
  }
  const lineOf = (path: readonly PropertyKey[]): number | undefined =>
    lineAtPath(loaded.doc, path, loaded.lineOf);
  return resolveScenario(parsed.data, file, lineOf);
}

function resolveScenario(
  spec: ScenarioSpec,
  file: string,
  lineOf: (path: readonly PropertyKey[]) => number | undefined,
): Scenario {
  const baseDir = dirname(resolve(file));
  const profiles = new Map<string, { profile: FunctionProfile; predictor: Predictor }>();
  const traces = new Map<string, TraceArrivals | Float64Array>();
  const functions: ScenarioFunction[] = [];
  const names = new Set<string>();
  spec.functions.forEach((f, fi) => {
    const fail = (field: string, rule: string, cause?: unknown): never => {
      throw new ScenarioError(
        file,
        lineOf(['functions', fi, ...field.split('.')]),
        `functions.${fi}.${field}: ${rule}`,
        cause === undefined ? undefined : { cause },
      );
    };
    const { profile, predictor } = cachedProfile(profiles, resolve(baseDir, f.profile), fail);
    const memoryMiB = f.memoryMiB ?? profile.memoryMiB;
    if (memoryMiB === undefined) {
      fail('memoryMiB', 'required: the profile gives no memory footprint');
    }
    if ((memoryMiB ?? 0) > spec.cluster.gpu.memoryMiB) {
      fail(
        'memoryMiB',
        `${memoryMiB} MiB does not fit one GPU (${spec.cluster.gpu.memoryMiB} MiB)`,
      );
    }
    const b0 = predictor.batches[0] ?? 1;
    const fastest = (b0 * 1000) / predictor.throughputRps(b0, 100);
    if (fastest > f.sloMs) {
      fail(
        'sloMs',
        `${f.sloMs} ms cannot be met: the profile's fastest batch takes ${fastest.toFixed(1)} ms (batch ${b0} at 100 % SM)`,
      );
    }
    const source = loadWorkloadSource(f, baseDir, traces, fail);
    for (let r = 0; r < f.count; r++) {
      const name = f.count === 1 ? f.name : `${f.name}-${r}`;
      if (names.has(name)) fail('name', `function name '${name}' is used twice`);
      names.add(name);
      functions.push(
        buildFunction(f, {
          name,
          index: functions.length,
          profile,
          predictor,
          source,
          memoryMiB: memoryMiB ?? 0,
          defaultLoadSeconds: spec.cluster.modelLoadSeconds,
        }),
      );
    }
  });
  return {
    name: spec.name,
    description: spec.description,
    file,
    durationSeconds: spec.durationSeconds,
    seed: spec.seed,
    cluster: spec.cluster,
    requests: spec.requests,
    kpa: spec.baselines.kpa,
    mpsSlicesPerGpu: spec.baselines.mpsStatic.slicesPerGpu,
    functions,
  };
}

function cachedProfile(
  cache: Map<string, { profile: FunctionProfile; predictor: Predictor }>,
  path: string,
  fail: (field: string, rule: string, cause?: unknown) => never,
): { profile: FunctionProfile; predictor: Predictor } {
  const hit = cache.get(path);
  if (hit) return hit;
  try {
    const profile = loadProfile(path);
    const entry = { profile, predictor: createPredictor(profile) };
    cache.set(path, entry);
    return entry;
  } catch (err) {
    if (err instanceof ProfileError) return fail('profile', err.message, err);
    throw err;
  }
}

/** What a function's load is built from, before per-replica randomness. */
type WorkloadSource =
  | { kind: 'times'; trace: TraceSpec; arrivals: TraceArrivals; describe: string }
  | { kind: 'rates'; trace: TraceSpec; rates: Float64Array; describe: string }
  | { kind: 'synthetic'; spec: SyntheticSpec; describe: string };

function loadWorkloadSource(
  f: FunctionSpec,
  baseDir: string,
  cache: Map<string, TraceArrivals | Float64Array>,
  fail: (field: string, rule: string, cause?: unknown) => never,
): WorkloadSource {
  const w = f.workload;
  if ('synthetic' in w) {
    return { kind: 'synthetic', spec: w.synthetic, describe: `synthetic ${w.synthetic.kind}` };
  }
  const t = w.trace;
  const path = resolve(baseDir, t.file);
  const key = `${t.format}|${t.app ?? ''}|${t.func ?? ''}|${path}`;
  let data = cache.get(key);
  if (data === undefined) {
    try {
      const text = readFileSync(path, 'utf8');
      data = readTrace(text, path, t);
    } catch (err) {
      if (err instanceof TraceError) return fail('workload.trace.file', err.message, err);
      return fail('workload.trace.file', `cannot read trace: ${(err as Error).message}`, err);
    }
    cache.set(key, data);
  }
  const describe = `${t.format} ${t.file}`;
  if (data instanceof Float64Array) return { kind: 'rates', trace: t, rates: data, describe };
  return { kind: 'times', trace: t, arrivals: data, describe };
}

function readTrace(text: string, path: string, t: TraceSpec): TraceArrivals | Float64Array {
  switch (t.format) {
    case 'azure-llm-2023':
      return parseAzureLlmTrace(text, path);
    case 'azure-functions-2021':
      return parseAzureFunctionsTrace(text, path, { app: t.app, func: t.func });
    case 'rate-series':
      return parseRateSeries(text, path).values;
  }
}

function buildFunction(
  f: FunctionSpec,
  r: {
    name: string;
    index: number;
    profile: FunctionProfile;
    predictor: Predictor;
    source: WorkloadSource;
    memoryMiB: number;
    defaultLoadSeconds: number;
  },
): ScenarioFunction {
  return {
    index: r.index,
    name: r.name,
    profile: r.profile,
    predictor: r.predictor,
    sloMs: f.sloMs,
    memoryMiB: r.memoryMiB,
    modelLoadSeconds: f.modelLoadSeconds ?? r.profile.modelLoadSeconds ?? r.defaultLoadSeconds,
    minScale: f.minScale,
    maxScale: f.maxScale === 0 ? Infinity : f.maxScale,
    initialScale: f.initialScale ?? Math.max(1, f.minScale),
    class: f.class,
    workload: r.source.describe,
    arrivals: seed => makeStream(r.source, createRng(seed, `arrivals/${r.name}`)),
  };
}

function makeStream(source: WorkloadSource, rng: Rng): ArrivalStream {
  switch (source.kind) {
    case 'times': {
      const t = source.trace;
      const span = source.arrivals.spanSeconds;
      const offset = t.randomOffset ? rng.next() * span : t.offsetSeconds;
      return traceStream(
        {
          times: source.arrivals.times,
          spanSeconds: span,
          offsetSeconds: offset,
          timeScale: t.timeScale,
          rateMultiplier: t.rateMultiplier,
          loop: t.loop || t.randomOffset,
        },
        rng,
      );
    }
    case 'rates':
      return rateSeriesStream(source.trace, source.rates, rng);
    case 'synthetic':
      return syntheticStream(source.spec, rng);
  }
}

function rateSeriesStream(t: TraceSpec, values: Float64Array, rng: Rng): ArrivalStream {
  let peak = 0;
  let sum = 0;
  for (const v of values) {
    peak = Math.max(peak, v);
    sum += v;
  }
  const factor =
    t.peakRps !== undefined ? t.peakRps / peak : (t.meanRps ?? 0) / (sum / values.length);
  const interval = (t.intervalSeconds ?? 1) * t.timeScale;
  const skip = Math.floor(t.offsetSeconds / (t.intervalSeconds ?? 1));
  const start = t.randomOffset ? Math.floor(rng.next() * values.length) : skip % values.length;
  const rates = new Float64Array(values.length);
  for (let i = 0; i < values.length; i++) {
    rates[i] = (values[(start + i) % values.length] ?? 0) * factor;
  }
  return piecewisePoissonStream(rates, interval, t.loop || t.randomOffset, rng);
}

/** Draws a replica's value: fixed, or log-uniform within the range. */
function draw(v: RateOrRange, rng: Rng): number {
  if (typeof v === 'number') return v;
  return Math.exp(Math.log(v.min) + rng.next() * (Math.log(v.max) - Math.log(v.min)));
}

function syntheticStream(s: SyntheticSpec, rng: Rng): ArrivalStream {
  switch (s.kind) {
    case 'poisson':
      return poissonStream(draw(s.rps, rng), rng);
    case 'bursty':
      return burstyStream(
        {
          baseRps: draw(s.baseRps, rng),
          burstRps: draw(s.burstRps, rng),
          meanBurstSeconds: s.meanBurstSeconds,
          meanGapSeconds: s.meanGapSeconds,
        },
        rng,
      );
    case 'diurnal':
      return diurnalStream(
        {
          meanRps: draw(s.meanRps, rng),
          amplitude: s.amplitude,
          periodSeconds: s.periodSeconds,
          phase: s.phase === 'random' ? rng.next() : s.phase,
        },
        rng,
      );
  }
}

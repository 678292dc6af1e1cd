import type { FunctionProfile } from '../model/index.js';
import { createPredictor } from '../model/index.js';
import type { Placer, PlacerInstance } from './policy.js';
import type { Scenario } from './scenario.js';
import type { ClusterSpec } from './scenario-schema.js';
import { scenarioSchema } from './scenario-schema.js';
import type { ArrivalStream } from './workload/arrival-stream.js';

/**
 * Test doubles and fixtures for the simulator's own tests: a first-fit placer that honours Σ requests
 * <= 100, memory and exclusivity, with an optional cap on instances per GPU. The simulator's
 * real placers come from the placement module (registry.ts); this one only lets the engine be
 * tested without them.
 */
export function firstFitPlacer(
  gpus: number,
  gpuMemoryMiB: number,
  options: { slotsPerGpu?: number } = {},
): Placer {
  const onGpu: PlacerInstance[][] = Array.from({ length: gpus }, () => []);
  const where = new Map<number, number>();
  const sum = (g: number, key: 'smRequest' | 'memoryMiB'): number =>
    (onGpu[g] ?? []).reduce((s, i) => s + i[key], 0);
  const fits = (g: number, x: PlacerInstance): boolean => {
    const list = onGpu[g] ?? [];
    if (list.some(i => i.exclusive)) return false;
    if (x.exclusive) return list.length === 0;
    if (options.slotsPerGpu !== undefined && list.length >= options.slotsPerGpu) return false;
    return (
      sum(g, 'smRequest') + x.smRequest <= 100 + 1e-9 &&
      sum(g, 'memoryMiB') + x.memoryMiB <= gpuMemoryMiB
    );
  };
  const record = (x: PlacerInstance, g: number): void => {
    onGpu[g]?.push({ ...x });
    where.set(x.id, g);
  };
  return {
    place(x) {
      for (let g = 0; g < gpus; g++) {
        if (fits(g, x)) {
          record(x, g);
          return g;
        }
      }
      return undefined;
    },
    record,
    remove(id) {
      const g = where.get(id);
      if (g === undefined) return;
      where.delete(id);
      const list = onGpu[g] ?? [];
      const i = list.findIndex(x => x.id === id);
      if (i >= 0) list.splice(i, 1);
    },
    resize(id, smRequest) {
      const g = where.get(id);
      const list = g === undefined ? [] : (onGpu[g] ?? []);
      const i = list.findIndex(x => x.id === id);
      const cur = list[i];
      if (cur) list[i] = { ...cur, smRequest };
    },
    fragmentation() {
      let active = 0;
      let sm = 0;
      let mem = 0;
      for (let g = 0; g < gpus; g++) {
        if ((onGpu[g]?.length ?? 0) === 0) continue;
        active++;
        sm += 1 - Math.min(1, sum(g, 'smRequest') / 100);
        mem += 1 - sum(g, 'memoryMiB') / gpuMemoryMiB;
      }
      return active === 0
        ? { sm: 0, mem: 0, activeGpus: 0 }
        : { sm: sm / active, mem: mem / active, activeGpus: active };
    },
  };
}

/**
 * A profile whose batch latency is `latencyMs` at every batch size and SM %: a batch of n takes
 * exactly that long, so queueing and batching can be checked by hand.
 */
export function flatProfile(latencyMs: number, name = 'flat'): FunctionProfile {
  const points = [];
  for (const batch of [1, 2, 4, 8]) {
    for (const smPercent of [10, 50, 100]) {
      points.push({ batch, smPercent, latencyMs, throughputRps: (batch * 1000) / latencyMs });
    }
  }
  return { name, source: `${name}.test`, points };
}

export interface TestFunction {
  readonly name?: string;
  readonly sloMs?: number;
  readonly profile?: FunctionProfile;
  readonly memoryMiB?: number;
  readonly minScale?: number;
  readonly maxScale?: number;
  readonly initialScale?: number;
  readonly modelLoadSeconds?: number;
  /** Fixed arrival times, or a stream factory. */
  readonly arrivals: readonly number[] | ((seed: number) => ArrivalStream);
}

/** A scenario built in code for tests (no files). */
export function testScenario(o: {
  durationSeconds: number;
  functions: readonly TestFunction[];
  nodes?: number;
  gpusPerNode?: number;
  cluster?: Partial<ClusterSpec>;
  requests?: Partial<Scenario['requests']>;
}): Scenario {
  const cluster: ClusterSpec = {
    nodes: o.nodes ?? 1,
    gpusPerNode: o.gpusPerNode ?? 2,
    gpu: { model: 'test-gpu', memoryMiB: 40960 },
    podStartSeconds: 2,
    modelLoadSeconds: 10,
    quotaChangeMs: 100,
    dutyCycleWindowMs: 100,
    ...o.cluster,
  };
  return {
    name: 'test',
    description: undefined,
    file: 'test.yaml',
    durationSeconds: o.durationSeconds,
    seed: 1,
    cluster,
    requests: { timeoutSeconds: 30, queueBatchesPerInstance: 10, ...o.requests },
    kpa: scenarioSchema.shape.baselines.parse({}).kpa,
    mpsSlicesPerGpu: 'auto',
    functions: o.functions.map((f, index) => {
      const profile = f.profile ?? flatProfile(10);
      const arrivals = f.arrivals;
      return {
        index,
        name: f.name ?? `f${index}`,
        profile,
        predictor: createPredictor(profile),
        sloMs: f.sloMs ?? 100,
        memoryMiB: f.memoryMiB ?? 1024,
        modelLoadSeconds: f.modelLoadSeconds ?? 5,
        minScale: f.minScale ?? 1,
        maxScale: f.maxScale ?? Infinity,
        initialScale: f.initialScale ?? 1,
        class: 'latency-critical' as const,
        workload: 'test',
        arrivals: typeof arrivals === 'function' ? arrivals : () => listStream(arrivals),
      };
    }),
  };
}

/** A stream over fixed times. */
export function listStream(times: readonly number[]): ArrivalStream {
  let i = 0;
  return () => times[i++] ?? Infinity;
}

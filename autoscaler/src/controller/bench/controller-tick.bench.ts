// One controller tick, printed as figures: `npm run bench -w @dilu/autoscaler`, or
// `node autoscaler/dist/controller/bench/controller-tick.bench.js [--functions 10000]
// [--gpus 1000] [--ticks 200] [--warmup 30] [--interval-ms 0]`. Where policy/bench/tick.bench.ts times the policy's
// decide() alone, this times the controller's whole tick (createTickEngine): building every
// function's instance view from its pods and the node agents' allocations, the decisions,
// the vertical changes sent to the agents (decreases before increases), the horizontal
// decisions handed on, and the metrics. The cluster is in memory (no HTTP): informer caches
// of pods, node agents with the contract's rules, one load sample per function and tick.
import { fileURLToPath } from 'node:url';
import { constants, PerformanceObserver } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import type { V1Pod } from '@kubernetes/client-node';
import { pino } from 'pino';
import type { Predictor } from '../../model/index.js';
import { createPredictor, loadProfile } from '../../model/index.js';
import type { CoScalingPolicy, LoadObservation } from '../../policy/index.js';
import {
  createCoScalingPolicy,
  createInstanceSizer,
  parseFunctionSpec,
} from '../../policy/index.js';
import { AutoscalerMetrics } from '../core/autoscaler-metrics.js';
import { createTickEngine } from '../core/tick-engine.js';
import type { ManagedFunction } from '../core/types.js';
import { createDecisionStore } from '../core/types.js';
import { createInMemoryAgents } from '../testing/in-memory-agents.js';

const { values } = parseArgs({
  options: {
    functions: { type: 'string', default: '10000' },
    gpus: { type: 'string', default: '1000' },
    ticks: { type: 'string', default: '200' },
    warmup: { type: 'string', default: '30' },
    // Idle time between ticks; the controller's own cadence is 1000 (tickIntervalMs).
    'interval-ms': { type: 'string', default: '0' },
  },
});
const FUNCTIONS = Number(values.functions);
const GPUS = Number(values.gpus);
const TICKS = Number(values.ticks);
const GPUS_PER_NODE = 4;
const PACK_TO = 70;
// Functions mostly quiet (a quarter of the profiles' peak at most), as on a shared
// cluster: 10,000 of them then fit 1,000 GPUs with room for quotas to rise.
const LOAD_SCALE = 0.1;
// Warm-up ticks, untimed: the JIT settles and the major GC that follows building the
// cluster (a one-off at start-up, as the informers' initial lists are in production) runs
// before timing starts. The steady state's own major GCs, about one in 190 ticks here, fall
// inside the timed ticks and are counted in the output.
const WARMUP = Number(values.warmup);
const INTERVAL_MS = Number(values['interval-ms']);

const dir = fileURLToPath(new URL('../../../data/profiles/dilu-a100/', import.meta.url));
const models: [string, number[], number][] = [
  ['resnet152', [100, 200, 400], 400],
  ['bert_base', [100, 200, 400], 150],
  ['llama2', [4000, 6000], 4],
];
const predictors = new Map<string, Predictor>();
for (const [m] of models) predictors.set(m, createPredictor(loadProfile(`${dir}bs_sm_${m}.csv`)));

/** A deterministic generator: the run is reproducible. */
function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296;
  };
}
const rand = lcg(7);

interface Fn {
  readonly managed: ManagedFunction;
  readonly predictor: Predictor;
  readonly baseRps: number;
  pods: V1Pod[];
  next: number;
}

const agents = createInMemoryAgents();
const sizer = createInstanceSizer();
let gpuCursor = 0;
const smOn = new Array<number>(GPUS).fill(0);
/**
 * Next-fit on Σ request ≤ PACK_TO, leaving each GPU room for quotas to rise (vertical
 * scaling needs slack; Σ request ≤ 100 is the placement's hard rule); the least used GPU
 * when none fits.
 */
function placeOn(r: number): number {
  for (let k = 0; k < GPUS; k++) {
    const g = (gpuCursor + k) % GPUS;
    if ((smOn[g] ?? 0) + r <= PACK_TO) {
      gpuCursor = g;
      smOn[g] = (smOn[g] ?? 0) + r;
      return g;
    }
  }
  let best = 0;
  for (let g = 1; g < GPUS; g++) if ((smOn[g] ?? 0) < (smOn[best] ?? 0)) best = g;
  smOn[best] = (smOn[best] ?? 0) + r;
  return best;
}
let allocationSeq = 0;
const START_MS = 1_800_000_000_000;
let nowMs = START_MS;
const allocationOf = new Map<string, { node: string; id: string }>();

/** Pods arrive from the API server as JSON, as an informer holds them. */
function asPod(json: object): V1Pod {
  return JSON.parse(JSON.stringify(json)) as V1Pod;
}

/** The pod once its readiness probe passes: a new object, as the informer delivers. */
function readyCopy(p: V1Pod): V1Pod {
  const copy = asPod(p);
  copy.status = asPod({ status: { conditions: [{ type: 'Ready', status: 'True' }] } }).status;
  return copy;
}

/** A pod as the webhook and scheduler leave it, and its allocation on a GPU with room. */
function addPod(f: Fn, batch: number, r: number, l: number, ready: boolean): void {
  const name = `${f.managed.name}-${f.next++}`;
  const gpu = placeOn(r);
  const node = `node-${Math.floor(gpu / GPUS_PER_NODE)}`;
  const id = `a-${(allocationSeq++).toString(16).padStart(16, '0')}`;
  f.pods.push(
    asPod({
      metadata: {
        name,
        namespace: 'fns',
        creationTimestamp: new Date(nowMs).toISOString(),
        annotations: { 'dilu.dev/decision': JSON.stringify({ batch, smRequest: r, smLimit: l }) },
      },
      spec: { nodeName: node, containers: [] },
      status: { conditions: [{ type: 'Ready', status: ready ? 'True' : 'False' }] },
    }),
  );
  agents.put(node, {
    allocationId: id,
    gpuIndex: gpu % GPUS_PER_NODE,
    gpuUuid: `GPU-${gpu}`,
    smRequest: r,
    smLimit: l,
    quota: r,
    memoryMiB: 2048,
    generation: 1,
    pod: { namespace: 'fns', name, uid: name, container: 'fn' },
  });
  allocationOf.set(name, { node, id });
}

const fns: Fn[] = [];
for (let i = 0; i < FUNCTIONS; i++) {
  const [model, slos, peak] = models[i % models.length] as [string, number[], number];
  const slo = slos[Math.floor(rand() * slos.length)] ?? 200;
  const predictor = predictors.get(model) as Predictor;
  const name = `fn-${i}`;
  const spec = parseFunctionSpec({ name, sloMs: slo, minScale: 1 });
  const f: Fn = {
    managed: {
      key: `knative/fns/${name}`,
      mode: 'knative',
      namespace: 'fns',
      name,
      deployment: `${name}-deployment`,
      spec,
      problems: [],
      profile: { namespace: 'fns', name: model },
      functionLabel: `knative.fns.${name}`,
    },
    predictor,
    baseRps: LOAD_SCALE * peak * (0.05 + rand()),
    pods: [],
    next: 0,
  };
  const s = sizer.size(predictor, { sloMs: slo, knobs: spec.knobs, loadRps: f.baseRps });
  const n = 1;
  for (let k = 0; k < n; k++) addPod(f, s.batch, s.smRequest, s.smLimit, true);
  fns.push(f);
}
const byKey = new Map(fns.map(f => [f.managed.key, f]));
const instances = fns.reduce((a, f) => a + f.pods.length, 0);

let tick = 0;
// The policy's own share of each tick, to tell the controller's overhead from the decisions.
const basePolicy = createCoScalingPolicy({ sizer });
let decideNs = 0n;
const timedPolicy: CoScalingPolicy = {
  decide(input) {
    const t0 = process.hrtime.bigint();
    try {
      return basePolicy.decide(input);
    } finally {
      decideNs += process.hrtime.bigint() - t0;
    }
  },
};
const decisions = createDecisionStore();
const changed: string[] = [];
const engine = createTickEngine({
  source: { functions: () => fns.map(f => f.managed), pods: fn => byKey.get(fn.key)?.pods ?? [] },
  load: {
    observe(list) {
      const out = new Map<string, LoadObservation>();
      for (const fn of list) {
        const f = byKey.get(fn.key);
        if (f === undefined) continue;
        const wave = 1 + 0.5 * Math.sin((tick / 60) * Math.PI + f.baseRps);
        out.set(fn.key, { samples: [f.baseRps * wave * (0.9 + 0.2 * rand())] });
      }
      return Promise.resolve(out);
    },
  },
  predictors: { predictorFor: fn => byKey.get(fn.key)?.predictor },
  agents,
  policy: timedPolicy,
  sizer,
  decisions,
  onHorizontal: fn => changed.push(fn.key),
  metrics: new AutoscalerMetrics({ defaultMetrics: false }),
  log: pino({ level: 'silent' }),
  now: () => nowMs,
  isLeader: () => true,
});

/** Untimed: what the reconcilers and the cluster do with the horizontal decisions. */
function applyHorizontal(): void {
  for (const key of changed.splice(0)) {
    const f = byKey.get(key);
    const d = decisions.get(key);
    if (f === undefined || d === undefined) continue;
    const gone = new Set(d.remove);
    for (const p of f.pods) {
      const name = p.metadata?.name ?? '';
      if (!gone.has(name)) continue;
      const a = allocationOf.get(name);
      if (a !== undefined) {
        const held = agents.get(a.node, a.id);
        if (held !== undefined) {
          const g = Number(a.node.slice(5)) * GPUS_PER_NODE + held.gpuIndex;
          smOn[g] = (smOn[g] ?? 0) - held.smRequest;
        }
        agents.remove(a.node, a.id);
      }
      allocationOf.delete(name);
    }
    f.pods = f.pods.filter(p => !gone.has(p.metadata?.name ?? ''));
    const n = d.newInstance;
    while (f.pods.length < d.desiredReplicas) addPod(f, n.batch, n.smRequest, n.smLimit, false);
  }
  // Pods started a tick ago are ready now (informers hand over new objects).
  for (const f of fns) {
    if (!f.pods.some(p => p.status?.conditions?.[0]?.status === 'False')) continue;
    f.pods = f.pods.map(p => (p.status?.conditions?.[0]?.status === 'False' ? readyCopy(p) : p));
  }
}

// Garbage collections while ticks are timed: their count by kind and their pauses.
let timing = false;
const gc = { major: 0, minor: 0, pauseMs: 0, longestMs: 0 };
const gcObserver = new PerformanceObserver(list => {
  if (!timing) return;
  for (const e of list.getEntries()) {
    const kind = (e as { detail?: { kind?: number } }).detail?.kind;
    if (kind === constants.NODE_PERFORMANCE_GC_MAJOR) gc.major++;
    else gc.minor++;
    gc.pauseMs += e.duration;
    gc.longestMs = Math.max(gc.longestMs, e.duration);
  }
});
gcObserver.observe({ entryTypes: ['gc'] });

const wall: number[] = [];
const cpu: number[] = [];
const overhead: number[] = [];
let quotaWrites = 0;
let horizontal = 0;
for (tick = 0; tick < TICKS + WARMUP; tick++) {
  timing = tick >= WARMUP;
  const cpu0 = process.cpuUsage();
  decideNs = 0n;
  const t0 = performance.now();
  const r = await engine.tick();
  const ms = performance.now() - t0;
  const policyMs = Number(decideNs) / 1e6;
  const c = process.cpuUsage(cpu0);
  if (r.errors > 0) throw new Error(`${r.errors} functions failed in tick ${tick}`);
  if (tick >= WARMUP) {
    wall.push(ms);
    cpu.push((c.user + c.system) / 1000);
    overhead.push(ms - policyMs);
    quotaWrites += r.quota.applied + r.quota.refused + r.quota.failed;
    horizontal += r.horizontalChanges;
  }
  applyHorizontal();
  nowMs += 1000;
  if (INTERVAL_MS > 0) await new Promise(resolve => setTimeout(resolve, INTERVAL_MS - ms));
}
// Entries are delivered asynchronously: let the last ones arrive.
await new Promise(resolve => setTimeout(resolve, 50));
gcObserver.disconnect();
wall.sort((a, b) => a - b);
cpu.sort((a, b) => a - b);
overhead.sort((a, b) => a - b);
const pct = (xs: number[], p: number): number =>
  Math.round((xs[Math.min(xs.length - 1, Math.floor(p * xs.length))] ?? NaN) * 100) / 100;
console.log(
  JSON.stringify(
    {
      bench: 'controller tick (createTickEngine)',
      functions: FUNCTIONS,
      gpus: GPUS,
      nodes: Math.ceil(GPUS / GPUS_PER_NODE),
      instancesAtStart: instances,
      instancesAtEnd: fns.reduce((a, f) => a + f.pods.length, 0),
      ticksMeasured: wall.length,
      intervalMs: INTERVAL_MS,
      tickMs: { p50: pct(wall, 0.5), p99: pct(wall, 0.99), max: pct(wall, 1) },
      tickCpuMs: { p50: pct(cpu, 0.5), p99: pct(cpu, 0.99) },
      // Wall time outside policy.decide(): views, agents, load, quota writes, metrics.
      controllerOverheadMs: { p50: pct(overhead, 0.5), p99: pct(overhead, 0.99) },
      quotaWritesPerTick: Math.round((quotaWrites / wall.length) * 10) / 10,
      horizontalChangesPerTick: Math.round((horizontal / wall.length) * 10) / 10,
      gcWhileTimed: {
        major: gc.major,
        minor: gc.minor,
        pauseMsTotal: Math.round(gc.pauseMs),
        longestPauseMs: Math.round(gc.longestMs * 10) / 10,
      },
      rssMiB: Math.round((process.memoryUsage().rss / 1048576) * 10) / 10,
      targetP99Ms: 100,
    },
    null,
    2,
  ),
);

// One autoscaler tick, printed as figures: `npm run bench -w @dilu/autoscaler`, or
// `node autoscaler/dist/policy/bench/tick.bench.js [--functions 10000] [--gpus 1000] [--ticks 60]`.
// The co-scaling decision for 10,000 functions whose instances sit on 1,000 GPUs, in one
// process: tick time percentiles (wall and CPU) and RSS.
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { Predictor } from '../../model/index.js';
import { createPredictor, loadProfile } from '../../model/index.js';
import { createCoScalingPolicy } from '../decide.js';
import { createInstanceSizer } from '../sizer.js';
import type { FunctionSpec } from '../spec.js';
import { parseFunctionSpec } from '../spec.js';
import type { Decision, InstanceView, PolicyState } from '../types.js';

const { values } = parseArgs({
  options: {
    functions: { type: 'string', default: '10000' },
    gpus: { type: 'string', default: '1000' },
    ticks: { type: 'string', default: '60' },
  },
});
const FUNCTIONS = Number(values.functions);
const GPUS = Number(values.gpus);
const TICKS = Number(values.ticks);

const dir = fileURLToPath(new URL('../../../data/profiles/dilu-a100/', import.meta.url));
const models: [string, number[], number][] = [
  ['resnet152', [100, 200, 400], 400],
  ['bert_base', [100, 200, 400], 150],
  ['llama2', [4000, 6000], 4],
];
const predictors = new Map<string, Predictor>();
for (const [m] of models) {
  predictors.set(m, createPredictor(loadProfile(`${dir}bs_sm_${m}.csv`)));
}

/** A deterministic generator (no Math.random: the run is reproducible). */
function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296;
  };
}
const rand = lcg(42);

interface Fn {
  readonly spec: FunctionSpec;
  readonly predictor: Predictor;
  readonly baseRps: number;
  instances: InstanceView[];
  readyAt: Map<string, number>;
  state: PolicyState | undefined;
  next: number;
}

const sizer = createInstanceSizer();
const fns: Fn[] = [];
let placed = 0;
for (let i = 0; i < FUNCTIONS; i++) {
  const [model, slos, peak] = models[i % models.length] as [string, number[], number];
  const slo = slos[Math.floor(rand() * slos.length)] ?? 200;
  const predictor = predictors.get(model) as Predictor;
  const spec = parseFunctionSpec({ name: `fn-${i}`, sloMs: slo, minScale: 1 });
  const baseRps = peak * (0.05 + rand());
  const s = sizer.size(predictor, { sloMs: slo, knobs: spec.knobs, loadRps: baseRps });
  const n = 1 + Math.floor(rand() * 4);
  const instances: InstanceView[] = [];
  for (let k = 0; k < n; k++) {
    instances.push({
      id: `fn-${i}-${k}`,
      batch: s.batch,
      smRequest: s.smRequest,
      smLimit: s.smLimit,
      quota: s.smRequest,
      ready: true,
      quotaHeadroom: Math.floor(rand() * 30),
      gpu: `gpu-${placed++ % GPUS}`,
      createdAtS: 0,
    });
  }
  fns.push({ spec, predictor, baseRps, instances, readyAt: new Map(), state: undefined, next: n });
}
const instanceCount = fns.reduce((a, f) => a + f.instances.length, 0);

const policy = createCoScalingPolicy({ sizer });
const times: number[] = [];
const cpuTimes: number[] = [];
let decisions = 0;
let changes = 0;
const WARMUP = 10;
for (let t = 0; t < TICKS + WARMUP; t++) {
  let ns = 0n;
  const cpuStart = process.cpuUsage();
  for (const f of fns) {
    // Load: a slow wave per function (period 2 min) with per-second jitter.
    const wave = 1 + 0.5 * Math.sin((t / 60) * Math.PI + f.baseRps);
    const input = {
      spec: f.spec,
      instances: f.instances,
      load: { samples: [f.baseRps * wave * (0.9 + 0.2 * rand())] },
      predictor: f.predictor,
      nowS: t,
      state: f.state,
    };
    const started = process.hrtime.bigint();
    const d = policy.decide(input);
    ns += process.hrtime.bigint() - started;
    // Untimed: apply the decision as a controller would.
    f.state = d.state;
    decisions++;
    changes += d.quotaChanges.length + d.add + d.remove.length;
    apply(f, d, t);
  }
  const cpu = process.cpuUsage(cpuStart);
  if (t >= WARMUP) {
    // The first ticks warm the JIT and the sizing cache. Wall time sums the decide() calls
    // only; CPU time covers the whole loop (inputs and applying decisions included) and
    // is reported because on a shared machine the wall clock also counts waiting.
    times.push(Number(ns) / 1e6);
    cpuTimes.push((cpu.user + cpu.system) / 1000);
  }
}

function apply(f: Fn, d: Decision, t: number): void {
  const becomesReady = f.instances.some(x => !x.ready && (f.readyAt.get(x.id) ?? 0) <= t);
  if (d.quotaChanges.length === 0 && d.add === 0 && d.remove.length === 0 && !becomesReady) {
    return; // nothing changed: the controller's view of the fleet stays the same object
  }
  const quota = new Map(d.quotaChanges.map(c => [c.id, c.to]));
  f.instances = f.instances
    .filter(x => !d.remove.includes(x.id))
    .map(x => ({
      ...x,
      quota: quota.get(x.id) ?? x.quota,
      ready: x.ready || (f.readyAt.get(x.id) ?? 0) <= t,
    }));
  for (let k = 0; k < d.add; k++) {
    const s = d.newInstance;
    const id = `${f.spec.name}-${f.next++}`;
    f.readyAt.set(id, t + d.figures.coldStartS);
    f.instances.push({
      id,
      batch: s.batch,
      smRequest: s.smRequest,
      smLimit: s.smLimit,
      quota: s.smRequest,
      ready: false,
      quotaHeadroom: Math.floor(rand() * 30),
      gpu: `gpu-${placed++ % GPUS}`,
      createdAtS: t,
    });
  }
}
times.sort((a, b) => a - b);
cpuTimes.sort((a, b) => a - b);
const pct = (p: number, xs = times): number =>
  xs[Math.min(xs.length - 1, Math.floor(p * xs.length))] ?? NaN;
const rssMiB = process.memoryUsage().rss / 1048576;
console.log(
  JSON.stringify(
    {
      functions: FUNCTIONS,
      gpus: GPUS,
      instances: instanceCount,
      ticksMeasured: times.length,
      tickMs: { p50: round(pct(0.5)), p99: round(pct(0.99)), max: round(times.at(-1) ?? NaN) },
      tickLoopCpuMs: { p50: round(pct(0.5, cpuTimes)), p99: round(pct(0.99, cpuTimes)) },
      perDecisionUs: round((pct(0.5) * 1000) / FUNCTIONS),
      decisions,
      actionsPerDecision: round(changes / decisions),
      rssMiB: round(rssMiB),
    },
    null,
    2,
  ),
);

function round(v: number): number {
  return Math.round(v * 100) / 100;
}

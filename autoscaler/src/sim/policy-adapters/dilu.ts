import type {
  Decision,
  ExecutionObservation,
  FunctionSpec,
  InstanceView as PolicyInstance,
  PolicyKnobOverrides,
  PolicyState,
} from '../../policy/index.js';
import {
  createCoScalingPolicy,
  createInstanceSizer,
  parseFunctionSpec,
} from '../../policy/index.js';
import type { InstanceView, PolicyContext, ScalingPolicy } from '../policy.js';
import type { Scenario, ScenarioFunction } from '../scenario.js';

/**
 * `dilu`: the production 2-D co-scaling policy (autoscaler/src/policy) run unchanged. Every
 * second, per function, the simulator hands it what the autoscaler would see in a cluster —
 * the instances (ready or starting, their quota headroom on their GPU), the one-second arrival
 * rates since the last decision, the observed p95 latency, the requests held while no
 * instance is ready — and applies the decision as the autoscaler does: quota changes first
 * (the node agent), then new instances with the decision's (b, r, l, m), started at their
 * request r (the device plugin's initial quota), then removals. Placement is the placer's
 * (`dilu`, complementary best fit), as for the webhook.
 */
export function createDiluPolicy(
  scenario: Scenario,
  knobs: PolicyKnobOverrides = {},
): ScalingPolicy {
  const policy = createCoScalingPolicy({ sizer: createInstanceSizer() });
  const specs = scenario.functions.map(f => specOf(f, scenario, knobs));
  const states: (PolicyState | undefined)[] = [];
  const decidedAt: number[] = [];
  const execution = createExecutionReader();

  const decideFor = (ctx: PolicyContext, f: ScenarioFunction): Decision | undefined => {
    const spec = specs[f.index];
    if (!spec) return undefined;
    const views = ctx.instances(f.index);
    const since = decidedAt[f.index] ?? 0;
    const arrivals = ctx.series(f.index).arrivals;
    const samples: number[] = [];
    for (let s = since; s < ctx.now; s++) samples.push(arrivals[s] ?? 0);
    const ready = views.some(v => v.readyAt <= ctx.now);
    const d = policy.decide({
      spec,
      predictor: f.predictor,
      nowS: ctx.now,
      state: states[f.index],
      instances: views.map(v => instanceOf(ctx, v)),
      load: {
        samples,
        p95LatencyMs: ctx.observedLatencyMs(f.index, 0.95, Math.max(1, ctx.now - since)),
        waiting: ready ? 0 : ctx.queueLength(f.index),
        execution: execution.since(views),
      },
    });
    states[f.index] = d.state;
    decidedAt[f.index] = ctx.now;
    return d;
  };

  return {
    name: 'dilu',
    tickSeconds: 1,
    start(ctx) {
      // A function is deployed: its first decision, on a zero-load sample, starts its initial
      // instances (warm, as the baselines' are).
      for (const f of ctx.functions) {
        const spec = specs[f.index];
        if (!spec) continue;
        const d = policy.decide({
          spec,
          predictor: f.predictor,
          nowS: 0,
          instances: [],
          load: { samples: [0] },
        });
        states[f.index] = d.state;
        decidedAt[f.index] = 0;
        apply(ctx, f, d);
      }
    },
    tick(ctx) {
      for (const f of ctx.functions) {
        const d = decideFor(ctx, f);
        if (d) apply(ctx, f, d);
      }
    },
  };
}

/**
 * The execution figures a controller scrapes from the runtimes' metrics
 * (`dilu_batch_duration_seconds`, `dilu_batch_size`; docs/contracts/runtime-metrics.md):
 * per instance and batch size, the batches run and their GPU busy time since the previous
 * decision, from the engine's cumulative counters.
 */
export function createExecutionReader(): {
  since(views: readonly InstanceView[]): ExecutionObservation[];
} {
  const seen = new Map<number, Counters>();
  return {
    since(views) {
      const out: ExecutionObservation[] = [];
      for (const v of views) readInstance(v, seen, out);
      if (seen.size > 4 * views.length + 64) {
        const live = new Set(views.map(v => v.id));
        for (const id of seen.keys()) if (!live.has(id)) seen.delete(id);
      }
      return out;
    },
  };
}

/** The counters of one instance as last read. */
interface Counters {
  total: number;
  readonly batches: Float64Array;
  readonly busy: Float64Array;
}

/** Appends one instance's batches since its last reading, one entry per batch size. */
function readInstance(
  v: InstanceView,
  seen: Map<number, Counters>,
  out: ExecutionObservation[],
): void {
  const batches = v.executedBatches;
  const busy = v.executedBusySeconds;
  const total = v.executedTotal ?? 0;
  if (batches === undefined || busy === undefined) return;
  let last = seen.get(v.id);
  if (last === undefined) {
    last = {
      total: 0,
      batches: new Float64Array(batches.length),
      busy: new Float64Array(busy.length),
    };
    seen.set(v.id, last);
  }
  if (total === last.total) return;
  last.total = total;
  for (let n = 1; n < batches.length; n++) {
    const now = batches[n] ?? 0;
    const count = now - (last.batches[n] ?? 0);
    if (count <= 0) continue;
    const seconds = (busy[n] ?? 0) - (last.busy[n] ?? 0);
    last.batches[n] = now;
    last.busy[n] = busy[n] ?? 0;
    out.push({ smLimit: v.smLimit, batches: count, requests: count * n, busySeconds: seconds });
  }
}

/** What the policy is told about a function: the scenario's SLO, bounds and cold start. */
function specOf(f: ScenarioFunction, s: Scenario, knobs: PolicyKnobOverrides): FunctionSpec {
  return parseFunctionSpec(
    {
      name: f.name,
      sloMs: f.sloMs,
      class: f.class,
      minScale: f.minScale,
      maxScale: Number.isFinite(f.maxScale) ? f.maxScale : 0,
      initialScale: f.initialScale,
      scaleToZero: f.minScale === 0,
      memoryMiB: f.memoryMiB,
      knobs: {
        podStartS: s.cluster.podStartSeconds,
        defaultModelLoadS: f.modelLoadSeconds,
        ...knobs,
      },
    },
    `functions.${f.index}`,
  );
}

function instanceOf(ctx: PolicyContext, v: InstanceView): PolicyInstance {
  return {
    id: String(v.id),
    batch: v.batch,
    smRequest: v.smRequest,
    smLimit: v.smLimit,
    quota: v.quota,
    ready: v.readyAt <= ctx.now,
    quotaHeadroom: Math.max(0, 100 - ctx.gpu(v.gpu).quotaSum),
    gpu: String(v.gpu),
    createdAtS: v.createdAt,
  };
}

function apply(ctx: PolicyContext, f: ScenarioFunction, d: Decision): void {
  for (const q of d.quotaChanges) ctx.setQuota(Number(q.id), q.to);
  for (const id of d.remove) ctx.removeInstance(Number(id));
  const n = d.newInstance;
  for (let i = 0; i < d.add; i++) {
    const added = ctx.addInstance(f.index, {
      batch: n.batch,
      smRequest: n.smRequest,
      smLimit: n.smLimit,
      quota: Math.max(1, n.smRequest),
      memoryMiB: n.memoryMiB ?? f.memoryMiB,
    });
    if (!added) return;
  }
}

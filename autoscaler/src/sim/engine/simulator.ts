import type {
  FunctionSeries,
  InstanceView,
  NewInstance,
  Placer,
  PlacerInstance,
  PolicyContext,
  ScalingPolicy,
} from '../policy.js';
import type { Scenario } from '../scenario.js';
import { FunctionRuntime } from './function-runtime.js';
import { GpuState } from './gpu-state.js';
import { LatencyHistogram } from './latency-histogram.js';
import { SimInstance } from './sim-instance.js';

export interface SimulationOptions {
  readonly scenario: Scenario;
  readonly policy: ScalingPolicy;
  readonly placer: Placer;
  /** Seed of the arrival streams; default: the scenario's. */
  readonly seed?: number | undefined;
  /** Called after every simulated second. */
  readonly onProgress?: ((second: number, total: number) => void) | undefined;
}

/** Per-second series of one function, for reports. */
export interface FunctionTimeline {
  readonly name: string;
  readonly arrivals: Float32Array;
  readonly violations: Float32Array;
  /** Instances not removed (starting or ready). */
  readonly replicas: Float32Array;
  /** Σ effective SM quota of those instances, percent of one GPU. */
  readonly quota: Float32Array;
}

/** Raw outcome of one simulated run; metrics.ts turns it into the reported figures. */
export interface SimulationOutcome {
  readonly policy: string;
  readonly durationSeconds: number;
  readonly requests: number;
  readonly completed: number;
  readonly violations: number;
  readonly dropped: number;
  readonly latency: LatencyHistogram;
  readonly gpuSeconds: number;
  readonly coldStarts: number;
  /** Per second: GPUs holding at least one instance. */
  readonly activeGpus: Float32Array;
  /** Per second: Σ GPU share held (the cost rate, GPUs). */
  readonly share: Float32Array;
  /** Per second: mean SM and memory fragmentation over active GPUs. */
  readonly fragSm: Float32Array;
  readonly fragMem: Float32Array;
  readonly functions: readonly FunctionTimeline[];
  readonly wallSeconds: number;
  readonly violationsByFunction: Float64Array;
  readonly requestsByFunction: Float64Array;
}

/**
 * The simulation loop. Time advances in one-second ticks; inside a tick every function's
 * requests are simulated exactly (arrival, queueing, batching, duty-cycled execution), then
 * the tick is closed (queue accounting, per-second series), and every `policy.tickSeconds`
 * the policy decides from what it could have observed. Instance starts wait out the pod
 * start and model load; quota changes take effect after the quota delay.
 */
export function simulate(o: SimulationOptions): SimulationOutcome {
  return new Simulation(o).run();
}

class Simulation {
  readonly #o: SimulationOptions;
  readonly #s: Scenario;
  readonly #gpus: GpuState[] = [];
  readonly #runtimes: FunctionRuntime[] = [];
  readonly #byId = new Map<number, SimInstance>();
  readonly #draining: SimInstance[] = [];
  readonly #hist = new LatencyHistogram();
  readonly #timelines: {
    name: string;
    arrivals: Float32Array;
    violations: Float32Array;
    replicas: Float32Array;
    quota: Float32Array;
  }[] = [];
  readonly #activeGpus: Float32Array;
  readonly #share: Float32Array;
  readonly #fragSm: Float32Array;
  readonly #fragMem: Float32Array;
  #now = 0;
  #nextId = 1;
  #starting = true;
  #coldStarts = 0;
  #gpuSeconds = 0;

  constructor(o: SimulationOptions) {
    this.#o = o;
    this.#s = o.scenario;
    const c = this.#s.cluster;
    for (let n = 0; n < c.nodes; n++) {
      for (let g = 0; g < c.gpusPerNode; g++) {
        this.#gpus.push(new GpuState(this.#gpus.length, n, c.gpu.model, c.gpu.memoryMiB));
      }
    }
    const D = this.#s.durationSeconds;
    const seriesSeconds = D + Math.ceil(this.#s.requests.timeoutSeconds) + 64;
    const seed = o.seed ?? this.#s.seed;
    for (const f of this.#s.functions) {
      const rt = new FunctionRuntime({
        index: f.index,
        sloSeconds: f.sloMs / 1000,
        timeoutSeconds: this.#s.requests.timeoutSeconds,
        queueBatchesPerInstance: this.#s.requests.queueBatchesPerInstance,
        endSeconds: D,
        seriesSeconds,
        stream: f.arrivals(seed),
        histogram: this.#hist,
      });
      this.#runtimes.push(rt);
      this.#timelines.push({
        name: f.name,
        arrivals: rt.series.arrivals,
        violations: rt.series.violations,
        replicas: new Float32Array(D),
        quota: new Float32Array(D),
      });
    }
    this.#activeGpus = new Float32Array(D);
    this.#share = new Float32Array(D);
    this.#fragSm = new Float32Array(D);
    this.#fragMem = new Float32Array(D);
  }

  run(): SimulationOutcome {
    const started = performance.now();
    const ctx = this.#context();
    const policy = this.#o.policy;
    policy.start(ctx);
    this.#starting = false;
    const D = this.#s.durationSeconds;
    const every = Math.max(1, Math.round(policy.tickSeconds));
    for (let T = 0; T < D; T++) {
      for (const rt of this.#runtimes) {
        rt.beginTick(T);
        rt.batchWaitSeconds = batchWait(rt, T);
        rt.process(T + 1);
        rt.endTick(T + 1);
      }
      this.#now = T + 1;
      this.#releaseDrained();
      this.#record(T);
      if ((T + 1) % every === 0 && T + 1 < D) policy.tick(ctx);
      this.#o.onProgress?.(T + 1, D);
    }
    for (const rt of this.#runtimes) {
      rt.process(Infinity);
      rt.abandonQueue();
    }
    this.#chargeAll(D);
    return this.#outcome((performance.now() - started) / 1000);
  }

  #outcome(wallSeconds: number): SimulationOutcome {
    let requests = 0;
    let completed = 0;
    let violations = 0;
    let dropped = 0;
    const n = this.#runtimes.length;
    const vByFn = new Float64Array(n);
    const rByFn = new Float64Array(n);
    for (const rt of this.#runtimes) {
      requests += rt.generated;
      completed += rt.completed;
      violations += rt.violated;
      dropped += rt.dropped;
      vByFn[rt.index] = rt.violated;
      rByFn[rt.index] = rt.generated;
    }
    return {
      policy: this.#o.policy.name,
      durationSeconds: this.#s.durationSeconds,
      requests,
      completed,
      violations,
      dropped,
      latency: this.#hist,
      gpuSeconds: this.#gpuSeconds,
      coldStarts: this.#coldStarts,
      activeGpus: this.#activeGpus,
      share: this.#share,
      fragSm: this.#fragSm,
      fragMem: this.#fragMem,
      functions: this.#timelines,
      wallSeconds,
      violationsByFunction: vByFn,
      requestsByFunction: rByFn,
    };
  }

  #record(T: number): void {
    this.#runtimes.forEach((rt, i) => {
      const tl = this.#timelines[i];
      if (!tl) return;
      let q = 0;
      for (const inst of rt.instances) q += inst.quota;
      tl.replicas[T] = rt.instances.length;
      tl.quota[T] = q;
    });
    let active = 0;
    let share = 0;
    for (const g of this.#gpus) {
      if (g.instances.length === 0) continue;
      active++;
      for (const inst of g.instances) share += inst.share;
    }
    this.#activeGpus[T] = active;
    this.#share[T] = share;
    const frag = this.#o.placer.fragmentation();
    this.#fragSm[T] = frag.sm;
    this.#fragMem[T] = frag.mem;
  }

  #context(): PolicyContext {
    const runtimes = this.#runtimes;
    const gpus = this.#gpus;
    const now = (): number => this.#now;
    const seriesOf = (fn: number): FunctionSeries => {
      const rt = runtimes[fn];
      if (!rt) throw new RangeError(`no function ${fn}`);
      return rt.series;
    };
    return {
      get now() {
        return now();
      },
      scenario: this.#s,
      functions: this.#s.functions,
      gpuCount: gpus.length,
      series: seriesOf,
      observedLatencyMs: (fn, q, w) => {
        const v = runtimes[fn]?.observedLatency(q, w, this.#now);
        return v === undefined ? undefined : v * 1000;
      },
      queueLength: fn => runtimes[fn]?.queued(this.#now) ?? 0,
      instances: fn => runtimes[fn]?.instances ?? [],
      gpu: index => {
        const g = gpus[index];
        if (!g) throw new RangeError(`no GPU ${index} (cluster has ${gpus.length})`);
        return g;
      },
      addInstance: (fn, spec) => this.#add(fn, spec),
      removeInstance: id => {
        this.#remove(id);
      },
      setQuota: (id, quota) => this.#setQuota(id, quota),
    };
  }

  #add(fn: number, spec: NewInstance): InstanceView | undefined {
    const f = this.#s.functions[fn];
    const rt = this.#runtimes[fn];
    if (!f || !rt) throw new RangeError(`no function ${fn}`);
    validateSpec(spec, f.name);
    const id = this.#nextId++;
    const exclusive = spec.exclusive ?? false;
    const placed = {
      id,
      fn,
      class: f.class,
      smRequest: spec.smRequest,
      smLimit: spec.smLimit,
      memoryMiB: spec.memoryMiB,
      exclusive,
    };
    const gpu = this.#choose(placed, spec, f.name);
    if (gpu === undefined) return undefined;
    const readyAt = this.#starting
      ? 0
      : this.#now + this.#s.cluster.podStartSeconds + f.modelLoadSeconds;
    if (!this.#starting) this.#coldStarts++;
    const inst = new SimInstance({
      id,
      fn,
      gpu,
      batch: spec.batch,
      smRequest: spec.smRequest,
      smLimit: spec.smLimit,
      quota: spec.quota,
      memoryMiB: spec.memoryMiB,
      exclusive,
      requestFollowsQuota: spec.requestFollowsQuota ?? false,
      createdAt: this.#now,
      readyAt,
      predictor: f.predictor,
      windowSeconds: this.#s.cluster.dutyCycleWindowMs / 1000,
    });
    this.#gpus[gpu]?.add(inst);
    this.#byId.set(id, inst);
    rt.instances.push(inst);
    return inst;
  }

  /** The GPU for a new instance: the policy's own choice, or the placer's (checked). */
  #choose(placed: PlacerInstance, spec: NewInstance, name: string): number | undefined {
    if (spec.gpu !== undefined) {
      const g = this.#gpus[spec.gpu];
      if (!g || g.misfit(spec) !== undefined) return undefined;
      this.#o.placer.record(placed, spec.gpu);
      return spec.gpu;
    }
    const gpu = this.#o.placer.place(placed);
    if (gpu === undefined) return undefined;
    const g = this.#gpus[gpu];
    if (g?.misfit(spec) === 'quota') this.#makeRoom(g, spec.quota);
    const why = g ? g.misfit(spec) : 'no such GPU';
    if (why !== undefined) {
      this.#o.placer.remove(placed.id);
      throw new Error(
        `placer put instance ${placed.id} of ${name} on GPU ${gpu}, which cannot hold it (${why})`,
      );
    }
    return gpu;
  }

  /**
   * SM requests are guaranteed: when a placed instance's quota does not fit because
   * neighbours run above their requests, their surplus is taken back (largest first), as the
   * node agent does before it admits a new allocation.
   */
  #makeRoom(g: GpuState, quota: number): void {
    const byExcess = [...g.instances].sort(
      (a, b) => b.quota - b.smRequest - (a.quota - a.smRequest),
    );
    for (const other of byExcess) {
      const over = g.quotaSum + quota - 100;
      if (over <= 1e-9) return;
      const cut = Math.min(over, other.quota - Math.max(1, other.smRequest));
      // A removed instance still finishing its batch gives its surplus back too.
      if (cut > 0) this.#setQuota(other.id, other.quota - cut, true);
    }
  }

  #remove(id: number): void {
    const inst = this.#byId.get(id);
    if (!inst || inst.removed) return;
    inst.removed = true;
    const rt = this.#runtimes[inst.fn];
    if (rt) {
      const i = rt.instances.indexOf(inst);
      if (i >= 0) rt.instances.splice(i, 1);
    }
    // An instance in the middle of a batch keeps its GPU until the batch is done.
    if (inst.readyAt <= this.#now && inst.freeAt > this.#now) this.#draining.push(inst);
    else this.#release(inst, this.#now);
  }

  #release(inst: SimInstance, at: number): void {
    this.#charge(inst, at);
    this.#gpus[inst.gpu]?.remove(inst);
    this.#o.placer.remove(inst.id);
    this.#byId.delete(inst.id);
  }

  #releaseDrained(): void {
    for (let i = this.#draining.length - 1; i >= 0; i--) {
      const inst = this.#draining[i];
      if (!inst || inst.freeAt > this.#now) continue;
      this.#draining.splice(i, 1);
      this.#release(inst, inst.freeAt);
    }
  }

  #setQuota(id: number, quota: number, draining = false): boolean {
    const inst = this.#byId.get(id);
    if (!inst || (inst.removed && !draining)) return false;
    if (!Number.isFinite(quota) || quota < 1 || quota > inst.smLimit + 1e-9) return false;
    const g = this.#gpus[inst.gpu];
    if (!g) return false;
    if (g.quotaSum - inst.quota + quota > 100 + 1e-9) return false;
    this.#charge(inst, this.#now);
    g.quotaSum += quota - inst.quota;
    if (inst.requestFollowsQuota) {
      g.smRequested += quota - inst.smRequest;
      inst.smRequest = quota;
      this.#o.placer.resize(inst.id, quota);
    }
    inst.setQuota(quota, this.#now + this.#s.cluster.quotaChangeMs / 1000);
    return true;
  }

  /** Adds the instance's cost since it was last charged, up to `at`. */
  #charge(inst: SimInstance, at: number): void {
    const end = Math.min(at, this.#s.durationSeconds);
    if (end > inst.costFrom) this.#gpuSeconds += inst.share * (end - inst.costFrom);
    inst.costFrom = Math.max(inst.costFrom, end);
  }

  #chargeAll(at: number): void {
    for (const inst of this.#byId.values()) this.#charge(inst, at);
  }
}

function validateSpec(spec: NewInstance, name: string): void {
  const ok =
    Number.isInteger(spec.batch) &&
    spec.batch >= 1 &&
    spec.smLimit > 0 &&
    spec.smLimit <= 100 &&
    spec.smRequest >= 0 &&
    spec.smRequest <= spec.smLimit &&
    spec.quota >= 1 &&
    spec.quota <= spec.smLimit + 1e-9 &&
    spec.memoryMiB > 0;
  if (!ok) {
    throw new RangeError(
      `invalid instance for ${name}: ${JSON.stringify(spec)} (need batch >= 1, 0 <= smRequest <= smLimit <= 100, 1 <= quota <= smLimit, memoryMiB > 0)`,
    );
  }
}

/**
 * Dynamic batching delay, after Dilu's runtime: no waiting while a batch takes less than the
 * gap between requests an instance sees, else one sixth of the batch time, so batches can fill
 * under load without holding lone requests back.
 */
function batchWait(rt: FunctionRuntime, T: number): number {
  const lastSecond = rt.series.arrivals[T - 1] ?? 0;
  let ready = 0;
  let batchSeconds = 0;
  for (const inst of rt.instances) {
    if (inst.readyAt > T) continue;
    ready++;
    batchSeconds = Math.max(batchSeconds, inst.fullBatchSeconds);
  }
  if (ready === 0 || lastSecond === 0) return 0;
  const gap = ready / lastSecond;
  return batchSeconds < gap ? 0 : batchSeconds / 6;
}

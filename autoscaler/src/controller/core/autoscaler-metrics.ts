import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Decision, InstanceView, LoadObservation } from '../../policy/index.js';
import type { ManagedFunction } from './types.js';

export type FunctionState = 'managed' | 'no-profile' | 'invalid';

interface FunctionFigures {
  readonly namespace: string;
  readonly name: string;
  desired: number;
  ready: number;
  predicted: number;
  capacity: number;
  panic: number;
  boundS: number;
  sloS: number | undefined;
  observed: number | undefined;
  p95S: number | undefined;
  /** The latest tick's views, copied into one array kept per function. */
  readonly instances: InstanceView[];
  quotas: ReadonlyMap<string, number> | undefined;
}

/**
 * The autoscaler's Prometheus metrics, in a registry of its own (prom-client's global one is
 * left alone). Methods name what happened; label plumbing stays in here. Series of a function
 * or pod that disappears are removed, so cardinality follows the cluster.
 */
export class AutoscalerMetrics {
  readonly registry: Registry;
  readonly #tick: Histogram;
  readonly #functions: Gauge;
  readonly #desired: Gauge;
  readonly #ready: Gauge;
  readonly #quota: Gauge;
  readonly #limit: Gauge;
  readonly #predicted: Gauge;
  readonly #observed: Gauge;
  readonly #capacity: Gauge;
  readonly #p95: Gauge;
  readonly #bound: Gauge;
  readonly #slo: Gauge;
  readonly #panic: Gauge;
  readonly #decisions: Counter;
  readonly #quotaChanges: Counter;
  readonly #scrapeErrors: Counter;
  readonly #functionErrors: Counter;
  readonly #reconciles: Counter;
  readonly #leader: Gauge;
  readonly #alerts: Counter;
  readonly #figures = new Map<string, FunctionFigures>();
  /** Decisions by kind since the last read: counted here, added to the counter when read. */
  readonly #kinds = new Map<string, number>();

  constructor(opts: { readonly defaultMetrics?: boolean } = {}) {
    this.registry = new Registry();
    const registers = [this.registry];
    const fn = ['namespace', 'function'] as const;
    const g = (name: string, help: string, labelNames: readonly string[] = fn): Gauge =>
      new Gauge({ name: `dilu_autoscaler_${name}`, help, labelNames, registers });
    const c = (name: string, help: string, labelNames: readonly string[]): Counter =>
      new Counter({ name: `dilu_autoscaler_${name}`, help, labelNames, registers });
    this.#tick = new Histogram({
      name: 'dilu_autoscaler_tick_duration_seconds',
      help: 'Time of one tick: metrics in, every decision, quota changes applied',
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers,
    });
    this.#functions = g('functions', 'Functions seen, by state', ['state']);
    // Every per-function gauge is filled in one pass when the registry is read.
    this.#desired = new Gauge({
      name: 'dilu_autoscaler_desired_replicas',
      help: 'Replicas the policy wants',
      labelNames: fn,
      registers,
      collect: () => {
        this.#collectFunctions();
      },
    });
    this.#ready = g('ready_replicas', 'Ready instances');
    this.#quota = g('instance_quota_percent', 'Effective SM quota q of an instance', [
      ...fn,
      'pod',
    ]);
    this.#limit = g('instance_sm_limit_percent', 'SM limit l of an instance', [...fn, 'pod']);
    this.#predicted = g('predicted_load_rps', 'Load the policy provisions for');
    this.#observed = g('observed_load_rps', 'Newest measured arrival rate');
    this.#capacity = g('capacity_rps', 'Capacity of the ready instances at their quotas');
    this.#p95 = g('observed_latency_p95_seconds', 'p95 request latency measured');
    this.#bound = g('predicted_latency_bound_seconds', 'Latency bound the model promises');
    this.#slo = g('slo_seconds', 'Latency SLO of the function');
    this.#panic = g('panic', '1 while the function is in panic mode');
    this.#decisions = new Counter({
      name: 'dilu_autoscaler_decisions_total',
      help: 'Decisions by kind (policy reason code)',
      labelNames: ['kind'],
      registers,
      collect: () => {
        this.#flushDecisionKinds();
      },
    });
    this.#quotaChanges = c('quota_changes_total', 'Quota changes sent to node agents', [
      'direction',
      'outcome',
    ]);
    this.#scrapeErrors = c('scrape_errors_total', 'Failed metric reads', ['source']);
    this.#functionErrors = c('function_errors_total', 'Ticks a function could not be decided', [
      'reason',
    ]);
    this.#reconciles = c('reconciles_total', 'Reconciles by result', ['result']);
    this.#leader = g('leader', '1 on the replica that holds the lease', []);
    this.#alerts = c('alerts_received_total', 'Alertmanager alerts received', ['status']);
    if (opts.defaultMetrics !== false) collectDefaultMetrics({ register: this.registry });
  }

  observeTick(seconds: number): void {
    this.#tick.observe(seconds);
  }

  functionsByState(counts: Readonly<Record<FunctionState, number>>): void {
    for (const [state, n] of Object.entries(counts)) this.#functions.set({ state }, n);
  }

  /**
   * Records a function's figures of this tick. Plain assignments: the per-function and
   * per-instance gauges read them when Prometheus scrapes (every 15-30 s), not every tick,
   * so a tick over 10,000 functions pays no label hashing.
   */
  observeDecision(
    fn: ManagedFunction,
    d: Decision,
    instances: readonly InstanceView[],
    load: LoadObservation | undefined,
  ): void {
    let f = this.#figures.get(fn.key);
    if (f === undefined) {
      f = {
        namespace: fn.namespace,
        name: fn.name,
        desired: 0,
        ready: 0,
        predicted: 0,
        capacity: 0,
        panic: 0,
        boundS: 0,
        sloS: undefined,
        observed: undefined,
        p95S: undefined,
        instances: [],
        quotas: undefined,
      };
      this.#figures.set(fn.key, f);
    }
    // Updated in place: no garbage per function and tick.
    f.desired = d.desiredReplicas;
    f.ready = d.figures.readyReplicas;
    f.predicted = d.figures.predictedRps;
    f.capacity = d.figures.capacityRps;
    f.panic = d.figures.panic ? 1 : 0;
    f.boundS = d.newInstance.latencyBoundMs / 1000;
    f.sloS = fn.spec?.sloMs === undefined ? undefined : fn.spec.sloMs / 1000;
    f.observed = load?.samples?.at(-1) ?? f.observed;
    if (load?.p95LatencyMs !== undefined) f.p95S = load.p95LatencyMs / 1000;
    // Copied, not kept: the tick's own array would outlive the tick, be promoted and die in
    // the old generation, 10,000 arrays a tick for a large cluster. Copied by index, because
    // emptying with length = 0 frees the backing store and push then allocates it again.
    const kept = f.instances;
    for (let i = 0; i < instances.length; i++) kept[i] = instances[i] as InstanceView;
    kept.length = instances.length;
    f.quotas =
      d.quotaChanges.length === 0 ? undefined : new Map(d.quotaChanges.map(q => [q.id, q.to]));
    // A labelled inc() hashes its labels: about a thousand reasons a tick on a large
    // cluster are counted in a plain map and reach the counter when it is read.
    for (const r of d.reasons) this.#kinds.set(r.code, (this.#kinds.get(r.code) ?? 0) + 1);
  }

  #flushDecisionKinds(): void {
    for (const [kind, n] of this.#kinds) this.#decisions.inc({ kind }, n);
    this.#kinds.clear();
  }

  forgetFunction(fn: Pick<ManagedFunction, 'key'>): void {
    this.#figures.delete(fn.key);
  }

  /** Sets the per-function gauges from the latest figures (called at scrape time). */
  #collectFunctions(): void {
    const gauges = [
      this.#desired,
      this.#ready,
      this.#predicted,
      this.#observed,
      this.#capacity,
      this.#p95,
      this.#bound,
      this.#slo,
      this.#panic,
      this.#quota,
      this.#limit,
    ];
    for (const g of gauges) g.reset();
    for (const f of this.#figures.values()) {
      const l = { namespace: f.namespace, function: f.name };
      this.#desired.set(l, f.desired);
      this.#ready.set(l, f.ready);
      this.#predicted.set(l, f.predicted);
      this.#capacity.set(l, f.capacity);
      this.#panic.set(l, f.panic);
      this.#bound.set(l, f.boundS);
      if (f.sloS !== undefined) this.#slo.set(l, f.sloS);
      if (f.observed !== undefined) this.#observed.set(l, f.observed);
      if (f.p95S !== undefined) this.#p95.set(l, f.p95S);
      for (const x of f.instances) {
        this.#quota.set({ ...l, pod: x.id }, f.quotas?.get(x.id) ?? x.quota);
        this.#limit.set({ ...l, pod: x.id }, x.smLimit);
      }
    }
  }

  /** One tick's vertical changes: planned by direction, and what the node agents answered. */
  quotaChanges(
    planned: { readonly up: number; readonly down: number },
    outcome: { readonly applied: number; readonly failed: number; readonly refused: number },
  ): void {
    const add = (labels: Record<string, string>, n: number): void => {
      if (n > 0) this.#quotaChanges.inc(labels, n);
    };
    add({ direction: 'up', outcome: 'planned' }, planned.up);
    add({ direction: 'down', outcome: 'planned' }, planned.down);
    add({ direction: 'any', outcome: 'applied' }, outcome.applied);
    add({ direction: 'any', outcome: 'refused' }, outcome.refused);
    add({ direction: 'any', outcome: 'failed' }, outcome.failed);
  }

  scrapeError(source: 'queue-proxy' | 'activator' | 'prometheus' | 'node-agent', n = 1): void {
    this.#scrapeErrors.inc({ source }, n);
  }

  functionError(reason: string): void {
    this.#functionErrors.inc({ reason });
  }

  reconciled(result: 'ok' | 'error'): void {
    this.#reconciles.inc({ result });
  }

  leader(isLeader: boolean): void {
    this.#leader.set(isLeader ? 1 : 0);
  }

  alertReceived(status: string): void {
    this.#alerts.inc({ status });
  }

  contentType(): string {
    return this.registry.contentType;
  }

  text(): Promise<string> {
    return this.registry.metrics();
  }
}

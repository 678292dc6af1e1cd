import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Decision, InstanceView, LoadObservation } from '../../policy/index.js';
import type { ManagedFunction } from './types.js';

export type FunctionState = 'managed' | 'no-profile' | 'invalid';

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
  readonly #podsOf = new Map<string, Set<string>>();

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
    this.#desired = g('desired_replicas', 'Replicas the policy wants');
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
    this.#decisions = c('decisions_total', 'Decisions by kind (policy reason code)', ['kind']);
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

  observeDecision(
    fn: ManagedFunction,
    d: Decision,
    instances: readonly InstanceView[],
    load: LoadObservation | undefined,
  ): void {
    const l = { namespace: fn.namespace, function: fn.name };
    this.#desired.set(l, d.desiredReplicas);
    this.#ready.set(l, d.figures.readyReplicas);
    this.#predicted.set(l, d.figures.predictedRps);
    this.#capacity.set(l, d.figures.capacityRps);
    this.#panic.set(l, d.figures.panic ? 1 : 0);
    this.#bound.set(l, d.newInstance.latencyBoundMs / 1000);
    if (fn.spec?.sloMs !== undefined) this.#slo.set(l, fn.spec.sloMs / 1000);
    const newest = load?.samples?.at(-1);
    if (newest !== undefined) this.#observed.set(l, newest);
    if (load?.p95LatencyMs !== undefined) this.#p95.set(l, load.p95LatencyMs / 1000);
    for (const r of d.reasons) this.#decisions.inc({ kind: r.code });
    const quotas = new Map(d.quotaChanges.map(q => [q.id, q.to]));
    const seen = new Set<string>();
    for (const x of instances) {
      seen.add(x.id);
      this.#quota.set({ ...l, pod: x.id }, quotas.get(x.id) ?? x.quota);
      this.#limit.set({ ...l, pod: x.id }, x.smLimit);
    }
    const before = this.#podsOf.get(fn.key);
    for (const pod of before ?? []) {
      if (!seen.has(pod)) {
        this.#quota.remove({ ...l, pod });
        this.#limit.remove({ ...l, pod });
      }
    }
    this.#podsOf.set(fn.key, seen);
  }

  forgetFunction(fn: Pick<ManagedFunction, 'key' | 'namespace' | 'name'>): void {
    const l = { namespace: fn.namespace, function: fn.name };
    for (const m of [
      this.#desired,
      this.#ready,
      this.#predicted,
      this.#observed,
      this.#capacity,
      this.#p95,
      this.#bound,
      this.#slo,
      this.#panic,
    ]) {
      m.remove(l);
    }
    for (const pod of this.#podsOf.get(fn.key) ?? []) {
      this.#quota.remove({ ...l, pod });
      this.#limit.remove({ ...l, pod });
    }
    this.#podsOf.delete(fn.key);
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

import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** How one admission ended. */
export type AdmissionOutcome = 'mutated' | 'skipped' | 'denied' | 'error';
export type ErrorKind =
  'bad-request' | 'internal' | 'timeout' | 'profile-load' | 'instance-decision';
export type PlacementFallbackReason = 'unavailable' | 'no-fit' | 'rejected';

/**
 * The webhook's Prometheus metrics, on a registry of its own (tests and a second instance in
 * one process never collide). Methods name what happened; label names stay inside.
 */
export class WebhookMetrics {
  readonly registry = new Registry();
  readonly #latency: Histogram<'outcome'>;
  readonly #admissions: Counter<'outcome' | 'source'>;
  readonly #errors: Counter<'kind'>;
  readonly #placementFallbacks: Counter<'reason'>;
  readonly #placementLatency: Histogram;
  readonly #tlsReloads: Counter<'result'>;
  readonly #profiles: Gauge;

  constructor(options: { defaultMetrics?: boolean } = {}) {
    const registers = [this.registry];
    if (options.defaultMetrics ?? true)
      collectDefaultMetrics({ register: this.registry, prefix: 'dilu_webhook_' });
    this.#latency = new Histogram({
      name: 'dilu_webhook_admission_duration_seconds',
      help: 'Time to answer one AdmissionReview, by outcome',
      labelNames: ['outcome'],
      buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    });
    this.#admissions = new Counter({
      name: 'dilu_webhook_admissions_total',
      help: 'AdmissionReviews answered, by outcome and decision source (profile, explicit, decision, default, none)',
      labelNames: ['outcome', 'source'],
      registers,
    });
    this.#errors = new Counter({
      name: 'dilu_webhook_errors_total',
      help: 'Errors: malformed requests, internal failures, timeouts, bad profiles or decisions',
      labelNames: ['kind'],
      registers,
    });
    this.#placementFallbacks = new Counter({
      name: 'dilu_webhook_placement_fallbacks_total',
      help: 'Admissions denied because the placement service was unavailable, found no GPU, or refused the request',
      labelNames: ['reason'],
      registers,
    });
    this.#placementLatency = new Histogram({
      name: 'dilu_webhook_placement_duration_seconds',
      help: 'Time of one call to the placement service',
      buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers,
    });
    this.#tlsReloads = new Counter({
      name: 'dilu_webhook_tls_reloads_total',
      help: 'Serving certificate reloads after the files changed, by result',
      labelNames: ['result'],
      registers,
    });
    this.#profiles = new Gauge({
      name: 'dilu_webhook_profiles',
      help: 'FunctionProfiles in the webhook cache',
      registers,
    });
  }

  observeAdmission(startNs: bigint, outcome: AdmissionOutcome, source = 'none'): void {
    this.#latency.observe({ outcome }, Number(process.hrtime.bigint() - startNs) / 1e9);
    this.#admissions.inc({ outcome, source });
  }

  error(kind: ErrorKind): void {
    this.#errors.inc({ kind });
  }

  placementFallback(reason: PlacementFallbackReason): void {
    this.#placementFallbacks.inc({ reason });
  }

  observePlacement(startNs: bigint): void {
    this.#placementLatency.observe(Number(process.hrtime.bigint() - startNs) / 1e9);
  }

  tlsReload(result: 'ok' | 'failed'): void {
    this.#tlsReloads.inc({ result });
  }

  setProfileCount(n: number): void {
    this.#profiles.set(n);
  }

  async render(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}

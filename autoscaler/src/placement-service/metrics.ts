import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export type PlacementResult = 'placed' | 'no-fit' | 'bad-request' | 'not-ready';

/** The placement service's metrics, on a registry of its own. */
export class PlacementServiceMetrics {
  readonly registry = new Registry();
  readonly #requests: Counter<'result'>;
  readonly #latency: Histogram;
  readonly #conflicts: Counter;
  readonly #reservations: Gauge;
  readonly #instances: Gauge;

  constructor(options: { defaultMetrics?: boolean } = {}) {
    const registers = [this.registry];
    if (options.defaultMetrics ?? true) {
      collectDefaultMetrics({ register: this.registry, prefix: 'dilu_placement_' });
    }
    this.#requests = new Counter({
      name: 'dilu_placement_requests_total',
      help: 'Placement requests, by result (placed, no-fit, bad-request, not-ready)',
      labelNames: ['result'],
      registers,
    });
    this.#latency = new Histogram({
      name: 'dilu_placement_request_duration_seconds',
      help: 'Time to answer one placement request',
      buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.1],
      registers,
    });
    this.#conflicts = new Counter({
      name: 'dilu_placement_conflicts_total',
      help: 'Pods whose recorded decision could not be honoured (GPU full or gone, bad annotation)',
      registers,
    });
    this.#reservations = new Gauge({
      name: 'dilu_placement_reservations',
      help: 'Reservations held for pods not yet seen',
      registers,
    });
    this.#instances = new Gauge({
      name: 'dilu_placement_instances',
      help: 'Pods holding GPU shares',
      registers,
    });
  }

  observeRequest(startNs: bigint, result: PlacementResult): void {
    this.#latency.observe(Number(process.hrtime.bigint() - startNs) / 1e9);
    this.#requests.inc({ result });
  }

  conflict(): void {
    this.#conflicts.inc();
  }

  setHeld(reservations: number, instances: number): void {
    this.#reservations.set(reservations);
    this.#instances.set(instances);
  }

  async render(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}

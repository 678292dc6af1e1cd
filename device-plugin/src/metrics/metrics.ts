import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/**
 * Every metric the device plugin exports, on its own Registry so that tests can build as many
 * instances as they like and nothing leaks into prom-client's global registry. Methods say what
 * happened; label plumbing stays in here.
 */
export class DevicePluginMetrics {
  readonly registry = new Registry();
  readonly #gpuHealthy: Gauge<'gpu' | 'uuid'>;
  readonly #smAllocated: Gauge<'gpu'>;
  readonly #memoryAllocated: Gauge<'gpu'>;
  readonly #memoryCapacity: Gauge<'gpu'>;
  readonly #quotaSum: Gauge<'gpu'>;
  readonly #allocations: Gauge<'gpu'>;
  readonly #mpsUp: Gauge<'gpu'>;
  readonly #mpsRestarts: Counter<'gpu'>;
  readonly #grpcDuration: Histogram<'method' | 'code'>;
  readonly #registrations: Counter<'resource' | 'result'>;
  readonly #quotaUpdates: Counter<'result'>;
  readonly #httpRequests: Counter<'route' | 'code'>;

  constructor(options: { readonly processMetrics?: boolean } = {}) {
    const r = [this.registry];
    if (options.processMetrics === true) collectDefaultMetrics({ register: this.registry });
    this.#gpuHealthy = new Gauge({
      name: 'dilu_gpu_healthy',
      help: '1 when the GPU and its MPS daemon are usable, 0 when its devices are reported Unhealthy',
      labelNames: ['gpu', 'uuid'],
      registers: r,
    });
    this.#smAllocated = new Gauge({
      name: 'dilu_gpu_sm_allocated_percent',
      help: 'SM percent of the GPU allocated to containers (sum of SM requests, from PodResources)',
      labelNames: ['gpu'],
      registers: r,
    });
    this.#memoryAllocated = new Gauge({
      name: 'dilu_gpu_memory_allocated_mib',
      help: 'GPU memory allocated to containers, MiB (memory units held, from PodResources)',
      labelNames: ['gpu'],
      registers: r,
    });
    this.#memoryCapacity = new Gauge({
      name: 'dilu_gpu_memory_advertised_mib',
      help: 'GPU memory advertised to the kubelet as memory units, MiB',
      labelNames: ['gpu'],
      registers: r,
    });
    this.#quotaSum = new Gauge({
      name: 'dilu_gpu_quota_sum_percent',
      help: 'Sum of the effective SM quotas q of the live allocations on the GPU',
      labelNames: ['gpu'],
      registers: r,
    });
    this.#allocations = new Gauge({
      name: 'dilu_gpu_allocations',
      help: 'Live SM allocations (containers) on the GPU',
      labelNames: ['gpu'],
      registers: r,
    });
    this.#mpsUp = new Gauge({
      name: 'dilu_mps_daemon_up',
      help: "1 when the GPU's MPS control daemon answers its probe",
      labelNames: ['gpu'],
      registers: r,
    });
    this.#mpsRestarts = new Counter({
      name: 'dilu_mps_daemon_restarts_total',
      help: "Restarts of the GPU's MPS control daemon after it exited or stopped answering",
      labelNames: ['gpu'],
      registers: r,
    });
    this.#grpcDuration = new Histogram({
      name: 'dilu_device_plugin_grpc_duration_seconds',
      help: 'Duration of the device plugin gRPC calls served to the kubelet',
      labelNames: ['method', 'code'],
      buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.05, 0.25, 1],
      registers: r,
    });
    this.#registrations = new Counter({
      name: 'dilu_device_plugin_registrations_total',
      help: 'Registrations with the kubelet, by resource and result',
      labelNames: ['resource', 'result'],
      registers: r,
    });
    this.#quotaUpdates = new Counter({
      name: 'dilu_node_agent_quota_updates_total',
      help: 'Quota change requests by result (applied, rejected, conflict, not_found)',
      labelNames: ['result'],
      registers: r,
    });
    this.#httpRequests = new Counter({
      name: 'dilu_node_agent_http_requests_total',
      help: 'Node agent API requests by route and status code',
      labelNames: ['route', 'code'],
      registers: r,
    });
  }

  gpuHealth(gpu: number, uuid: string, healthy: boolean): void {
    this.#gpuHealthy.set({ gpu: String(gpu), uuid }, healthy ? 1 : 0);
  }

  gpuUsage(
    gpu: number,
    usage: {
      smAllocated: number;
      memoryAllocatedMiB: number;
      quotaSum: number;
      allocations: number;
    },
  ): void {
    const l = { gpu: String(gpu) };
    this.#smAllocated.set(l, usage.smAllocated);
    this.#memoryAllocated.set(l, usage.memoryAllocatedMiB);
    this.#quotaSum.set(l, usage.quotaSum);
    this.#allocations.set(l, usage.allocations);
  }

  memoryAdvertised(gpu: number, mib: number): void {
    this.#memoryCapacity.set({ gpu: String(gpu) }, mib);
  }

  mpsDaemonUp(gpu: number, up: boolean): void {
    this.#mpsUp.set({ gpu: String(gpu) }, up ? 1 : 0);
  }

  mpsDaemonRestarted(gpu: number): void {
    this.#mpsRestarts.inc({ gpu: String(gpu) });
  }

  /** Starts timing a gRPC call; call the result with the final status code name. */
  grpcCall(method: string): (code: string) => void {
    const end = this.#grpcDuration.startTimer({ method });
    return code => end({ code });
  }

  registration(resource: string, ok: boolean): void {
    this.#registrations.inc({ resource, result: ok ? 'ok' : 'error' });
  }

  quotaUpdate(result: 'applied' | 'rejected' | 'conflict' | 'not_found'): void {
    this.#quotaUpdates.inc({ result });
  }

  httpRequest(route: string, code: number): void {
    this.#httpRequests.inc({ route, code: String(code) });
  }
}

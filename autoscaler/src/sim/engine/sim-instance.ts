import type { Predictor } from '../../model/index.js';
import type { InstanceView } from '../policy.js';

/**
 * One simulated instance. Its GPU work is duty-cycled to q / l (docs/contracts/quota-file.md):
 * the runtime may run for a fraction q / l of each window. The simulator models that as a
 * token bucket of GPU time: it fills at q / l seconds per second up to q / l x window, a batch
 * runs at full speed (its profiled latency at the MPS limit l) while the bucket holds time and
 * at q / l of full speed once it is empty. Under sustained load this gives exactly
 * instance-performance.ts's throttled numbers (capacity T(b, l) q / l, batch time L(b, l) l / q);
 * a batch arriving after a pause runs unthrottled, as it does on the GPU.
 */
export class SimInstance implements InstanceView {
  readonly id: number;
  readonly fn: number;
  readonly gpu: number;
  readonly batch: number;
  smRequest: number;
  readonly smLimit: number;
  readonly requestFollowsQuota: boolean;
  readonly memoryMiB: number;
  readonly exclusive: boolean;
  readonly createdAt: number;
  readonly readyAt: number;
  /** The quota last set (what policies see and cost is charged for). */
  quota: number;
  /** End of the batch in progress (or of the last one). */
  freeAt: number;
  /** Requests in the batch in progress (until freeAt). */
  busyRequests = 0;
  /** Removed by its policy: takes no new batches, leaves once its batch is done. */
  removed = false;
  /** Batches run per batch size, cumulative (what the runtime's metrics count). */
  readonly executedBatches: Float64Array;
  /** Their GPU busy time per batch size, seconds, cumulative. */
  readonly executedBusySeconds: Float64Array;
  executedTotal = 0;
  /** Unthrottled wall time of a batch of n requests at the limit, seconds, index n. */
  readonly #batchSeconds: Float64Array;
  readonly #windowSeconds: number;
  #duty: number;
  #nextDuty: number;
  #dutyFrom = 0;
  #budget: number;
  #budgetAt: number;
  /** Cost accounting: share charged since costFrom. */
  costFrom: number;

  constructor(init: {
    id: number;
    fn: number;
    gpu: number;
    batch: number;
    smRequest: number;
    smLimit: number;
    quota: number;
    memoryMiB: number;
    exclusive: boolean;
    requestFollowsQuota: boolean;
    createdAt: number;
    readyAt: number;
    predictor: Predictor;
    windowSeconds: number;
  }) {
    this.id = init.id;
    this.fn = init.fn;
    this.gpu = init.gpu;
    this.batch = init.batch;
    this.smRequest = init.smRequest;
    this.smLimit = init.smLimit;
    this.quota = init.quota;
    this.memoryMiB = init.memoryMiB;
    this.exclusive = init.exclusive;
    this.requestFollowsQuota = init.requestFollowsQuota;
    this.createdAt = init.createdAt;
    this.readyAt = init.readyAt;
    this.freeAt = init.readyAt;
    this.costFrom = init.createdAt;
    this.#batchSeconds = new Float64Array(init.batch + 1);
    this.executedBatches = new Float64Array(init.batch + 1);
    this.executedBusySeconds = new Float64Array(init.batch + 1);
    // A batch of n holds the instance for n / T(n, l): the profiled batch latency for most
    // models, and the whole decode (about 32 batch steps) for an LLM profile whose throughput
    // counts one request per several steps.
    for (let n = 1; n <= init.batch; n++) {
      this.#batchSeconds[n] = n / init.predictor.throughputRps(n, init.smLimit);
    }
    this.#windowSeconds = init.windowSeconds;
    this.#duty = dutyOf(init.quota, init.smLimit);
    this.#nextDuty = this.#duty;
    this.#budget = this.#duty * this.#windowSeconds;
    this.#budgetAt = init.readyAt;
  }

  /** Unthrottled wall time of a full batch, seconds. */
  get fullBatchSeconds(): number {
    return this.#batchSeconds[this.batch] ?? 0;
  }

  /** GPU share charged as cost: q / 100 of a GPU (1 for an exclusive instance). */
  get share(): number {
    return this.exclusive ? 1 : this.quota / 100;
  }

  /** Schedules a quota change that the runtime enforces from time `at`. */
  setQuota(quota: number, at: number): void {
    this.quota = quota;
    this.#nextDuty = dutyOf(quota, this.smLimit);
    this.#dutyFrom = at;
  }

  /** Wall time of a batch of n requests starting at s, consuming the duty-cycle budget. */
  execute(n: number, s: number): number {
    if (this.#nextDuty !== this.#duty && s >= this.#dutyFrom) {
      this.#refill(Math.max(this.#budgetAt, this.#dutyFrom));
      this.#duty = this.#nextDuty;
    }
    const work = this.#batchSeconds[n] ?? 0;
    this.executedBatches[n] = (this.executedBatches[n] ?? 0) + 1;
    this.executedBusySeconds[n] = (this.executedBusySeconds[n] ?? 0) + work;
    this.executedTotal++;
    const d = this.#duty;
    if (d >= 1) return work;
    this.#refill(s);
    // Full speed drains the bucket at 1 - d per second; then the rest runs at rate d.
    const fullSpeed = d > 0 ? this.#budget / (1 - d) : 0;
    let wall: number;
    if (fullSpeed >= work) {
      wall = work;
      this.#budget -= work * (1 - d);
    } else {
      wall = d > 0 ? fullSpeed + (work - fullSpeed) / d : Infinity;
      this.#budget = 0;
    }
    this.#budgetAt = s + wall;
    return wall;
  }

  #refill(t: number): void {
    if (t <= this.#budgetAt) return;
    const cap = this.#duty * this.#windowSeconds;
    this.#budget = Math.min(cap, this.#budget + this.#duty * (t - this.#budgetAt));
    this.#budgetAt = t;
  }
}

function dutyOf(quota: number, limit: number): number {
  if (!(limit > 0) || !(quota > 0)) return 0;
  return Math.min(1, quota / limit);
}

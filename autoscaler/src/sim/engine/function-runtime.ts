import type { FunctionSeries } from '../policy.js';
import type { ArrivalStream } from '../workload/arrival-stream.js';
import type { LatencyHistogram } from './latency-histogram.js';
import type { SimInstance } from './sim-instance.js';

/** Ticks of per-tick latency histograms kept for policies' "observed latency" queries. */
const LATENCY_RING = 32;
/** Buckets of a per-tick latency histogram: latency / SLO in steps of 1/16, up to 4 x SLO. */
const LATENCY_BUCKETS = 64;
const LATENCY_STEPS_PER_SLO = 16;
/** Reused by observedLatency (single-threaded, not re-entrant): no allocation per query. */
const SCRATCH = new Float64Array(LATENCY_BUCKETS);

export interface FunctionRuntimeOptions {
  readonly index: number;
  readonly sloSeconds: number;
  readonly timeoutSeconds: number;
  /** Queue bound in batches per ready instance (Knative's queue-proxy: 10 x concurrency). */
  readonly queueBatchesPerInstance: number;
  /** Arrivals at or after this time are not generated: the scenario has ended. */
  readonly endSeconds: number;
  /** Length of the per-second series (the run plus room for the drain). */
  readonly seriesSeconds: number;
  readonly stream: ArrivalStream;
  readonly histogram: LatencyHistogram;
}

/**
 * The request path of one function: arrivals, the function's queue, dynamic batching and
 * execution on its instances. Requests wait in one FIFO queue per function (the activator /
 * queue-proxy path with containerConcurrency = batch) and the instance that frees up first
 * takes the next batch: up to b requests, waiting at most the batching delay for the batch to
 * fill. A request is dropped when it has waited `timeoutSeconds`, or — oldest first — when the
 * queue exceeds its bound. Every dropped request counts as an SLO violation.
 *
 * Hot path: arrivals live in a growable ring of doubles, the loop touches typed arrays only,
 * and per-request work is a handful of arithmetic operations; everything per-batch or
 * per-tick is amortised over the requests it covers.
 */
export class FunctionRuntime {
  readonly index: number;
  /** Instances not removed (starting or ready), in creation order. */
  readonly instances: SimInstance[] = [];
  readonly series: FunctionSeries;
  /** Requests generated, completed (at any latency), over the SLO, dropped. */
  generated = 0;
  completed = 0;
  violated = 0;
  dropped = 0;
  /** Dynamic batching delay (seconds), set every tick from the load. */
  batchWaitSeconds = 0;

  readonly #slo: number;
  readonly #timeout: number;
  readonly #queueBatches: number;
  readonly #end: number;
  readonly #stream: ArrivalStream;
  readonly #hist: LatencyHistogram;
  readonly #latRing = new Int32Array(LATENCY_RING * LATENCY_BUCKETS);
  readonly #latScale: number;
  #buf = new Float64Array(1024);
  #mask = 1023;
  #head = 0;
  #tail = 0;
  #next: number;
  #tickStart = 0;

  constructor(o: FunctionRuntimeOptions) {
    this.index = o.index;
    this.#slo = o.sloSeconds;
    this.#timeout = o.timeoutSeconds;
    this.#queueBatches = o.queueBatchesPerInstance;
    this.#end = o.endSeconds;
    this.#stream = o.stream;
    this.#hist = o.histogram;
    this.#latScale = LATENCY_STEPS_PER_SLO / o.sloSeconds;
    this.series = {
      arrivals: new Float32Array(o.seriesSeconds),
      concurrency: new Float32Array(o.seriesSeconds),
      completions: new Float32Array(o.seriesSeconds),
      violations: new Float32Array(o.seriesSeconds),
    };
    this.#next = this.#stream();
  }

  /** Requests waiting (arrived by `t`, not yet in a batch). */
  queued(t: number): number {
    return this.#upperBound(t, this.#head) - this.#head;
  }

  /** Starts tick [t, t + 1): clears its slot of the observed-latency ring. */
  beginTick(t: number): void {
    this.#tickStart = t;
    this.#latRing.fill(0, this.#slot(t), this.#slot(t) + LATENCY_BUCKETS);
  }

  /** Serves every batch that starts before `tEnd` (Infinity: drain the queue). */
  process(tEnd: number): void {
    this.#generate(tEnd === Infinity ? Infinity : tEnd + this.batchWaitSeconds + 1e-9);
    for (;;) {
      const inst = this.#earliest();
      if (inst === undefined || this.#head >= this.#tail) return;
      const s = this.#batchStart(inst);
      if (s >= tEnd) return;
      const a0 = this.#at(this.#head);
      if (s - a0 > this.#timeout) {
        this.#dropWaitedSince(s - this.#timeout);
        continue;
      }
      const k = this.#batchEnd(inst.batch, s);
      if (k === this.#head + inst.batch && this.#dropOverflow(s)) continue;
      this.#serve(inst, s, k);
    }
  }

  /**
   * Closes tick [t - 1, t): drops what has waited too long or overflows, and charges the
   * requests still queued with their time in the system during the tick.
   */
  endTick(t: number): void {
    this.#generate(t);
    this.#dropWaitedSince(t - this.#timeout);
    this.#dropOverflow(t);
    const T = this.#tickStart;
    const upto = this.#upperBound(t, this.#head);
    let sum = 0;
    for (let j = this.#head; j < upto; j++) {
      const a = this.#at(j);
      sum += a > T ? a : T;
    }
    this.#addConcurrency(T, (upto - this.#head) * t - sum);
  }

  /** Drops whatever is still queued when the simulation stops. */
  abandonQueue(): void {
    const n = this.#tail - this.#head;
    this.dropped += n;
    this.violated += n;
    this.#head = this.#tail;
  }

  /** Quantile of latencies observed over the last `windowTicks` ticks, seconds. */
  observedLatency(q: number, windowTicks: number, now: number): number | undefined {
    const counts = SCRATCH;
    counts.fill(0);
    let total = 0;
    const w = Math.min(windowTicks, LATENCY_RING - 1);
    for (let back = 1; back <= w; back++) {
      const t = now - back;
      if (t < 0) break;
      const base = this.#slot(t);
      for (let i = 0; i < LATENCY_BUCKETS; i++) {
        const c = this.#latRing[base + i] ?? 0;
        counts[i] = (counts[i] ?? 0) + c;
        total += c;
      }
    }
    if (total === 0) return undefined;
    const rank = Math.max(1, Math.ceil(q * total));
    let seen = 0;
    for (let i = 0; i < LATENCY_BUCKETS; i++) {
      seen += counts[i] ?? 0;
      if (seen >= rank) return ((i + 1) / LATENCY_STEPS_PER_SLO) * this.#slo;
    }
    return (LATENCY_BUCKETS / LATENCY_STEPS_PER_SLO) * this.#slo;
  }

  #slot(t: number): number {
    return ((t | 0) % LATENCY_RING) * LATENCY_BUCKETS;
  }

  #at(j: number): number {
    return this.#buf[j & this.#mask] ?? 0;
  }

  /** The ready-soonest instance that takes batches. */
  #earliest(): SimInstance | undefined {
    let best: SimInstance | undefined;
    let bestAt = Infinity;
    for (const inst of this.instances) {
      const at = inst.freeAt;
      if (at < bestAt) {
        best = inst;
        bestAt = at;
      }
    }
    return best;
  }

  /** When `inst` starts its next batch: free, a request queued, and full or the delay passed. */
  #batchStart(inst: SimInstance): number {
    const a0 = this.#at(this.#head);
    let s = inst.freeAt > a0 ? inst.freeAt : a0;
    const bth = this.#head + inst.batch - 1;
    const full = bth < this.#tail ? this.#at(bth) : Infinity;
    if (full > s) {
      const timer = a0 + this.batchWaitSeconds;
      const wait = full < timer ? full : timer;
      if (wait > s) s = wait;
    }
    return s;
  }

  /** One past the last request of a batch of at most `b` that starts at `s`. */
  #batchEnd(b: number, s: number): number {
    const lim = Math.min(this.#tail, this.#head + b);
    let k = this.#head;
    while (k < lim && this.#at(k) <= s) k++;
    return k;
  }

  #serve(inst: SimInstance, s: number, k: number): void {
    const head = this.#head;
    const n = k - head;
    const e = s + inst.execute(n, s);
    const T = this.#tickStart;
    const slo = this.#slo;
    const scale = this.#latScale;
    const ring = this.#latRing;
    const base = this.#slot(T);
    const buf = this.#buf;
    const mask = this.#mask;
    const hist = this.#hist;
    let sumX = 0;
    let over = 0;
    for (let j = head; j < k; j++) {
      const a = buf[j & mask] ?? 0;
      const lat = e - a;
      hist.add(lat);
      if (lat > slo) over++;
      const bucket = (lat * scale) | 0;
      const idx = base + (bucket < LATENCY_BUCKETS ? bucket : LATENCY_BUCKETS - 1);
      ring[idx] = (ring[idx] ?? 0) + 1;
      sumX += a > T ? a : T;
    }
    this.#head = k;
    inst.freeAt = e;
    inst.busyRequests = n;
    this.completed += n;
    this.violated += over;
    const last = this.series.completions.length - 1;
    const fe = Math.min(last, e | 0);
    this.series.completions[fe] = (this.series.completions[fe] ?? 0) + n;
    this.series.violations[fe] = (this.series.violations[fe] ?? 0) + over;
    this.#addBatchConcurrency(T, n, sumX, e);
  }

  /** Adds Σ over a batch of the intervals [x_j, e), all x_j within second T. */
  #addBatchConcurrency(T: number, n: number, sumX: number, e: number): void {
    const c = this.series.concurrency;
    const fe = Math.min(c.length - 1, e | 0);
    if (fe <= T) {
      this.#addConcurrency(T, n * e - sumX);
      return;
    }
    this.#addConcurrency(T, n * (T + 1) - sumX);
    for (let m = T + 1; m < fe; m++) c[m] = (c[m] ?? 0) + n;
    this.#addConcurrency(fe, n * (e - fe));
  }

  #addConcurrency(second: number, requestSeconds: number): void {
    const c = this.series.concurrency;
    const i = Math.min(c.length - 1, second);
    c[i] = (c[i] ?? 0) + requestSeconds;
  }

  /** Drops queued requests that arrived before `cutoff` (they have waited too long). */
  #dropWaitedSince(cutoff: number): void {
    const T = this.#tickStart;
    let dropped = 0;
    while (this.#head < this.#tail && this.#at(this.#head) < cutoff) {
      const a = this.#at(this.#head);
      const from = a > T ? a : T;
      const until = a + this.#timeout;
      if (until > from) this.#addConcurrency(T, until - from);
      this.#head++;
      dropped++;
    }
    this.#countDrops(dropped, cutoff + this.#timeout);
  }

  /** Drops the oldest requests while more than the queue bound have arrived by `t`. */
  #dropOverflow(t: number): boolean {
    const cap = this.#queueCapacity();
    if (this.#tail - this.#head <= cap) return false;
    const queued = this.#upperBound(t, this.#head) - this.#head;
    if (queued <= cap) return false;
    const n = queued - cap;
    const T = this.#tickStart;
    let sum = 0;
    for (let j = this.#head; j < this.#head + n; j++) {
      const a = this.#at(j);
      sum += a > T ? a : T;
    }
    this.#addConcurrency(T, n * t - sum);
    this.#head += n;
    this.#countDrops(n, t);
    return true;
  }

  #countDrops(n: number, at: number): void {
    if (n === 0) return;
    this.dropped += n;
    this.violated += n;
    const v = this.series.violations;
    const i = Math.min(v.length - 1, Math.max(0, at | 0));
    v[i] = (v[i] ?? 0) + n;
  }

  #queueCapacity(): number {
    let batches = 0;
    let largest = 1;
    for (const inst of this.instances) {
      if (inst.readyAt <= this.#tickStart) batches += inst.batch;
      if (inst.batch > largest) largest = inst.batch;
    }
    return this.#queueBatches * Math.max(batches, largest);
  }

  /** First index in [from, tail) whose arrival is after t. */
  #upperBound(t: number, from: number): number {
    let lo = from;
    let hi = this.#tail;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.#at(mid) <= t) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Pulls arrivals before `until` from the stream into the ring. */
  #generate(until: number): void {
    const arrivals = this.series.arrivals;
    while (this.#next < until) {
      const a = this.#next;
      if (a >= this.#end) {
        this.#next = Infinity;
        return;
      }
      if (this.#tail - this.#head === this.#buf.length) this.#grow();
      this.#buf[this.#tail & this.#mask] = a;
      this.#tail++;
      this.generated++;
      const sec = a | 0;
      arrivals[sec] = (arrivals[sec] ?? 0) + 1;
      this.#next = this.#stream();
    }
  }

  #grow(): void {
    const bigger = new Float64Array(this.#buf.length * 2);
    for (let j = this.#head; j < this.#tail; j++) bigger[j & (bigger.length - 1)] = this.#at(j);
    this.#buf = bigger;
    this.#mask = bigger.length - 1;
  }
}

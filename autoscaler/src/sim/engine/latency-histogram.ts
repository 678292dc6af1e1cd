/**
 * Latency histogram of every request of a run, for p50/p95/p99 without keeping samples.
 * Buckets are 0.1 ms wide up to 10 s and 10 ms wide beyond (to 10 min), so a percentile is
 * exact to 0.1 ms where SLOs live and to 10 ms for the queueing tail. Adding a sample is one
 * multiply, one compare and one increment: it sits in the simulator's per-request loop.
 */
const FINE_LIMIT_S = 10;
const FINE_PER_S = 10_000;
const FINE = FINE_LIMIT_S * FINE_PER_S;
const COARSE_PER_S = 100;
const COARSE = 590 * COARSE_PER_S;

export class LatencyHistogram {
  readonly #counts = new Float64Array(FINE + COARSE + 1);
  #total = 0;
  #sum = 0;

  /** Records one latency, in seconds. */
  add(seconds: number): void {
    let i: number;
    if (seconds < FINE_LIMIT_S) {
      i = seconds > 0 ? (seconds * FINE_PER_S) | 0 : 0;
    } else {
      i = FINE + Math.min(COARSE, ((seconds - FINE_LIMIT_S) * COARSE_PER_S) | 0);
    }
    this.#counts[i] = (this.#counts[i] ?? 0) + 1;
    this.#total++;
    this.#sum += seconds;
  }

  get count(): number {
    return this.#total;
  }

  /** Mean latency in seconds (NaN when empty). */
  mean(): number {
    return this.#total === 0 ? NaN : this.#sum / this.#total;
  }

  /** The q-quantile (0..1) in seconds: upper edge of the bucket holding it (NaN when empty). */
  quantile(q: number): number {
    if (this.#total === 0) return NaN;
    const rank = Math.max(1, Math.ceil(q * this.#total));
    let seen = 0;
    for (let i = 0; i < this.#counts.length; i++) {
      seen += this.#counts[i] ?? 0;
      if (seen >= rank) return bucketUpperEdge(i);
    }
    return bucketUpperEdge(this.#counts.length - 1);
  }
}

function bucketUpperEdge(i: number): number {
  if (i < FINE) return (i + 1) / FINE_PER_S;
  return FINE_LIMIT_S + (i - FINE + 1) / COARSE_PER_S;
}

import type { Predictor } from '../../model/index.js';
import type { PolicyMetrics } from '../metrics.js';
import type { Scenario, ScenarioFunction } from '../scenario.js';

/**
 * `oracle`: a lower bound on the GPU cost of serving the scenario within its SLOs, from
 * perfect knowledge of every second's load, under the simulator's own execution model. For
 * each function and each second t with λ requests, it takes the least share a set of
 * instances of one configuration (batch b, MPS limit l) needs to serve them, with the
 * configuration and quotas chosen afresh every second at no cost:
 *
 *   share(λ) = min over (b, l) with s(b, l) <= SLO of  max( λ · l / T(b, l),  ⌈λ / T(b, l)⌉ · l · d(b, l) )
 *
 * - T(b, l): the model's throughput; s(b, l) = b / T(b, l): how long a batch holds an
 *   instance (the batch latency; the whole decode for an LLM profile). Configurations whose
 *   batch alone takes longer than the SLO cannot serve within it and are skipped.
 * - λ · l / T: an instance at quota q serves at most T · q / l requests per second, so serving λ
 *   takes Σ q >= λ · l / T (the throughput bound).
 * - ⌈λ / T⌉ · l · d: λ needs at least ⌈λ / T⌉ instances (one serves at most T even at q = l),
 *   and an instance only meets the SLO for a lone request that finds its duty-cycle bucket full
 *   if its duty q / l is at least d(b, l) — the least duty at which the token-bucket execution
 *   (engine/sim-instance.ts) finishes a batch within the SLO. Any instance that serves
 *   requests within the SLO needs at least that much.
 * - A second with no requests costs 1 % of a GPU per instance the function must keep
 *   (minScale), the least quota an instance can hold.
 *
 * Everything that costs more in practice is ignored — not knowing the future, headroom for
 * bursts within the second, batching delay and queueing, cold starts, quota steps, memory and
 * placement — so no policy can cost less. The bound is in GPU-seconds: share is in percent of
 * a GPU, summed over functions and seconds, divided by 100.
 *
 * Its other figures follow the same idealisation: no violations and no cold starts; active
 * GPUs per second = max(⌈Σ share⌉, ⌈Σ memory of functions holding an instance / GPU memory⌉),
 * a bin-packing lower bound; fragmentation = 1 - Σ share / active GPUs (SM) and
 * 1 - Σ memory / (active GPUs x GPU memory).
 */
export interface OracleResult {
  readonly metrics: PolicyMetrics;
  /** Per second: Σ share in GPUs. */
  readonly share: Float32Array;
  readonly activeGpus: Float32Array;
}

/** The least duty q / l at which a batch of `work` seconds, starting with a full bucket, ends within `slo`. */
export function leastDuty(workSeconds: number, sloSeconds: number, windowSeconds: number): number {
  if (workSeconds > sloSeconds) return Infinity;
  const wall = (d: number): number => {
    if (d >= 1) return workSeconds;
    const fullSpeed = (d * windowSeconds) / (1 - d);
    return fullSpeed >= workSeconds ? workSeconds : fullSpeed + (workSeconds - fullSpeed) / d;
  };
  let lo = 0;
  let hi = 1;
  for (let i = 0; i < 50; i++) {
    const mid = (lo + hi) / 2;
    if (wall(mid) <= sloSeconds) hi = mid;
    else lo = mid;
  }
  return hi;
}

interface Config {
  /** Requests per second at quota = limit. */
  readonly t: number;
  /** Percent of a GPU per request per second: l / T. */
  readonly perRps: number;
  /** Least percent of a GPU one serving instance holds: l · d. */
  readonly perInstance: number;
}

/** The configurations that can serve within the SLO at all. */
export function oracleConfigs(p: Predictor, sloMs: number, windowSeconds: number): Config[] {
  const out: Config[] = [];
  for (const b of p.batches) {
    for (let l = 1; l <= 100; l++) {
      const t = p.throughputRps(b, l);
      const work = b / t;
      if (!(t > 0) || work * 1000 > sloMs) continue;
      const d = leastDuty(work, sloMs / 1000, windowSeconds);
      out.push({ t, perRps: l / t, perInstance: l * d });
    }
  }
  return out;
}

/** share(λ) in percent of a GPU (see the header); Infinity when no configuration serves. */
export function oracleShare(configs: readonly Config[], lambda: number, minScale: number): number {
  if (lambda <= 0) return minScale;
  let best = Infinity;
  for (const c of configs) {
    const v = Math.max(lambda * c.perRps, Math.ceil(lambda / c.t - 1e-9) * c.perInstance);
    if (v < best) best = v;
  }
  return best;
}

export function computeOracle(scenario: Scenario, seed: number): OracleResult {
  const started = performance.now();
  const D = scenario.durationSeconds;
  const share = new Float32Array(D);
  const memory = new Float64Array(D);
  const window = scenario.cluster.dutyCycleWindowMs / 1000;
  let requests = 0;
  for (const f of scenario.functions) {
    const configs = oracleConfigs(f.predictor, f.sloMs, window);
    const byLambda = new Map<number, number>();
    const counts = perSecondArrivals(f, seed, D);
    for (let t = 0; t < D; t++) {
      const n = counts[t] ?? 0;
      requests += n;
      let pct = byLambda.get(n);
      if (pct === undefined) {
        pct = oracleShare(configs, n, f.minScale);
        byLambda.set(n, pct);
      }
      share[t] = (share[t] ?? 0) + pct / 100;
      if (n > 0 || f.minScale > 0) memory[t] = (memory[t] ?? 0) + f.memoryMiB;
    }
  }
  return oracleResult(share, memory, scenario.cluster.gpu.memoryMiB, requests, started);
}

function oracleResult(
  share: Float32Array,
  memory: Float64Array,
  gpuMem: number,
  requests: number,
  started: number,
): OracleResult {
  const D = share.length;
  const active = new Float32Array(D);
  let gpuSeconds = 0;
  let activeSum = 0;
  let peak = 0;
  let fragSm = 0;
  let fragMem = 0;
  let fragSeconds = 0;
  for (let t = 0; t < D; t++) {
    const s = share[t] ?? 0;
    const m = memory[t] ?? 0;
    const a = Math.max(Math.ceil(s - 1e-9), Math.ceil(m / gpuMem - 1e-9));
    active[t] = a;
    gpuSeconds += s;
    activeSum += a;
    peak = Math.max(peak, a);
    if (a > 0) {
      fragSeconds++;
      fragSm += 1 - s / a;
      fragMem += 1 - m / (a * gpuMem);
    }
  }
  const wallSeconds = (performance.now() - started) / 1000;
  return {
    share,
    activeGpus: active,
    metrics: {
      policy: 'oracle',
      sloViolationRate: 0,
      requests,
      completed: requests,
      violations: 0,
      dropped: 0,
      gpuSeconds,
      meanActiveGpus: D > 0 ? activeSum / D : 0,
      peakActiveGpus: peak,
      fragmentation: {
        sm: fragSeconds > 0 ? fragSm / fragSeconds : 0,
        mem: fragSeconds > 0 ? fragMem / fragSeconds : 0,
      },
      throughputRps: D > 0 ? requests / D : 0,
      goodputRps: D > 0 ? requests / D : 0,
      latencyMs: { p50: NaN, p95: NaN, p99: NaN, mean: NaN },
      coldStarts: 0,
      wallSeconds,
      simulatedRequestsPerWallSecond: wallSeconds > 0 ? requests / wallSeconds : 0,
    },
  };
}

/** The function's arrivals per second: the same stream, and seed, the simulated runs see. */
function perSecondArrivals(f: ScenarioFunction, seed: number, D: number): Float64Array {
  const counts = new Float64Array(D);
  const next = f.arrivals(seed);
  for (let t = next(); t < D; t = next()) {
    const s = t | 0;
    counts[s] = (counts[s] ?? 0) + 1;
  }
  return counts;
}

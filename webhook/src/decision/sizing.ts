import type { Predictor } from '@dilu/autoscaler';
import { instanceCapacityRps } from '@dilu/autoscaler';
import type { FunctionClass } from '../keys.js';

export interface SizingRequest {
  readonly predictor: Predictor;
  readonly class: FunctionClass;
  /** Latency one batch may take (the Dilu per-batch QoS target), when the function has one. */
  readonly sloMs?: number | undefined;
  /** A batch size the user fixed (`dilu.dev/batch`); sizing then only chooses SM. */
  readonly batch?: number | undefined;
}

export interface InstanceSize {
  readonly batch: number;
  readonly smRequest: number;
  readonly smLimit: number;
  /** GPU memory of one instance at this batch, when the profile measured it. */
  readonly memoryMiB?: number | undefined;
}

export type SizingResult =
  | { readonly ok: true; readonly size: InstanceSize }
  | { readonly ok: false; readonly reason: string };

/**
 * Sizes a new instance of a profiled function. Injected so that the 2-D policy's own sizing
 * (`@dilu/autoscaler`, policy module) replaces the interim rule below without touching callers.
 */
export type SizeInstance = (request: SizingRequest) => SizingResult;

export interface InterimSizingOptions {
  /** SM granularity of requests, percent. @default 5 */
  readonly smStep?: number;
  /** SM limit = min(100, ceil(factor x request)): the project's default 1.5x overcommit. @default 1.5 */
  readonly limitFactor?: number;
  /** Best-effort: fraction of full-GPU throughput that counts as "enough SMs". @default 0.98 */
  readonly kneeThreshold?: number;
}

/**
 * The interim, deliberately conservative sizing rule (decision 0203), used until the 2-D policy
 * exports its own:
 *
 * Latency-critical with an SLO: for each measured batch size b (or the user's), take the
 * smallest request r on the step grid whose **pessimistic** batch latency meets the SLO, where
 * pessimistic means both (a) the instance throttled to its guaranteed quota q = r under the
 * limit l = 1.5 r (duty cycle r / l, `throttledBatchLatencyMs`) and (b) the upper edge of the
 * predictor's uncertainty band. Among the feasible (b, r), choose the most requests per second
 * per guaranteed SM percent; ties go to the smaller r. No feasible pair: refused, with the
 * best latency the profile allows.
 *
 * Best-effort (no SLO to meet): the batch with the highest full-GPU throughput, limit l at the
 * knee (the smallest SM % reaching 98 % of full-GPU throughput), request r = l / 2 rounded up
 * to the step: such work yields SMs to latency-critical neighbours.
 */
export function createInterimSizing(options: InterimSizingOptions = {}): SizeInstance {
  const step = options.smStep ?? 5;
  const factor = options.limitFactor ?? 1.5;
  const kneeThreshold = options.kneeThreshold ?? 0.98;
  const limitFor = (r: number): number => Math.min(100, Math.ceil(r * factor));
  const grid: number[] = [];
  for (let s = step; s < 100; s += step) grid.push(s);
  grid.push(100);

  return request => {
    const { predictor } = request;
    const batches = request.batch !== undefined ? [request.batch] : predictor.batches;
    if (request.class === 'best-effort') {
      return sizeBestEffort(predictor, batches, grid, kneeThreshold, step);
    }
    if (request.sloMs === undefined) {
      return { ok: false, reason: 'no latency SLO (dilu.dev/slo-ms) to size for' };
    }
    const sloMs = request.sloMs;
    let best: { size: InstanceSize; efficiency: number } | undefined;
    for (const batch of batches) {
      for (const r of grid) {
        const l = limitFor(r);
        if (pessimisticLatencyMs(predictor, batch, r, l) > sloMs) continue;
        const efficiency = instanceCapacityRps(predictor, { batch, smLimit: l, quota: r }) / r;
        if (!best || efficiency > best.efficiency * (1 + 1e-9)) {
          best = {
            size: { batch, smRequest: r, smLimit: l, memoryMiB: predictor.memoryMiB(batch) },
            efficiency,
          };
        }
        break;
      }
    }
    if (best) return { ok: true, size: best.size };
    const fastest = Math.min(...batches.map(b => predictor.predict(b, 100).latencyHighMs));
    return {
      ok: false,
      reason:
        `no configuration meets a ${sloMs} ms batch SLO: even a whole GPU takes up to ` +
        `${fastest.toFixed(1)} ms per batch (profile "${predictor.profile.name}")`,
    };
  };
}

/** Upper band of the batch latency when throttled to quota r under limit l. */
function pessimisticLatencyMs(p: Predictor, batch: number, r: number, l: number): number {
  return p.predict(batch, l).latencyHighMs * (l / r);
}

function sizeBestEffort(
  predictor: Predictor,
  batches: readonly number[],
  grid: readonly number[],
  threshold: number,
  step: number,
): SizingResult {
  let batch = batches[0];
  for (const b of batches) {
    if (
      batch === undefined ||
      predictor.throughputRps(b, 100) > predictor.throughputRps(batch, 100)
    ) {
      batch = b;
    }
  }
  if (batch === undefined) return { ok: false, reason: 'profile has no batch sizes' };
  const full = predictor.throughputRps(batch, 100);
  const l = grid.find(s => predictor.throughputRps(batch, s) >= threshold * full) ?? 100;
  const r = Math.min(l, Math.max(step, Math.ceil(l / 2 / step) * step));
  return {
    ok: true,
    size: { batch, smRequest: r, smLimit: l, memoryMiB: predictor.memoryMiB(batch) },
  };
}

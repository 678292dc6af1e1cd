import type { InstanceSizer, Predictor } from '@dilu/autoscaler';
import { createInstanceSizer } from '@dilu/autoscaler';
import type { FunctionClass } from '../keys.js';

/** Values the user pinned (annotations or generic resources); sizing honours them. */
export interface FixedValues {
  readonly batch?: number | undefined;
  readonly smRequest?: number | undefined;
  readonly smLimit?: number | undefined;
  readonly memoryMiB?: number | undefined;
}

export interface SizingRequest {
  readonly predictor: Predictor;
  readonly class: FunctionClass;
  /** Latency SLO of one request, when the function has one (latency-critical needs it). */
  readonly sloMs?: number | undefined;
  readonly fixed?: FixedValues | undefined;
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

/** Sizes a new instance of a profiled function; injected, so tests and the simulator can swap it. */
export type SizeInstance = (request: SizingRequest) => SizingResult;

/**
 * The 2-D policy's own instance sizing (`createInstanceSizer` of @dilu/autoscaler, decision
 * 0181), load-blind: at admission the webhook sizes for SM % per rps, the way the policy sizes a
 * function it has no load figure for yet. The autoscaler's published instance decision, which
 * the webhook prefers, carries the load-aware choice. A configuration that cannot meet the SLO
 * is refused (decision 0203) rather than started at the lowest latency the profile allows.
 */
export function createPolicySizing(sizer: InstanceSizer = createInstanceSizer()): SizeInstance {
  return request => {
    if (request.class === 'latency-critical' && request.sloMs === undefined) {
      return { ok: false, reason: 'no latency SLO (dilu.dev/slo-ms) to size for' };
    }
    const s = sizer.size(request.predictor, {
      class: request.class,
      sloMs: request.sloMs,
      fixed: request.fixed,
    });
    if (!s.feasible) {
      return {
        ok: false,
        reason:
          `no configuration meets a ${String(request.sloMs)} ms SLO: the fastest ` +
          `(batch ${s.batch}, SM ${s.smLimit} %) promises up to ${s.latencyBoundMs.toFixed(1)} ms ` +
          `per request (profile "${request.predictor.profile.name}")`,
      };
    }
    return {
      ok: true,
      size: { batch: s.batch, smRequest: s.smRequest, smLimit: s.smLimit, memoryMiB: s.memoryMiB },
    };
  };
}

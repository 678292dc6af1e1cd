import type { Prediction, Predictor } from './predictor.js';

export interface LatencyCorrectionOptions {
  /**
   * Weight of the newest observation in the EWMA of observed/predicted latency.
   * @default 0.2
   */
  readonly alpha?: number;
  /**
   * Bounds of the correction factor: a profile off by more than this is a wrong profile,
   * not drift, and should be re-measured rather than silently stretched.
   * @default [0.5, 3]
   */
  readonly minFactor?: number;
  readonly maxFactor?: number;
}

/**
 * Introspection: the runtime reports the latency it actually sees, and the model corrects
 * itself by the EWMA of observed / predicted latency. The factor applies to the whole
 * profile, since interference or a slower GPU stretches every operating point alike.
 */
export interface LatencyCorrection {
  readonly factor: number;
  readonly observations: number;
  observe(predictedMs: number, observedMs: number): void;
  reset(): void;
}

export function createLatencyCorrection(options: LatencyCorrectionOptions = {}): LatencyCorrection {
  const alpha = options.alpha ?? 0.2;
  const minFactor = options.minFactor ?? 0.5;
  const maxFactor = options.maxFactor ?? 3;
  if (!(alpha > 0 && alpha <= 1)) throw new RangeError(`alpha must be in (0, 1], got ${alpha}`);
  if (!(minFactor > 0 && minFactor <= 1 && maxFactor >= 1)) {
    throw new RangeError(`need 0 < minFactor <= 1 <= maxFactor, got ${minFactor}, ${maxFactor}`);
  }
  let factor = 1;
  let observations = 0;
  return {
    get factor() {
      return factor;
    },
    get observations() {
      return observations;
    },
    observe(predictedMs, observedMs) {
      if (!(predictedMs > 0) || !(observedMs > 0)) return;
      const ratio = observedMs / predictedMs;
      factor = observations === 0 ? ratio : factor + alpha * (ratio - factor);
      factor = Math.min(maxFactor, Math.max(minFactor, factor));
      observations++;
    },
    reset() {
      factor = 1;
      observations = 0;
    },
  };
}

/** A predictor whose latencies are scaled by the correction's current factor. */
export function correctedPredictor(base: Predictor, correction: LatencyCorrection): Predictor {
  const scale = (p: Prediction): Prediction => {
    const f = correction.factor;
    return {
      ...p,
      latencyMs: p.latencyMs * f,
      latencyLowMs: p.latencyLowMs * f,
      latencyHighMs: p.latencyHighMs * f,
      throughputRps: p.throughputRps / f,
    };
  };
  return {
    ...base,
    predict: (b, s) => scale(base.predict(b, s)),
    latencyMs: (b, s) => base.latencyMs(b, s) * correction.factor,
    throughputRps: (b, s) => base.throughputRps(b, s) / correction.factor,
  };
}

import type { LatencyCorrection, Predictor } from '../model/index.js';
import { correctedPredictor, createLatencyCorrection } from '../model/index.js';
import type { PolicyKnobs } from './knobs.js';

/**
 * The policy never trusts a profile to be faster than measured (a factor below 1 would cut
 * quotas on evidence that light load always gives); it only learns that it is slower.
 */
const MIN_FACTOR = 1;

/**
 * A LatencyCorrection standing at `factor` after `observations` samples. The policy keeps
 * only these two numbers in its state; the model's EWMA is rebuilt from them for a tick
 * (its first observation sets the factor exactly, the next ones are EWMA steps).
 */
export function restoreCorrection(
  factor: number,
  observations: number,
  knobs: PolicyKnobs,
): LatencyCorrection {
  const c = createLatencyCorrection({
    alpha: knobs.correctionAlpha,
    minFactor: MIN_FACTOR,
    maxFactor: knobs.correctionMaxFactor,
  });
  if (observations > 0 || factor !== 1) c.observe(1, factor);
  return c;
}

/** The predictor with latencies stretched by `factor` (the base one when factor is 1). */
export function predictorWithFactor(
  base: Predictor,
  factor: number,
  knobs: PolicyKnobs,
): Predictor {
  if (factor === 1) return base;
  return correctedPredictor(base, restoreCorrection(factor, 1, knobs));
}

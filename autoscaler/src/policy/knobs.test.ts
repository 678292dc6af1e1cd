import { describe, expect, it } from '@jest/globals';
import { DEFAULT_KNOBS, resolveKnobs } from './knobs.js';
import { PolicyInputError } from './policy-error.js';

describe('resolveKnobs', () => {
  it('has the documented defaults (Dilu/HAS thresholds, KPA panic and scale-to-zero)', () => {
    expect(DEFAULT_KNOBS).toMatchObject({
      loadPredictor: 'kalman',
      kalmanProcessNoise: 1,
      kalmanMeasurementNoise: 10,
      uncertaintySigmas: 1,
      scaleUpUtilization: 0.9,
      scaleOutUtilization: 0.9,
      scaleInUtilization: 0.8,
      targetUtilization: 0.85,
      panicThreshold: 2,
      panicWindowS: 6,
      panicExitS: 60,
      scaleToZeroGraceS: 60,
      maxScaleDownRate: 2,
      batchWaitFactor: 2,
      dutyCycleWindowMs: 100,
      sharedQueue: true,
      burstHeadroom: 1.25,
      burstReserve: 0.75,
      burstHalfLifeS: 1800,
      resizeSavings: 0.4,
      resizeDelayS: 300,
      correctionMinBatches: 5,
      latencyMarginMax: 2,
    });
    expect(Object.isFrozen(DEFAULT_KNOBS)).toBe(true);
  });

  it('merges overrides with the defaults', () => {
    const k = resolveKnobs({ scaleDownDelayS: 10, loadPredictor: 'ewma' });
    expect(k.scaleDownDelayS).toBe(10);
    expect(k.loadPredictor).toBe('ewma');
    expect(k.targetUtilization).toBe(DEFAULT_KNOBS.targetUtilization);
  });

  it.each([
    [{ targetUtilization: 1.5 }, 'knobs.targetUtilization'],
    [{ scaleDownDelayS: -1 }, 'knobs.scaleDownDelayS'],
    [{ loadPredictor: 'arima' }, 'knobs.loadPredictor'],
    [{ panicThreshold: 1 }, 'knobs.panicThreshold'],
    [{ maxScaleDownRate: 1 }, 'knobs.maxScaleDownRate'],
    [{ burstHeadroom: 0.5 }, 'knobs.burstHeadroom'],
    [{ scaleDownDelay: 30 }, 'knobs'],
    [{ quotaDownUtilization: 0.9 }, 'knobs.quotaDownUtilization'],
    [{ targetUtilization: 0.95 }, 'knobs.targetUtilization'],
    [{ scaleInUtilization: 0.95 }, 'knobs.scaleInUtilization'],
    [{ correctionRelaxFraction: 0.95 }, 'knobs.correctionRelaxFraction'],
    [{ dutyCycleWindowMs: 0 }, 'knobs.dutyCycleWindowMs'],
    [{ burstReserve: 1.5 }, 'knobs.burstReserve'],
    [{ burstHalfLifeS: 0 }, 'knobs.burstHalfLifeS'],
    [{ sharedQueue: 'yes' }, 'knobs.sharedQueue'],
    [{ correctionMinBatches: 0.5 }, 'knobs.correctionMinBatches'],
    [{ latencyMarginMax: 0.5 }, 'knobs.latencyMarginMax'],
    [{ resizeDelayS: -1 }, 'knobs.resizeDelayS'],
  ])('rejects %j naming %s', (overrides, field) => {
    let caught: unknown;
    try {
      resolveKnobs(overrides);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(PolicyInputError);
    expect((caught as PolicyInputError).field).toBe(field);
    expect((caught as PolicyInputError).message).toContain(field);
  });

  it('names the unknown key of a misspelt knob', () => {
    expect(() => resolveKnobs({ scaleDownDelay: 30 })).toThrow(/scaleDownDelay/);
  });
});

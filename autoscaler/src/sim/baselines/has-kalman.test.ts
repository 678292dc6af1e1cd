import { describe, expect, it } from '@jest/globals';
import { HasKalman } from './has-kalman.js';

describe('HasKalman (HAS-GPU request predictor)', () => {
  it('never predicts below the measurement plus the 5 rps buffer', () => {
    const k = new HasKalman();
    expect(k.update(0)).toBe(5);
    expect(k.update(100)).toBeGreaterThanOrEqual(105);
  });

  it('settles at a standing margin of about 6 rps over a constant rate', () => {
    const k = new HasKalman();
    let p = 0;
    for (let i = 0; i < 200; i++) p = k.update(50);
    // Steady state: P^2 + P - 10 = 0 -> P = 2.70; the bias x - m = sqrt(P) / K = 6.07.
    expect(k.variance).toBeCloseTo((-1 + Math.sqrt(41)) / 2, 3);
    expect(p - 50).toBeCloseTo(6.07, 1);
  });

  it('follows a step up within a few updates', () => {
    const k = new HasKalman();
    for (let i = 0; i < 50; i++) k.update(10);
    expect(k.update(100)).toBeGreaterThanOrEqual(105);
  });
});

import { describe, expect, it } from '@jest/globals';
import { nonIncreasingFit } from './isotonic.js';

describe('nonIncreasingFit', () => {
  it.each([
    [[], []],
    [[5], [5]],
    [
      [3, 2, 1],
      [3, 2, 1],
    ],
    [
      [1, 2],
      [1.5, 1.5],
    ],
    [
      [10, 4, 6, 2],
      [10, 5, 5, 2],
    ],
    [
      [1, 2, 3],
      [2, 2, 2],
    ],
  ])('%j -> %j', (input, expected) => {
    expect(nonIncreasingFit(input)).toEqual(expected);
  });

  it('keeps the mean and never increases', () => {
    const xs = [20, 21.2, 19.9, 19.4, 20, 20.6, 19.6, 19.4, 19.8, 19.6];
    const fit = nonIncreasingFit(xs);
    fit.slice(1).forEach((v, i) => expect(v).toBeLessThanOrEqual(fit[i] ?? Infinity));
    const sum = (a: number[]): number => a.reduce((s, v) => s + v, 0);
    expect(sum(fit)).toBeCloseTo(sum(xs), 9);
  });
});

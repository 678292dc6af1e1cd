import { describe, expect, it } from '@jest/globals';
import { createRng, shuffleInPlace } from './rng.js';

describe('createRng', () => {
  it('repeats for a seed, differs across seeds, stays in [0, 1)', () => {
    const a = createRng(42);
    const b = createRng(42);
    const c = createRng(43);
    const xs = Array.from({ length: 1000 }, () => a());
    expect(Array.from({ length: 1000 }, () => b())).toEqual(xs);
    expect(Array.from({ length: 1000 }, () => c())).not.toEqual(xs);
    expect(Math.min(...xs)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...xs)).toBeLessThan(1);
    // Roughly uniform: each tenth holds 100 ± 40 of 1000 draws.
    const bins = Array.from(
      { length: 10 },
      (_, i) => xs.filter(x => Math.floor(x * 10) === i).length,
    );
    for (const n of bins) expect(Math.abs(n - 100)).toBeLessThan(40);
  });

  it('rejects a seed that is not an integer', () => {
    expect(() => createRng(0.5)).toThrow(/^seed: must be an integer/);
  });
});

describe('shuffleInPlace', () => {
  it('permutes all items reproducibly', () => {
    const xs = Array.from({ length: 50 }, (_, i) => i);
    const s1 = shuffleInPlace([...xs], createRng(1));
    expect(shuffleInPlace([...xs], createRng(1))).toEqual(s1);
    expect(s1).not.toEqual(xs);
    expect([...s1].sort((a, b) => a - b)).toEqual(xs);
  });
});

import { describe, expect, it } from '@jest/globals';
import { createRng } from '../rng.js';
import type { ArrivalStream } from './arrival-stream.js';
import {
  burstyStream,
  diurnalStream,
  piecewisePoissonStream,
  poissonStream,
  traceStream,
} from './arrival-stream.js';

function drain(next: ArrivalStream, until: number): number[] {
  const out: number[] = [];
  for (let t = next(); t < until; t = next()) out.push(t);
  return out;
}

const times = Float64Array.from([0, 1, 2.5, 4]);

describe('traceStream', () => {
  it('replays the trace as is by default, then ends', () => {
    const next = traceStream({ times, spanSeconds: 5 }, createRng(1));
    expect(drain(next, Infinity)).toEqual([0, 1, 2.5, 4]);
  });

  it('starts at the offset and, looping, continues from the start of the trace', () => {
    const next = traceStream({ times, spanSeconds: 5, offsetSeconds: 2, loop: true }, createRng(1));
    // 2.5 and 4 shifted by -2, then the whole trace again from 3 (= 5 - 2), every 5 s.
    expect(drain(next, 13)).toEqual([0.5, 2, 3, 4, 5.5, 7, 8, 9, 10.5, 12]);
  });

  it('stretches time by timeScale', () => {
    const next = traceStream({ times, spanSeconds: 5, timeScale: 0.5 }, createRng(1));
    expect(drain(next, Infinity)).toEqual([0, 0.5, 1.25, 2]);
  });

  it('multiplies the rate: whole copies, the fraction as a probability, spread within a second', () => {
    const many = Float64Array.from({ length: 1000 }, (_, i) => i * 2 + 1);
    const x3 = drain(
      traceStream({ times: many, spanSeconds: 2001, rateMultiplier: 3 }, createRng(7)),
      Infinity,
    );
    expect(x3.length).toBe(3000);
    const x25 = drain(
      traceStream({ times: many, spanSeconds: 2001, rateMultiplier: 2.5 }, createRng(7)),
      Infinity,
    );
    expect(x25.length).toBeGreaterThan(2400);
    expect(x25.length).toBeLessThan(2600);
    // Copies stay within half a second of an original and the stream stays sorted.
    for (let i = 1; i < x3.length; i++) expect(x3[i]).toBeGreaterThanOrEqual(x3[i - 1] ?? 0);
    for (const t of x3)
      expect(Math.abs(t - (Math.round((t - 1) / 2) * 2 + 1))).toBeLessThanOrEqual(0.5);
  });

  it('is deterministic for a seed', () => {
    const a = drain(
      traceStream({ times, spanSeconds: 5, rateMultiplier: 4, loop: true }, createRng(3, 'f')),
      50,
    );
    const b = drain(
      traceStream({ times, spanSeconds: 5, rateMultiplier: 4, loop: true }, createRng(3, 'f')),
      50,
    );
    const c = drain(
      traceStream({ times, spanSeconds: 5, rateMultiplier: 4, loop: true }, createRng(4, 'f')),
      50,
    );
    expect(a).toEqual(b);
    expect(a).not.toEqual(c);
  });
});

describe('synthetic streams', () => {
  it('poisson: the requested mean rate, increasing times', () => {
    const t = drain(poissonStream(50, createRng(11)), 200);
    expect(t.length / 200).toBeCloseTo(50, 0);
    for (let i = 1; i < t.length; i++) expect(t[i]).toBeGreaterThan(t[i - 1] ?? 0);
  });

  it('piecewise poisson: each interval at its own rate, zero-rate intervals empty', () => {
    const rates = Float64Array.from([100, 0, 20]);
    const t = drain(piecewisePoissonStream(rates, 10, false, createRng(5)), Infinity);
    const inI = (lo: number, hi: number): number => t.filter(x => x >= lo && x < hi).length;
    expect(inI(0, 10)).toBeGreaterThan(900);
    expect(inI(0, 10)).toBeLessThan(1100);
    expect(inI(10, 20)).toBe(0);
    expect(inI(20, 30)).toBeGreaterThan(150);
    expect(inI(20, 30)).toBeLessThan(250);
    expect(Math.max(...t)).toBeLessThan(30);
  });

  it('piecewise poisson loops over the series when asked', () => {
    const t = drain(piecewisePoissonStream(Float64Array.from([50]), 1, true, createRng(5)), 100);
    expect(t.length).toBeGreaterThan(4500);
    expect(t.length).toBeLessThan(5500);
  });

  it('bursty: the long-run rate mixes base and burst rates by time share', () => {
    const o = { baseRps: 10, burstRps: 100, meanBurstSeconds: 5, meanGapSeconds: 20 };
    const t = drain(burstyStream(o, createRng(9)), 20000);
    // Expected: (20 x 10 + 5 x 100) / 25 = 28 rps.
    expect(t.length / 20000).toBeGreaterThan(25);
    expect(t.length / 20000).toBeLessThan(31);
  });

  it('diurnal: the mean rate over whole periods, peak and trough where the sine puts them', () => {
    const o = { meanRps: 40, amplitude: 0.5, periodSeconds: 100, phase: 0 };
    const t = drain(diurnalStream(o, createRng(2)), 10000);
    expect(t.length / 10000).toBeCloseTo(40, 0);
    const peak = t.filter(x => x % 100 >= 20 && x % 100 < 30).length;
    const trough = t.filter(x => x % 100 >= 70 && x % 100 < 80).length;
    expect(peak).toBeGreaterThan(2.5 * trough);
  });
});

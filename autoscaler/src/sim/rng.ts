/**
 * Seeded pseudo-random numbers for the simulator. Every random choice a run makes (arrival
 * times of synthetic load, rate-multiplier thinning, jitter) draws from a stream derived
 * from the run's seed and a label, so one seed gives one result and adding a function to a
 * scenario does not shift the numbers every other function sees.
 *
 * The generator is sfc32 (Chris Doty-Humphrey's small fast chaotic PRNG, public domain):
 * 128 bits of state, passes PractRand to terabytes, and costs a handful of integer ops,
 * which matters when a large scenario draws tens of millions of inter-arrival times.
 */
export interface Rng {
  /** Uniform in [0, 1). */
  next(): number;
  /** Exponential with the given rate (mean 1 / rate). */
  exponential(rate: number): number;
}

/** 32-bit FNV-1a of a string, to turn labels into seed material. */
function hashLabel(label: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < label.length; i++) {
    h ^= label.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** splitmix32: spreads a 32-bit seed into well-mixed state words. */
function splitmix32(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    return (z ^ (z >>> 16)) >>> 0;
  };
}

/** A generator for one labelled stream of one run. */
export function createRng(seed: number, label = ''): Rng {
  const mix = splitmix32((seed >>> 0) ^ hashLabel(label));
  let a = mix();
  let b = mix();
  let c = mix();
  let d = mix();
  const next = (): number => {
    const t = (((a + b) | 0) + d) | 0;
    d = (d + 1) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) | 0;
    return (t >>> 0) / 4294967296;
  };
  // Discard a few outputs: the first words of sfc32 still echo the seed.
  for (let i = 0; i < 12; i++) next();
  return {
    next,
    exponential: rate => -Math.log(1 - next()) / rate,
  };
}

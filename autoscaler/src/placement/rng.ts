import { PlacementError } from './placement-error.js';

/**
 * A small seeded generator (mulberry32): the same seed gives the same replay on every machine,
 * which Math.random cannot. Not for anything security-related.
 */
export function createRng(seed: number): () => number {
  if (!Number.isInteger(seed)) throw new PlacementError('seed', `must be an integer, got ${seed}`);
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Fisher–Yates shuffle in place with the given generator. */
export function shuffleInPlace<T>(items: T[], random: () => number): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    const a = items[i] as T;
    items[i] = items[j] as T;
    items[j] = a;
  }
  return items;
}

/**
 * Least-squares fit of a non-increasing sequence to `values` (pool adjacent violators).
 * Measured latencies are noisy (a few percent), so a raw row can rise where more SMs
 * should never hurt; the fit removes those bumps while moving the data as little as possible.
 */
export function nonIncreasingFit(values: readonly number[]): number[] {
  const means: number[] = [];
  const sizes: number[] = [];
  for (const v of values) {
    means.push(v);
    sizes.push(1);
    while (means.length > 1 && (means.at(-2) ?? 0) < (means.at(-1) ?? 0)) {
      const m2 = means.pop() ?? 0;
      const n2 = sizes.pop() ?? 0;
      const m1 = means.pop() ?? 0;
      const n1 = sizes.pop() ?? 0;
      means.push((m1 * n1 + m2 * n2) / (n1 + n2));
      sizes.push(n1 + n2);
    }
  }
  const out: number[] = [];
  means.forEach((m, i) => {
    for (let k = 0; k < (sizes[i] ?? 0); k++) out.push(m);
  });
  return out;
}

/** Renders rows as an aligned plain-text table; numbers are right-aligned. */
export function formatTable(
  header: readonly string[],
  rows: readonly (readonly (string | number)[])[],
): string {
  const cells = rows.map(r => r.map(c => String(c)));
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map(r => (r[i] ?? '').length)));
  const numeric = header.map((_, i) => rows.every(r => typeof r[i] === 'number'));
  const line = (r: readonly string[]): string =>
    r
      .map((c, i) => (numeric[i] ? c.padStart(widths[i] ?? 0) : c.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  const rule = widths.map(w => '-'.repeat(w)).join('  ');
  return [line(header), rule, ...cells.map(line)].join('\n');
}

export function fixed(value: number, digits = 2): number {
  return Number(value.toFixed(digits));
}

/**
 * Go `time.Duration` strings as Knative writes them in annotations and `config-autoscaler`
 * ("60s", "1m30s", "500ms", "1.5h"); a bare number is seconds, as Knative also accepts for
 * some keys. Returns seconds, or undefined when the text is no duration.
 */
const UNIT_SECONDS: Record<string, number> = {
  ns: 1e-9,
  us: 1e-6,
  µs: 1e-6,
  ms: 1e-3,
  s: 1,
  m: 60,
  h: 3600,
};

export function parseDurationSeconds(text: string): number | undefined {
  const s = text.trim();
  if (s === '') return undefined;
  if (/^\d+(\.\d+)?$/.test(s)) return Number(s);
  const part = /(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/y;
  let total = 0;
  let at = 0;
  while (at < s.length) {
    part.lastIndex = at;
    const m = part.exec(s);
    if (m === null) return undefined;
    total += Number(m[1]) * (UNIT_SECONDS[m[2] ?? ''] ?? NaN);
    at = part.lastIndex;
  }
  return Number.isFinite(total) ? total : undefined;
}

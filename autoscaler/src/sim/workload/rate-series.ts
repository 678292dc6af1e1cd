import { TraceError } from '../errors.js';

/** A load pattern: one relative request rate per fixed interval. */
export interface RateSeries {
  readonly values: Float64Array;
}

/**
 * Reads a rate pattern with one number per line and no header, the format of the INFless
 * load patterns (`Bursty.txt`, `Periodic.txt`, `Sporadic.txt`): each value is the relative
 * request rate of one interval. Blank lines and `#` comments are skipped. The values are
 * scaled to requests per second by the scenario (peak or mean rate), not here.
 */
export function parseRateSeries(text: string, file: string): RateSeries {
  const out: number[] = [];
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = (lines[i] ?? '').trim();
    if (line === '' || line.startsWith('#')) continue;
    const v = Number(line);
    if (!Number.isFinite(v) || v < 0) {
      throw new TraceError(file, i + 1, `expected one non-negative number per line, got '${line}'`);
    }
    out.push(v);
  }
  if (out.length === 0) throw new TraceError(file, undefined, 'rate series has no values');
  if (!out.some(v => v > 0)) throw new TraceError(file, undefined, 'rate series is all zeros');
  return { values: Float64Array.from(out) };
}

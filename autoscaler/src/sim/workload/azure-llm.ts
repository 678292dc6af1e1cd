import { TraceError } from '../errors.js';

const HEADER = 'TIMESTAMP,ContextTokens,GeneratedTokens';
/** `YYYY-MM-DD HH:MM:SS(.fffffff)`, no zone; the dataset's own format. */
const STAMP = /^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?$/;

/** Arrivals read from a request-per-row trace: seconds since the first request, ascending. */
export interface TraceArrivals {
  readonly times: Float64Array;
  /** Seconds from the first to the last request. */
  readonly spanSeconds: number;
}

/**
 * Reads the Azure LLM inference trace 2023 (Splitwise, `AzureLLMInferenceTrace_{code,conv}.csv`):
 * a header `TIMESTAMP,ContextTokens,GeneratedTokens` and one request per row. Each row becomes
 * one arrival; the token counts are checked but not used (the function's profile decides how
 * long a request takes). Rows must be in time order, as the published files are.
 */
export function parseAzureLlmTrace(text: string, file: string): TraceArrivals {
  const lines = text.split(/\r?\n/);
  const header = (lines[0] ?? '').replace(/^\uFEFF/, '').trim();
  if (header !== HEADER) {
    throw new TraceError(file, 1, `expected the header '${HEADER}', got '${header}'`);
  }
  const times = new Float64Array(lines.length);
  let n = 0;
  let first = NaN;
  let prev = -Infinity;
  for (let i = 1; i < lines.length; i++) {
    const line = (lines[i] ?? '').trim();
    if (line === '') continue;
    const t = parseRow(line, file, i + 1);
    if (t < prev) {
      throw new TraceError(file, i + 1, 'rows must be in time order (TIMESTAMP went backwards)');
    }
    prev = t;
    if (n === 0) first = t;
    times[n++] = t - first;
  }
  if (n === 0) throw new TraceError(file, undefined, 'trace has no requests');
  const out = times.slice(0, n);
  return { times: out, spanSeconds: out[n - 1] ?? 0 };
}

function parseRow(line: string, file: string, lineNo: number): number {
  const cells = line.split(',');
  if (cells.length !== 3) {
    throw new TraceError(file, lineNo, `expected 3 columns (${HEADER}), found ${cells.length}`);
  }
  const [stamp = '', ctx = '', gen = ''] = cells.map(c => c.trim());
  for (const [name, v] of [
    ['ContextTokens', ctx],
    ['GeneratedTokens', gen],
  ] as const) {
    if (!/^\d+$/.test(v)) {
      throw new TraceError(file, lineNo, `${name} must be a non-negative integer, got '${v}'`);
    }
  }
  return parseStamp(stamp, file, lineNo);
}

/** Seconds since the Unix epoch, reading the stamp as UTC (the trace has no zone). */
function parseStamp(stamp: string, file: string, lineNo: number): number {
  const m = STAMP.exec(stamp);
  if (!m) {
    throw new TraceError(
      file,
      lineNo,
      `TIMESTAMP must look like 'YYYY-MM-DD HH:MM:SS.fffffff', got '${stamp}'`,
    );
  }
  const [, y, mo, d, h, mi, s, frac = ''] = m;
  const ms = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s));
  if (Number.isNaN(ms)) throw new TraceError(file, lineNo, `TIMESTAMP is not a date: '${stamp}'`);
  return ms / 1000 + (frac === '' ? 0 : Number(frac) / 10 ** frac.length);
}

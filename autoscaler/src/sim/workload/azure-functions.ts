import { TraceError } from '../errors.js';
import type { TraceArrivals } from './azure-llm.js';

const HEADER = 'app,func,end_timestamp,duration';

export interface AzureFunctionsFilter {
  /** Keep only rows of this (hashed) app. */
  readonly app?: string | undefined;
  /** Keep only rows of this (hashed) function. */
  readonly func?: string | undefined;
}

/**
 * Reads the Azure Functions invocation trace 2021 in the column layout of its public samples:
 * `app,func,end_timestamp,duration` (seconds). An invocation arrived at
 * `end_timestamp - duration`; rows are not in arrival order, so the result is sorted.
 * Without a filter every row counts, as if one function served the whole sample.
 */
export function parseAzureFunctionsTrace(
  text: string,
  file: string,
  filter: AzureFunctionsFilter = {},
): TraceArrivals {
  const lines = text.split(/\r?\n/);
  const header = (lines[0] ?? '').replace(/^\uFEFF/, '').trim();
  if (header !== HEADER) {
    throw new TraceError(file, 1, `expected the header '${HEADER}', got '${header}'`);
  }
  const arrivals: number[] = [];
  for (let i = 1; i < lines.length; i++) {
    const line = (lines[i] ?? '').trim();
    if (line === '') continue;
    const row = parseRow(line, file, i + 1);
    if (matches(row, filter)) arrivals.push(Math.max(0, row.end - row.duration));
  }
  if (arrivals.length === 0) {
    const filtered = filter.app !== undefined || filter.func !== undefined;
    throw new TraceError(
      file,
      undefined,
      `trace has no invocations${filtered ? ' matching the app/func filter' : ''}`,
    );
  }
  const times = Float64Array.from(arrivals).sort();
  const first = times[0] ?? 0;
  for (let i = 0; i < times.length; i++) times[i] = (times[i] ?? 0) - first;
  return { times, spanSeconds: times[times.length - 1] ?? 0 };
}

function matches(row: { app: string; func: string }, filter: AzureFunctionsFilter): boolean {
  return (
    (filter.app === undefined || row.app === filter.app) &&
    (filter.func === undefined || row.func === filter.func)
  );
}

function parseRow(
  line: string,
  file: string,
  lineNo: number,
): { app: string; func: string; end: number; duration: number } {
  const cells = line.split(',').map(c => c.trim());
  if (cells.length !== 4) {
    throw new TraceError(file, lineNo, `expected 4 columns (${HEADER}), found ${cells.length}`);
  }
  const [app = '', func = '', endRaw = '', durRaw = ''] = cells;
  const end = nonNegative(endRaw, 'end_timestamp', file, lineNo);
  const duration = nonNegative(durRaw, 'duration', file, lineNo);
  if (duration > end + 1e-6) {
    throw new TraceError(
      file,
      lineNo,
      `duration (${durRaw}) must not exceed end_timestamp (${endRaw}): the invocation would start before the trace`,
    );
  }
  return { app, func, end, duration };
}

function nonNegative(raw: string, name: string, file: string, line: number): number {
  const v = raw === '' ? NaN : Number(raw);
  if (!Number.isFinite(v) || v < 0) {
    throw new TraceError(file, line, `${name} must be a non-negative number, got '${raw}'`);
  }
  return v;
}

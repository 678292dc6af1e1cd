import { parse } from 'csv-parse/sync';
import { GpuDiscoveryError } from './types.js';

/** The fields asked of `nvidia-smi --query-gpu`, in this order. */
export const GPU_QUERY_FIELDS = [
  'index',
  'uuid',
  'name',
  'memory.total',
  'mig.mode.current',
  'compute_mode',
  'pci.bus_id',
] as const;

/** Arguments of the inventory query: one CSV line per GPU, no header, numbers without units. */
export const GPU_QUERY_ARGS = [
  `--query-gpu=${GPU_QUERY_FIELDS.join(',')}`,
  '--format=csv,noheader,nounits',
] as const;

export interface CsvGpuRow {
  readonly index: number;
  readonly uuid: string;
  readonly name: string;
  /** `undefined` when the driver printed an error instead of the value. */
  readonly memoryMiB: number | undefined;
  readonly migMode: string;
  readonly computeMode: string;
  readonly pciBusId: string;
  /** Values the driver could not read (`[Unknown Error]`, `[GPU requires reset]`), by field. */
  readonly errors: readonly string[];
}

export interface CsvInventory {
  readonly rows: readonly CsvGpuRow[];
  /** Bus ids from "Unable to determine the device handle for GPU<bus id>: ..." lines. */
  readonly lostBusIds: readonly string[];
}

// nvidia-smi prints one such line per GPU it cannot open, in the middle of the CSV output,
// e.g. "Unable to determine the device handle for GPU0000:3B:00.0: Unknown Error".
const LOST_GPU =
  /Unable to determine the device handle for GPU\s*([0-9A-Fa-f]+:[0-9A-Fa-f]+:[0-9A-Fa-f]+\.[0-9A-Fa-f])/;
// Bracketed values are nvidia-smi's way to say a field has no value: [N/A], [Not Supported],
// [Unknown Error], [GPU requires reset], [Insufficient Permissions].
const NO_VALUE = /^\[(.*)\]$/;
const BENIGN = new Set(['N/A', 'Not Supported']);

/** Parses the output of `nvidia-smi ${GPU_QUERY_ARGS}` (see the fixtures for real samples). */
export function parseGpuQueryCsv(text: string): CsvInventory {
  const rows: CsvGpuRow[] = [];
  const lostBusIds: string[] = [];
  const lines = text.split(/\r?\n/);
  lines.forEach((line, i) => {
    if (line.trim() === '') return;
    const lost = LOST_GPU.exec(line);
    if (lost?.[1] !== undefined) {
      lostBusIds.push(normaliseBusId(lost[1]));
      return;
    }
    rows.push(parseRow(line, i + 1));
  });
  return { rows, lostBusIds };
}

function parseRow(line: string, lineNo: number): CsvGpuRow {
  let cells: string[][];
  try {
    cells = parse(line, { trim: true, relax_quotes: true });
  } catch (err) {
    throw new GpuDiscoveryError(`nvidia-smi CSV line ${lineNo}: ${(err as Error).message}`, {
      cause: err,
    });
  }
  const cols = cells[0] ?? [];
  if (cols.length !== GPU_QUERY_FIELDS.length) {
    throw new GpuDiscoveryError(
      `nvidia-smi CSV line ${lineNo}: expected ${GPU_QUERY_FIELDS.length} fields ` +
        `(${GPU_QUERY_FIELDS.join(', ')}), got ${cols.length}: "${line}"`,
    );
  }
  const errors: string[] = [];
  const value = (i: number): string | undefined => {
    const raw = cols[i] ?? '';
    const m = NO_VALUE.exec(raw);
    if (m === null) return raw;
    const what = m[1] ?? '';
    if (!BENIGN.has(what)) errors.push(`${GPU_QUERY_FIELDS[i] ?? i}: ${what}`);
    return undefined;
  };
  const { index, uuid, memoryMiB } = identity(value, cols, lineNo);
  return {
    index,
    uuid,
    name: value(2) ?? 'unknown',
    memoryMiB,
    migMode: value(4) ?? 'N/A',
    computeMode: value(5) ?? 'Unknown',
    pciBusId: normaliseBusId(value(6) ?? ''),
    errors,
  };
}

function identity(
  value: (i: number) => string | undefined,
  cols: readonly string[],
  lineNo: number,
): { index: number; uuid: string; memoryMiB: number | undefined } {
  const index = Number(value(0));
  if (!Number.isInteger(index) || index < 0) {
    throw new GpuDiscoveryError(
      `nvidia-smi CSV line ${lineNo}: index "${cols[0]}" is not a GPU index`,
    );
  }
  const uuid = value(1);
  if (uuid?.startsWith('GPU-') !== true) {
    throw new GpuDiscoveryError(
      `nvidia-smi CSV line ${lineNo}: GPU ${index} has no readable UUID ("${cols[1]}")`,
    );
  }
  const memory = value(3);
  const memoryMiB = memory === undefined ? undefined : Number(memory);
  if (memoryMiB !== undefined && !(Number.isFinite(memoryMiB) && memoryMiB >= 0)) {
    throw new GpuDiscoveryError(
      `nvidia-smi CSV line ${lineNo}: memory.total "${memory}" is not MiB`,
    );
  }
  return { index, uuid, memoryMiB };
}

/**
 * nvidia-smi prints bus ids with an 8-digit domain in `--query-gpu` and `-q -x`
 * (`00000000:07:00.0`) but with 4 digits in some error lines (`0000:07:00.0`). One form,
 * upper case with an 8-digit domain, lets the two outputs be joined.
 */
export function normaliseBusId(id: string): string {
  const m = /^([0-9A-Fa-f]+):([0-9A-Fa-f]+):([0-9A-Fa-f]+)\.([0-9A-Fa-f])$/.exec(id.trim());
  if (m === null) return id.trim().toUpperCase();
  const [, domain = '', bus = '', device = '', fn = ''] = m;
  return `${domain.padStart(8, '0')}:${bus.padStart(2, '0')}:${device.padStart(2, '0')}.${fn}`.toUpperCase();
}

import type { FgdTask } from './fgd.js';
import { GPU_MILLI } from './fgd.js';
import { PlacementError } from './placement-error.js';

/**
 * Readers for the openb GPU-sharing traces published with FGD (Weng et al., ATC'23; Alibaba,
 * Apache-2.0): `openb_node_list_*.csv` and `openb_pod_list_*.csv`. Pure: text in, records out.
 */

export interface OpenbNode {
  readonly name: string;
  readonly cpuMilli: number;
  readonly memoryMiB: number;
  readonly gpuCount: number;
  /** GPU model ('' on a CPU-only node). */
  readonly gpuModel: string;
}

export interface OpenbPod {
  readonly name: string;
  readonly cpuMilli: number;
  readonly memoryMiB: number;
  readonly gpuCount: number;
  /** Share of each GPU, 0..1000; 1000 for whole GPUs, 0 for CPU-only pods. */
  readonly gpuMilli: number;
  /** Accepted GPU models; empty means any. */
  readonly gpuModels: readonly string[];
  readonly qos: string;
  readonly creationTime: number | undefined;
  readonly deletionTime: number | undefined;
}

const NODE_COLUMNS = ['sn', 'cpu_milli', 'memory_mib', 'gpu', 'model'] as const;
const POD_COLUMNS = [
  'name',
  'cpu_milli',
  'memory_mib',
  'num_gpu',
  'gpu_milli',
  'gpu_spec',
  'qos',
] as const;

interface Row {
  readonly line: number;
  readonly cell: (column: string) => string;
}

function rows(text: string, source: string, required: readonly string[]): Row[] {
  const lines = text.split(/\r?\n/);
  const headerLine = lines.findIndex(l => l.trim() !== '');
  if (headerLine < 0) throw new PlacementError(source, 'is empty (expected a header line)');
  const header = (lines[headerLine] ?? '').split(',').map(c => c.trim());
  const missing = required.filter(c => !header.includes(c));
  if (missing.length > 0) {
    throw new PlacementError(
      `${source}:${headerLine + 1}`,
      `header lacks column(s) ${missing.join(', ')} (has ${header.join(', ')})`,
    );
  }
  const index = new Map(header.map((c, i) => [c, i]));
  const out: Row[] = [];
  for (let i = headerLine + 1; i < lines.length; i++) {
    const raw = lines[i] ?? '';
    if (raw.trim() === '') continue;
    const cells = raw.split(',');
    const line = i + 1;
    if (cells.length !== header.length) {
      throw new PlacementError(
        `${source}:${line}`,
        `expected ${header.length} comma-separated cells, found ${cells.length} (quoted cells are not supported)`,
      );
    }
    out.push({ line, cell: c => (cells[index.get(c) ?? -1] ?? '').trim() });
  }
  return out;
}

function integer(row: Row, source: string, column: string, max = Infinity): number {
  const s = row.cell(column);
  const v = s === '' ? NaN : Number(s);
  if (!Number.isInteger(v) || v < 0 || v > max) {
    const range = max === Infinity ? '>= 0' : `within 0..${max}`;
    throw new PlacementError(
      `${source}:${row.line}:${column}`,
      `must be an integer ${range}, got '${s}'`,
    );
  }
  return v;
}

function optionalTime(row: Row, source: string, column: string): number | undefined {
  const s = row.cell(column);
  if (s === '') return undefined;
  return integer(row, source, column);
}

function nonEmpty(row: Row, source: string, column: string): string {
  const s = row.cell(column);
  if (s === '') throw new PlacementError(`${source}:${row.line}:${column}`, 'must not be empty');
  return s;
}

export function parseOpenbNodes(text: string, source = 'node list'): OpenbNode[] {
  const seen = new Set<string>();
  return rows(text, source, NODE_COLUMNS).map(r => {
    const name = nonEmpty(r, source, 'sn');
    if (seen.has(name))
      throw new PlacementError(`${source}:${r.line}:sn`, `duplicate node '${name}'`);
    seen.add(name);
    const gpuCount = integer(r, source, 'gpu');
    const gpuModel = r.cell('model');
    if (gpuCount > 0 && gpuModel === '') {
      throw new PlacementError(
        `${source}:${r.line}:model`,
        'must name the GPU model of a GPU node',
      );
    }
    return {
      name,
      cpuMilli: integer(r, source, 'cpu_milli'),
      memoryMiB: integer(r, source, 'memory_mib'),
      gpuCount,
      gpuModel,
    };
  });
}

export function parseOpenbPods(text: string, source = 'pod list'): OpenbPod[] {
  return rows(text, source, POD_COLUMNS).map(r => {
    const gpuCount = integer(r, source, 'num_gpu');
    const gpuMilli = integer(r, source, 'gpu_milli', GPU_MILLI);
    const where = `${source}:${r.line}:gpu_milli`;
    if (gpuCount === 0 && gpuMilli !== 0) {
      throw new PlacementError(where, `must be 0 for a pod with num_gpu 0, got ${gpuMilli}`);
    }
    if (gpuCount > 0 && gpuMilli === 0) {
      throw new PlacementError(where, `must be > 0 for a pod with num_gpu ${gpuCount}`);
    }
    const spec = r.cell('gpu_spec');
    return {
      name: nonEmpty(r, source, 'name'),
      cpuMilli: integer(r, source, 'cpu_milli'),
      memoryMiB: integer(r, source, 'memory_mib'),
      gpuCount,
      gpuMilli,
      gpuModels: spec === '' ? [] : spec.split('|').map(s => s.trim()),
      qos: r.cell('qos'),
      creationTime: optionalTime(r, source, 'creation_time'),
      deletionTime: optionalTime(r, source, 'deletion_time'),
    };
  });
}

/** The pod's shape as an FGD task. */
export function openbTask(pod: OpenbPod): FgdTask {
  return {
    cpuMilli: pod.cpuMilli,
    gpuCount: pod.gpuCount,
    gpuMilli: pod.gpuMilli,
    gpuModels: pod.gpuModels,
  };
}

import type { NodeSpec } from '../placement/index.js';
import type { NodeObject } from './kube-objects.js';

/** Node annotation with the MiB of one `dilu.dev/gpu<i>-mem` device (annotations.md). */
export const MEMORY_UNIT_ANNOTATION = 'dilu.dev/memory-unit-mib';
/** Node label with the GPU model (set by NVIDIA's GPU feature discovery), when present. */
export const GPU_MODEL_LABEL = 'nvidia.com/gpu.product';
export const DEFAULT_MEMORY_UNIT_MIB = 256;

const GPU_RESOURCE = /^dilu\.dev\/gpu(\d+)-(sm|mem)$/;

/** What the service knows of a GPU node: the placement model's spec plus the memory unit. */
export interface NodeCapacity {
  readonly spec: NodeSpec;
  readonly memoryUnitMiB: number;
}

function count(raw: string | undefined): number {
  // Device counts are plain integers; anything else counts as none.
  return raw !== undefined && /^\d+$/.test(raw) ? Number(raw) : 0;
}

/**
 * Reads a node's GPUs from its allocatable per-GPU resources (the device plugin advertises
 * `dilu.dev/gpu<i>-sm` and `dilu.dev/gpu<i>-mem` per GPU index). A GPU's memory is its
 * allocatable memory units times the node's unit. Undefined for nodes without Dilu GPUs and for
 * cordoned nodes (no new instance may go there). GPU indices must be contiguous from 0: the
 * placement model addresses GPUs by index.
 */
export function nodeCapacity(node: NodeObject): NodeCapacity | undefined {
  const name = node.metadata?.name;
  if (!name || node.spec?.unschedulable === true) return undefined;
  const gpus = gpuMemoryUnits(node.status?.allocatable ?? {});
  if (gpus.length === 0) return undefined;
  const unitRaw = count(node.metadata?.annotations?.[MEMORY_UNIT_ANNOTATION]);
  const unit = unitRaw > 0 ? unitRaw : DEFAULT_MEMORY_UNIT_MIB;
  const model = node.metadata?.labels?.[GPU_MODEL_LABEL] ?? 'unknown';
  // A GPU whose memory devices are all unhealthy keeps its index with 1 MiB, so no instance
  // of any real size fits it.
  return {
    spec: { id: name, gpus: gpus.map(units => ({ model, memoryMiB: Math.max(1, units * unit) })) },
    memoryUnitMiB: unit,
  };
}

/** Allocatable memory units per GPU index 0..highest advertised index. */
function gpuMemoryUnits(allocatable: Record<string, string>): number[] {
  const memUnits = new Map<number, number>();
  let highest = -1;
  for (const [key, value] of Object.entries(allocatable)) {
    const m = GPU_RESOURCE.exec(key);
    if (!m) continue;
    const index = Number(m[1]);
    highest = Math.max(highest, index);
    if (m[2] === 'mem') memUnits.set(index, count(value));
  }
  return Array.from({ length: highest + 1 }, (_, i) => memUnits.get(i) ?? 0);
}

export function sameCapacity(a: NodeCapacity, b: NodeCapacity): boolean {
  return (
    a.memoryUnitMiB === b.memoryUnitMiB &&
    a.spec.gpus.length === b.spec.gpus.length &&
    a.spec.gpus.every((g, i) => {
      const other = b.spec.gpus[i];
      return other !== undefined && g.model === other.model && g.memoryMiB === other.memoryMiB;
    })
  );
}

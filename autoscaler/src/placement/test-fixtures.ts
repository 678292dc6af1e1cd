// Shared builders for the placement tests (not exported from the package).
import type { InstanceClass, InstanceRequest, NodeSpec } from './types.js';

export const A100_MIB = 40_960;

export function gpuNode(id: string, gpus: number, memoryMiB = A100_MIB, model = 'A100'): NodeSpec {
  return { id, gpus: Array.from({ length: gpus }, () => ({ model, memoryMiB })) };
}

export function req(
  functionId: string,
  smRequest: number,
  memoryMiB: number,
  opts: { smLimit?: number; class?: InstanceClass; gpuModels?: readonly string[] } = {},
): InstanceRequest {
  return {
    functionId,
    class: opts.class ?? 'latency-critical',
    smRequest,
    smLimit: opts.smLimit ?? smRequest,
    memoryMiB,
    gpuModels: opts.gpuModels,
  };
}

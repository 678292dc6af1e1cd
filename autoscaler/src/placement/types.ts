/** Priority class of an instance: serving with an SLO, or elastic work that can be squeezed. */
export const INSTANCE_CLASSES = ['latency-critical', 'best-effort'] as const;
export type InstanceClass = (typeof INSTANCE_CLASSES)[number];

/** SM capacity of one GPU, in percent of its SMs. */
export const GPU_SM_PERCENT = 100;

/** What one instance asks of a GPU (DESIGN.md §3). */
export interface InstanceRequest {
  /** Function the instance belongs to (Knative Revision or OpenFaaS function). */
  readonly functionId: string;
  readonly class: InstanceClass;
  /** r: guaranteed SM share in percent, 0..100. */
  readonly smRequest: number;
  /** l: MPS cap in percent, r <= l <= 100, > 0. */
  readonly smLimit: number;
  /** m: GPU memory in MiB, > 0; never overcommitted. */
  readonly memoryMiB: number;
  /** GPU models the instance's profile is valid on; absent or empty means any. */
  readonly gpuModels?: readonly string[] | undefined;
}

/** A request with the id it will be known by (pod UID, reservation id, simulator id). */
export interface InstanceSpec extends InstanceRequest {
  readonly id: string;
  /** Holds the whole GPU: nothing else may share it (exclusive baseline). */
  readonly exclusive?: boolean | undefined;
}

/** Changes to a placed instance (in-place resize); absent fields keep their value. */
export interface InstanceChange {
  readonly smRequest?: number | undefined;
  readonly smLimit?: number | undefined;
  readonly memoryMiB?: number | undefined;
}

export interface GpuSpec {
  /** GPU model name as the device plugin reports it (e.g. `A100-SXM4-40GB`). */
  readonly model: string;
  readonly memoryMiB: number;
}

export interface NodeSpec {
  readonly id: string;
  /** GPUs in device-index order: `gpus[i]` is GPU index i. */
  readonly gpus: readonly GpuSpec[];
}

/** Where an instance sits. */
export interface GpuRef {
  readonly nodeId: string;
  readonly gpuIndex: number;
}

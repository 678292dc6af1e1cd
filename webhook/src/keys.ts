/**
 * Names shared with users and the other components (docs/contracts/annotations.md). Kept in
 * one place so a rename is one edit and the validation's list of known keys cannot drift from
 * the keys the code reads and writes.
 */
export const PREFIX = 'dilu.dev/';

/** Annotations users may set on a function's pods. */
export const USER_ANNOTATIONS = {
  enabled: 'dilu.dev/enabled',
  profile: 'dilu.dev/profile',
  sloMs: 'dilu.dev/slo-ms',
  class: 'dilu.dev/class',
  sm: 'dilu.dev/sm',
  smLimit: 'dilu.dev/sm-limit',
  gpuMemory: 'dilu.dev/gpu-memory',
  batch: 'dilu.dev/batch',
  gpuContainer: 'dilu.dev/gpu-container',
  burstHalfLife: 'dilu.dev/burst-half-life',
} as const;

/** Annotations the webhook writes; accepted on input (a re-created pod carries them). */
export const WEBHOOK_ANNOTATIONS = {
  decision: 'dilu.dev/decision',
  gpuIndex: 'dilu.dev/gpu-index',
  reservation: 'dilu.dev/reservation',
} as const;

export const LABELS = {
  enabled: 'dilu.dev/enabled',
  needsProfile: 'dilu.dev/needs-profile',
  function: 'dilu.dev/function',
} as const;

/** Labels Knative and OpenFaaS put on function pods. */
export const PLATFORM_LABELS = {
  knativeRevision: 'serving.knative.dev/revision',
  knativeService: 'serving.knative.dev/service',
  knativeConfiguration: 'serving.knative.dev/configuration',
  openfaasFunction: 'faas_function',
} as const;

/** Generic resources a user may request; rewritten into one GPU index's resources. */
export const GENERIC_RESOURCES = {
  sm: 'dilu.dev/sm',
  gpuMemory: 'dilu.dev/gpu-memory',
} as const;

/** `dilu.dev/gpu<i>-sm` / `dilu.dev/gpu<i>-mem`, advertised per GPU index by the device plugin. */
export const PER_GPU_RESOURCE = /^dilu\.dev\/gpu(\d+)-(sm|mem)$/;

export function gpuSmResource(index: number): string {
  return `dilu.dev/gpu${index}-sm`;
}

export function gpuMemResource(index: number): string {
  return `dilu.dev/gpu${index}-mem`;
}

/** Env the webhook writes into the GPU container; a user may not set these. */
export const WEBHOOK_ENV = {
  mpsThreadPercentage: 'CUDA_MPS_ACTIVE_THREAD_PERCENTAGE',
  batch: 'DILU_BATCH',
  sloMs: 'DILU_SLO_MS',
  smRequest: 'DILU_SM_REQUEST',
  smLimit: 'DILU_SM_LIMIT',
  gpuMemoryMiB: 'DILU_GPU_MEMORY_MIB',
} as const;

/** Env the device plugin injects at Allocate; a pod spec that sets them is denied. */
export const DEVICE_PLUGIN_ENV = ['DILU_ALLOCATION_ID', 'DILU_QUOTA_FILE'] as const;

/** Every `CUDA_MPS_*` variable belongs to the platform (MPS isolation depends on it). */
export const MPS_ENV_PREFIX = 'CUDA_MPS_';

export const FUNCTION_CLASSES = ['latency-critical', 'best-effort'] as const;
export type FunctionClass = (typeof FUNCTION_CLASSES)[number];

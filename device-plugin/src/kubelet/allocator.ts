import { join } from 'node:path';
import type { AllocationStore } from '../quota/allocation-store.js';
import { QUOTA_FILE_NAME } from '../quota/quota-file.js';
import type { GpuMonitor } from '../node/gpu-monitor.js';
import type { ContainerAllocateResponse, Mount } from './api-types.js';
import { parseDeviceId } from './resources.js';
import type { ResourceSpec } from './resources.js';

/** Paths inside function containers (see docs/contracts/quota-file.md and annotations.md). */
export const CONTAINER_PATHS = {
  quotaDir: '/var/run/dilu',
  mpsPipe: '/var/run/dilu-mps/pipe',
  mpsLog: '/var/run/dilu-mps/log',
  shm: '/dev/shm',
} as const;

export interface AllocatorConfig {
  readonly memoryUnitMiB: number;
  /** `undefined` when the plugin runs no MPS daemons (the container gets no MPS wiring). */
  readonly mpsRoot: string | undefined;
}

/** A request the plugin refuses; `code` says which gRPC status to answer with. */
export class AllocateError extends Error {
  readonly code: 'invalid' | 'unavailable';
  constructor(code: 'invalid' | 'unavailable', message: string) {
    super(message);
    this.name = 'AllocateError';
    this.code = code;
  }
}

export interface Allocator {
  allocate(
    resource: ResourceSpec,
    deviceIds: readonly string[],
  ): Promise<ContainerAllocateResponse>;
}

/** Host directories of one GPU's MPS daemon: `<mpsRoot>/<uuid>/{pipe,log}`, shm shared. */
export function mpsDirs(
  mpsRoot: string,
  gpuUuid: string,
): { pipe: string; log: string; shm: string } {
  return {
    pipe: join(mpsRoot, gpuUuid, 'pipe'),
    log: join(mpsRoot, gpuUuid, 'log'),
    shm: join(mpsRoot, 'shm'),
  };
}

/**
 * Builds Allocate responses. They depend on the device IDs only, never on the pod: the kubelet
 * does not say which pod it is allocating for, and guessing it is where other sharing plugins
 * break. The SM and the memory resource of a container arrive in separate calls; both give the
 * GPU and the MPS wiring (identical values, which the kubelet merges), the SM call adds the
 * allocation id and quota file, the memory call adds the MPS memory cap.
 */
export function createAllocator(deps: {
  readonly config: AllocatorConfig;
  readonly monitor: GpuMonitor;
  readonly store: AllocationStore;
}): Allocator {
  const { config, monitor, store } = deps;
  return {
    async allocate(resource, deviceIds) {
      validate(resource, deviceIds);
      const gpu = monitor.get(resource.gpuIndex);
      if (gpu === undefined)
        throw new AllocateError('invalid', `GPU ${resource.gpuIndex} is not on this node`);
      if (!gpu.healthy) {
        const why = [
          ...gpu.problems,
          ...(gpu.mpsUp === false ? ['its MPS control daemon is down'] : []),
        ];
        throw new AllocateError(
          'unavailable',
          `GPU ${gpu.index} (${gpu.uuid}) is unhealthy: ${why.join('; ')}`,
        );
      }
      const envs: Record<string, string> = { NVIDIA_VISIBLE_DEVICES: gpu.uuid };
      const mounts: Mount[] = [];
      if (config.mpsRoot !== undefined) {
        const dirs = mpsDirs(config.mpsRoot, gpu.uuid);
        envs.CUDA_MPS_PIPE_DIRECTORY = CONTAINER_PATHS.mpsPipe;
        envs.CUDA_MPS_LOG_DIRECTORY = CONTAINER_PATHS.mpsLog;
        mounts.push(
          { container_path: CONTAINER_PATHS.mpsPipe, host_path: dirs.pipe, read_only: false },
          { container_path: CONTAINER_PATHS.mpsLog, host_path: dirs.log, read_only: true },
          { container_path: CONTAINER_PATHS.shm, host_path: dirs.shm, read_only: false },
        );
      }
      if (resource.kind === 'sm') {
        const rec = await store.recordAllocation({
          gpuIndex: gpu.index,
          gpuUuid: gpu.uuid,
          smDeviceIds: deviceIds,
        });
        envs.DILU_ALLOCATION_ID = rec.allocationId;
        envs.DILU_QUOTA_FILE = `${CONTAINER_PATHS.quotaDir}/${QUOTA_FILE_NAME}`;
        // The directory, not the file: the file is replaced by rename and a file bind mount
        // would keep showing the old inode.
        mounts.push({
          container_path: CONTAINER_PATHS.quotaDir,
          host_path: store.dirOf(rec.allocationId),
          read_only: true,
        });
      } else {
        // Device 0 as the client sees it: the container and the GPU's MPS daemon see only this
        // GPU. By index, not UUID: MPS did not apply limits given by UUID (NVIDIA device plugin
        // v0.15.0 release notes).
        envs.CUDA_MPS_PINNED_DEVICE_MEM_LIMIT = `0=${deviceIds.length * config.memoryUnitMiB}M`;
      }
      return { envs, mounts, devices: [], annotations: {}, cdi_devices: [] };
    },
  };
}

function validate(resource: ResourceSpec, deviceIds: readonly string[]): void {
  if (deviceIds.length === 0)
    throw new AllocateError('invalid', `no device IDs for ${resource.name}`);
  const seen = new Set<string>();
  for (const id of deviceIds) {
    const d = parseDeviceId(id);
    if (
      d?.gpuIndex !== resource.gpuIndex ||
      d.kind !== resource.kind ||
      d.slot >= resource.deviceIds.length
    ) {
      throw new AllocateError('invalid', `device ID "${id}" does not belong to ${resource.name}`);
    }
    if (seen.has(id)) throw new AllocateError('invalid', `device ID "${id}" requested twice`);
    seen.add(id);
  }
}

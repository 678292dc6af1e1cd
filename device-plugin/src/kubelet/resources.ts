/** The extended resources of one GPU and the device IDs behind them. */

export const RESOURCE_DOMAIN = 'dilu.dev';

export type ResourceKind = 'sm' | 'mem';

export interface ResourceSpec {
  readonly kind: ResourceKind;
  readonly gpuIndex: number;
  /** e.g. `dilu.dev/gpu0-sm`. */
  readonly name: string;
  /** Socket file name in the device plugin directory, e.g. `dilu-gpu0-sm.sock`. */
  readonly socketName: string;
  /** Every device ID this resource advertises, in order. */
  readonly deviceIds: readonly string[];
}

/** 100 SM devices per GPU, 1 % each. */
export const SM_DEVICES_PER_GPU = 100;

export function resourceName(gpuIndex: number, kind: ResourceKind): string {
  return `${RESOURCE_DOMAIN}/gpu${gpuIndex}-${kind}`;
}

/**
 * SM device IDs are `gpu<i>-sm-<00..99>`: zero-padded, so sorting them as strings sorts them by
 * number, which the allocation id relies on. Memory devices are `gpu<i>-mem-<0000..>`.
 */
export function smDeviceId(gpuIndex: number, slot: number): string {
  return `gpu${gpuIndex}-sm-${String(slot).padStart(2, '0')}`;
}

export function memDeviceId(gpuIndex: number, unit: number): string {
  return `gpu${gpuIndex}-mem-${String(unit).padStart(4, '0')}`;
}

/** Memory units advertised for a GPU: whole units of what is left after the reserve. */
export function memoryUnits(memoryMiB: number, unitMiB: number, reservedMiB: number): number {
  return Math.max(0, Math.floor((memoryMiB - reservedMiB) / unitMiB));
}

export function resourcesForGpu(
  gpuIndex: number,
  memoryMiB: number,
  unitMiB: number,
  reservedMiB: number,
): [ResourceSpec, ResourceSpec] {
  const sm: ResourceSpec = {
    kind: 'sm',
    gpuIndex,
    name: resourceName(gpuIndex, 'sm'),
    socketName: `dilu-gpu${gpuIndex}-sm.sock`,
    deviceIds: Array.from({ length: SM_DEVICES_PER_GPU }, (_, i) => smDeviceId(gpuIndex, i)),
  };
  const units = memoryUnits(memoryMiB, unitMiB, reservedMiB);
  const mem: ResourceSpec = {
    kind: 'mem',
    gpuIndex,
    name: resourceName(gpuIndex, 'mem'),
    socketName: `dilu-gpu${gpuIndex}-mem.sock`,
    deviceIds: Array.from({ length: units }, (_, i) => memDeviceId(gpuIndex, i)),
  };
  return [sm, mem];
}

/** Parses a device ID back into (GPU, kind); `undefined` for IDs this plugin never issues. */
export function parseDeviceId(
  id: string,
): { gpuIndex: number; kind: ResourceKind; slot: number } | undefined {
  const m = /^gpu(\d+)-(sm|mem)-(\d+)$/.exec(id);
  if (m === null) return undefined;
  return { gpuIndex: Number(m[1]), kind: m[2] as ResourceKind, slot: Number(m[3]) };
}

/** Parses a resource name `dilu.dev/gpu<i>-<kind>`. */
export function parseResourceName(
  name: string,
): { gpuIndex: number; kind: ResourceKind } | undefined {
  const m = /^dilu\.dev\/gpu(\d+)-(sm|mem)$/.exec(name);
  if (m === null) return undefined;
  return { gpuIndex: Number(m[1]), kind: m[2] as ResourceKind };
}

import { createHash } from 'node:crypto';

const ID_PATTERN = /^a-[0-9a-f]{16}$/;

/**
 * The allocation id of quota-file.md: `a-` + the first 16 hex digits of SHA-256 over the sorted
 * SM device IDs joined by `,`. Both the plugin (at Allocate) and the node agent (from the
 * PodResources API) compute it from the device IDs alone, so neither needs to know the pod.
 */
export function allocationIdFor(smDeviceIds: readonly string[]): string {
  const joined = [...smDeviceIds].sort().join(',');
  return `a-${createHash('sha256').update(joined).digest('hex').slice(0, 16)}`;
}

export function isAllocationId(s: string): boolean {
  return ID_PATTERN.test(s);
}

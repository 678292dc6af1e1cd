import type { ContainerPreferredAllocationRequest } from './api-types.js';

/**
 * All devices of one resource are interchangeable slices of one GPU, so any choice is as good
 * as another for the hardware. The plugin prefers the lowest free IDs: an allocation then holds
 * a contiguous run, which keeps `kubectl describe` and PodResources output readable.
 */
export function preferredDevices(req: ContainerPreferredAllocationRequest): string[] {
  const chosen = [...new Set(req.must_include_deviceIDs)];
  const rest = req.available_deviceIDs.filter(id => !chosen.includes(id)).sort();
  for (const id of rest) {
    if (chosen.length >= req.allocation_size) break;
    chosen.push(id);
  }
  return chosen;
}

import type { Container } from './pod-types.js';
import { USER_ANNOTATIONS } from '../keys.js';
import type { FieldError } from './field-error.js';
import { annotationField, fieldError } from './field-error.js';

export type GpuContainerChoice =
  | { readonly ok: true; readonly index: number; readonly container: Container }
  | { readonly ok: false; readonly error: FieldError };

/**
 * The container that gets the GPU share: the one `dilu.dev/gpu-container` names, else the first
 * container that is not a known sidecar. Knative's queue-proxy and mesh proxies never qualify;
 * OpenFaaS's of-watchdog runs inside the function's own container, so that container is the one.
 */
export function chooseGpuContainer(
  containers: readonly Container[],
  named: string | undefined,
  sidecars: ReadonlySet<string>,
): GpuContainerChoice {
  if (named !== undefined) {
    const index = containers.findIndex(c => c.name === named);
    const field = annotationField(USER_ANNOTATIONS.gpuContainer);
    const container = containers[index];
    if (!container) {
      const names = containers.map(c => c.name).join(', ');
      return {
        ok: false,
        error: fieldError(field, `no container named "${named}" (pod has: ${names})`),
      };
    }
    if (sidecars.has(named)) {
      return {
        ok: false,
        error: fieldError(field, `"${named}" is a sidecar; name the function's own container`),
      };
    }
    return { ok: true, index, container };
  }
  const index = containers.findIndex(c => !sidecars.has(c.name));
  const container = containers[index];
  if (!container) {
    return {
      ok: false,
      error: fieldError(
        'spec.containers',
        `every container is a known sidecar (${[...sidecars].join(', ')}); nothing to give the GPU to`,
      ),
    };
  }
  return { ok: true, index, container };
}

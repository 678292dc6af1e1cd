import { CoreV1Api, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import type { KubeConfig } from '@kubernetes/client-node';

/** Node annotation that tells placement how many MiB one `dilu.dev/gpu<i>-mem` device is. */
export const MEMORY_UNIT_ANNOTATION = 'dilu.dev/memory-unit-mib';

/** Publishes the memory unit on this node with a JSON merge patch (RBAC: `patch` on nodes). */
export async function publishMemoryUnit(
  kc: KubeConfig,
  nodeName: string,
  unitMiB: number,
): Promise<void> {
  const core = kc.makeApiClient(CoreV1Api);
  await core.patchNode(
    {
      name: nodeName,
      body: { metadata: { annotations: { [MEMORY_UNIT_ANNOTATION]: String(unitMiB) } } },
    },
    setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
  );
}

// Fake GPU nodes: Node objects carrying the per-GPU extended resources the device plugin would
// advertise (docs/contracts/annotations.md), labelled so kwok keeps them Ready and runs the
// pods the scheduler binds to them. No kubelet, container or GPU is involved.
import {
  CoreV1Api,
  PatchStrategy,
  setHeaderOptions,
  type KubeConfig,
  type V1Node,
} from '@kubernetes/client-node';
import type { TestbedConnection } from './control-plane.js';
import { statusCodeOf } from './client.js';
import { waitFor } from './readiness.js';

export interface FakeGpu {
  /** SM devices (`dilu.dev/gpu<i>-sm`); 100 = the whole GPU. */
  readonly sm?: number;
  /** Memory units (`dilu.dev/gpu<i>-mem`). */
  readonly memoryUnits: number;
}

export interface GpuNodeSpec {
  readonly name: string;
  readonly gpus: readonly FakeGpu[];
  /** Extra labels, e.g. to keep one test's pods on its own nodes. */
  readonly labels?: Readonly<Record<string, string>>;
  /** Published as annotation dilu.dev/memory-unit-mib (default 256). */
  readonly memoryUnitMiB?: number;
  readonly cpu?: string;
  readonly memory?: string;
  readonly pods?: string;
}

/** The node's capacity (and allocatable): ordinary resources plus one sm/mem pair per GPU. */
export function gpuNodeResources(spec: GpuNodeSpec): Record<string, string> {
  const resources: Record<string, string> = {
    cpu: spec.cpu ?? '32',
    memory: spec.memory ?? '256Gi',
    pods: spec.pods ?? '110',
    'nvidia.com/gpu': String(spec.gpus.length),
  };
  spec.gpus.forEach((gpu, i) => {
    const sm = gpu.sm ?? 100;
    if (!Number.isInteger(sm) || sm < 0 || sm > 100) {
      throw new Error(`node ${spec.name}: gpus[${i}].sm is ${sm}; allowed: an integer 0..100`);
    }
    if (!Number.isInteger(gpu.memoryUnits) || gpu.memoryUnits < 0) {
      throw new Error(
        `node ${spec.name}: gpus[${i}].memoryUnits is ${gpu.memoryUnits}; allowed: an integer >= 0`,
      );
    }
    resources[`dilu.dev/gpu${i}-sm`] = String(sm);
    resources[`dilu.dev/gpu${i}-mem`] = String(gpu.memoryUnits);
  });
  return resources;
}

export function gpuNodeManifest(spec: GpuNodeSpec, connection: TestbedConnection): V1Node {
  const resources = gpuNodeResources(spec);
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      name: spec.name,
      labels: {
        ...spec.labels,
        [connection.nodeLabel.key]: connection.nodeLabel.value,
        'kubernetes.io/hostname': spec.name,
        'kubernetes.io/os': 'linux',
        'kubernetes.io/arch': 'amd64',
      },
      annotations: {
        'kwok.x-k8s.io/node': 'fake',
        'dilu.dev/memory-unit-mib': String(spec.memoryUnitMiB ?? 256),
      },
    },
    status: { capacity: resources, allocatable: resources },
  };
}

function isReadyWith(node: V1Node, resources: Record<string, string>): boolean {
  const ready = node.status?.conditions?.some(c => c.type === 'Ready' && c.status === 'True');
  const allocatable = node.status?.allocatable ?? {};
  return (
    ready === true && Object.entries(resources).every(([name, qty]) => allocatable[name] === qty)
  );
}

/**
 * Creates the nodes and returns them once kwok reports them Ready with the requested
 * allocatable resources, so the scheduler can place pods on them right away.
 */
export async function createGpuNodes(
  kc: KubeConfig,
  connection: TestbedConnection,
  specs: readonly GpuNodeSpec[],
): Promise<V1Node[]> {
  const core = kc.makeApiClient(CoreV1Api);
  const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
  return Promise.all(
    specs.map(async spec => {
      const manifest = gpuNodeManifest(spec, connection);
      const resources = gpuNodeResources(spec);
      await core.createNode({ body: manifest });
      // Status sent with a create is not guaranteed to survive it; writing it through the
      // status subresource is what a kubelet (or the device plugin's registration) does.
      await core.patchNodeStatus(
        { name: spec.name, body: { status: { capacity: resources, allocatable: resources } } },
        mergePatch,
      );
      let node: V1Node | undefined;
      await waitFor(
        `node ${spec.name} Ready with its GPU resources`,
        async () => {
          node = await core.readNode({ name: spec.name });
          return isReadyWith(node, resources);
        },
        { timeoutMs: 30_000 },
      );
      if (node === undefined) throw new Error(`node ${spec.name} vanished`);
      return node;
    }),
  );
}

export async function deleteNodes(kc: KubeConfig, names: readonly string[]): Promise<void> {
  const core = kc.makeApiClient(CoreV1Api);
  await Promise.all(
    names.map(async name => {
      try {
        await core.deleteNode({ name });
      } catch (err) {
        if (statusCodeOf(err) !== 404) throw err;
      }
    }),
  );
}

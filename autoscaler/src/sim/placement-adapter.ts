import type { Cluster, GpuRef, PlacerKind, PlacerOptionsByKind } from '../placement/index.js';
import { createCluster, createPlacer, fragmentation } from '../placement/index.js';
import type { Placer, PlacerInstance } from './policy.js';
import type { Scenario } from './scenario.js';

/**
 * The simulator's view of the placement module (autoscaler/src/placement): the same cluster
 * model, placers and fragmentation metric the placement service uses, indexed by the
 * simulator's global GPU numbers (node x GPUs per node + GPU index).
 */
export interface PlacementBinding {
  readonly cluster: Cluster;
  readonly gpuOf: (ref: GpuRef) => number;
  readonly refOf: (gpu: number) => GpuRef;
}

/** A placement-module cluster with the scenario's nodes and GPUs. */
export function bindCluster(s: Scenario): PlacementBinding {
  const per = s.cluster.gpusPerNode;
  const nodeId = (n: number): string => `node-${n}`;
  const cluster = createCluster(
    Array.from({ length: s.cluster.nodes }, (_, n) => ({
      id: nodeId(n),
      gpus: Array.from({ length: per }, () => ({
        model: s.cluster.gpu.model,
        memoryMiB: s.cluster.gpu.memoryMiB,
      })),
    })),
  );
  const nodeIndex = new Map(cluster.nodes().map((n, i) => [n.id, i]));
  return {
    cluster,
    gpuOf: ref => (nodeIndex.get(ref.nodeId) ?? 0) * per + ref.gpuIndex,
    refOf: gpu => ({ nodeId: nodeId(Math.floor(gpu / per)), gpuIndex: gpu % per }),
  };
}

type Route = (x: PlacerInstance) => PlacerKind;

/**
 * A simulator Placer backed by placement-module placers over one cluster. `route` picks the
 * placer kind per instance (mps-static: equal slices, and whole GPUs for models too large for
 * a slice); instances a policy places itself are recorded on the cluster as they are.
 */
export function placementPlacer(
  s: Scenario,
  kinds: { readonly [P in PlacerKind]?: PlacerOptionsByKind[P] },
  route: Route,
): Placer {
  const b = bindCluster(s);
  const placers = new Map<PlacerKind, ReturnType<typeof createPlacer>>();
  for (const kind of Object.keys(kinds) as PlacerKind[]) {
    placers.set(kind, createPlacer(kind, { cluster: b.cluster }, kinds[kind]));
  }
  const names = s.functions.map(f => f.name);
  const request = (
    x: PlacerInstance,
  ): {
    id: string;
    functionId: string;
    class: PlacerInstance['class'];
    smRequest: number;
    smLimit: number;
    memoryMiB: number;
  } => ({
    id: String(x.id),
    functionId: names[x.fn] ?? String(x.fn),
    class: x.class,
    smRequest: x.smRequest,
    smLimit: x.smLimit,
    memoryMiB: x.memoryMiB,
  });
  return {
    place(x) {
      const kind = route(x);
      const placer = placers.get(kind);
      if (!placer) throw new Error(`no ${kind} placer configured`);
      const r = placer.place(request(x));
      return r.placed ? b.gpuOf(r.instance) : undefined;
    },
    record(x, gpu) {
      b.cluster.add({ ...request(x), exclusive: x.exclusive || undefined }, b.refOf(gpu));
    },
    remove(id) {
      if (b.cluster.hasInstance(String(id))) b.cluster.remove(String(id));
    },
    resize(id, smRequest) {
      if (b.cluster.hasInstance(String(id))) b.cluster.update(String(id), { smRequest });
    },
    fragmentation() {
      const f = fragmentation(b.cluster);
      return { sm: f.sm, mem: f.memory, activeGpus: f.activeGpus };
    },
  };
}

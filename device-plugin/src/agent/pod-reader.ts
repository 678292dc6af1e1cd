import { CoreV1Api } from '@kubernetes/client-node';
import type { KubeConfig, V1Pod } from '@kubernetes/client-node';

/** What the agent needs to know about the pod behind an allocation. */
export interface PodFacts {
  readonly uid: string;
  /** SM limit l of the container; `undefined` when the pod does not set one. */
  readonly smLimit: number | undefined;
}

export interface PodReader {
  /** `undefined` when the pod does not exist (any more). */
  read(namespace: string, name: string, container: string): Promise<PodFacts | undefined>;
}

/** The parts of a pod this package reads (a subset of V1Pod, so tests can build one easily). */
export interface PodLike {
  metadata?: { uid?: string; annotations?: Record<string, string> };
  spec?: { containers: { name: string; env?: { name: string; value?: string }[] }[] };
}

/**
 * The SM limit l of a container: its `CUDA_MPS_ACTIVE_THREAD_PERCENTAGE` (what MPS enforces),
 * else `smLimit` of the pod's `dilu.dev/decision` annotation. Values outside 1..100 are ignored.
 */
export function smLimitOf(pod: PodLike, container: string): number | undefined {
  const env = pod.spec?.containers.find(c => c.name === container)?.env ?? [];
  const fromEnv = env.find(e => e.name === 'CUDA_MPS_ACTIVE_THREAD_PERCENTAGE')?.value;
  const limit = percent(fromEnv === undefined ? undefined : Number(fromEnv));
  if (limit !== undefined) return limit;
  const decision = pod.metadata?.annotations?.['dilu.dev/decision'];
  if (decision === undefined) return undefined;
  try {
    const parsed = JSON.parse(decision) as { smLimit?: unknown };
    return percent(typeof parsed.smLimit === 'number' ? parsed.smLimit : undefined);
  } catch {
    return undefined;
  }
}

function percent(n: number | undefined): number | undefined {
  if (n === undefined || !Number.isFinite(n)) return undefined;
  const v = Math.floor(n);
  return v >= 1 && v <= 100 ? v : undefined;
}

/** Reads pods through the API server (RBAC: `get` on pods). */
export function createKubePodReader(kc: KubeConfig): PodReader {
  const core = kc.makeApiClient(CoreV1Api);
  return {
    async read(namespace, name, container) {
      let pod: V1Pod;
      try {
        pod = await core.readNamespacedPod({ namespace, name });
      } catch (err) {
        if ((err as { code?: number }).code === 404) return undefined;
        throw err;
      }
      return { uid: pod.metadata?.uid ?? '', smLimit: smLimitOf(pod, container) };
    },
  };
}

import type { PodResourcesEntry } from '../kubelet/api-types.js';
import { podResourcesClient, unary } from '../kubelet/grpc-defs.js';

/** The kubelet's record of which devices each running container holds. */
export interface PodResourcesLister {
  list(): Promise<PodResourcesEntry[]>;
  close(): void;
}

/** Client of the kubelet PodResources API v1 on its unix socket. */
export function createPodResourcesLister(
  socketPath: string,
  timeoutMs: number,
): PodResourcesLister {
  const client = podResourcesClient(socketPath);
  return {
    async list() {
      const res = await unary(client.List.bind(client), {}, timeoutMs);
      return res.pod_resources;
    },
    close: () => {
      client.close();
    },
  };
}

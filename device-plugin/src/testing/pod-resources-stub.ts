import * as grpc from '@grpc/grpc-js';
import type { ListPodResourcesResponse, PodResourcesEntry } from '../kubelet/api-types.js';
import { PodResourcesClient, unixTarget } from '../kubelet/grpc-defs.js';

/** The kubelet's PodResources v1 service on a real unix socket, answering with `pods`. */
export class PodResourcesStub {
  pods: PodResourcesEntry[] = [];
  calls = 0;
  readonly #server: grpc.Server;

  private constructor(server: grpc.Server) {
    this.#server = server;
  }

  static async start(socketPath: string): Promise<PodResourcesStub> {
    const server = new grpc.Server();
    const stub = new PodResourcesStub(server);
    const unimplemented = (_call: unknown, cb: grpc.sendUnaryData<object>): void => {
      cb({ code: grpc.status.UNIMPLEMENTED, details: 'not in the stub' });
    };
    server.addService(PodResourcesClient.service, {
      List: (
        _call: grpc.ServerUnaryCall<object, ListPodResourcesResponse>,
        cb: grpc.sendUnaryData<ListPodResourcesResponse>,
      ) => {
        stub.calls++;
        cb(null, { pod_resources: stub.pods });
      },
      GetAllocatableResources: unimplemented,
      Get: unimplemented,
    });
    await new Promise<void>((resolve, reject) => {
      server.bindAsync(unixTarget(socketPath), grpc.ServerCredentials.createInsecure(), err => {
        if (err === null) resolve();
        else reject(err);
      });
    });
    return stub;
  }

  stop(): void {
    this.#server.forceShutdown();
  }
}

/** A PodResources entry for one container holding SM and memory devices of one GPU. */
export function podHolding(p: {
  namespace: string;
  name: string;
  container: string;
  gpuIndex: number;
  smIds: string[];
  memIds: string[];
}): PodResourcesEntry {
  const { namespace, name, container, gpuIndex, smIds, memIds } = p;
  return {
    namespace,
    name,
    containers: [
      {
        name: container,
        devices: [
          { resource_name: `dilu.dev/gpu${gpuIndex}-sm`, device_ids: smIds, topology: null },
          { resource_name: `dilu.dev/gpu${gpuIndex}-mem`, device_ids: memIds, topology: null },
          { resource_name: 'nvidia.com/gpu', device_ids: ['GPU-other'], topology: null },
        ],
      },
    ],
  };
}

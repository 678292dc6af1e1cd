import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import type {
  AllocateResponse,
  Device,
  DevicePluginOptions,
  ListAndWatchResponse,
  PreferredAllocationResponse,
  RegisterRequest,
} from '../kubelet/api-types.js';
import { API_VERSION } from '../kubelet/api-types.js';
import { RegistrationClient, devicePluginClient, unary, unixTarget } from '../kubelet/grpc-defs.js';
import type { DevicePluginStub } from '../kubelet/grpc-defs.js';
import { waitFor } from './wait.js';

interface Endpoint {
  readonly client: DevicePluginStub;
  readonly options: DevicePluginOptions;
  latest: Device[] | undefined;
  updates: number;
  stream: grpc.ClientReadableStream<ListAndWatchResponse>;
}

/**
 * The kubelet's side of the device plugin API, for tests: serves `Registration` on a real
 * kubelet.sock and, like the kubelet's device manager, validates the request, dials the
 * plugin's socket back, reads its options and keeps a ListAndWatch stream open per resource.
 */
export class KubeletStub {
  readonly dir: string;
  readonly registrations: RegisterRequest[] = [];
  readonly #endpoints = new Map<string, Endpoint>();
  #server: grpc.Server | undefined;

  private constructor(dir: string) {
    this.dir = dir;
  }

  static async start(dir: string): Promise<KubeletStub> {
    const stub = new KubeletStub(dir);
    await stub.#serve();
    return stub;
  }

  /** What a kubelet restart does: stop, delete every socket in the directory, start again. */
  static async restart(old: KubeletStub): Promise<KubeletStub> {
    await old.stop();
    for (const f of await readdir(old.dir))
      if (f.endsWith('.sock')) await rm(join(old.dir, f), { force: true });
    return KubeletStub.start(old.dir);
  }

  async #serve(): Promise<void> {
    const server = new grpc.Server();
    server.addService(RegistrationClient.service, {
      Register: (
        call: grpc.ServerUnaryCall<RegisterRequest, object>,
        cb: grpc.sendUnaryData<object>,
      ) => {
        const r = call.request;
        const problem = validate(r);
        if (problem !== undefined) {
          cb({ code: grpc.status.INVALID_ARGUMENT, details: problem });
          return;
        }
        this.registrations.push(r);
        cb(null, {});
        void this.#connect(r).catch(() => undefined);
      },
    });
    const path = join(this.dir, 'kubelet.sock');
    await new Promise<void>((resolve, reject) => {
      server.bindAsync(unixTarget(path), grpc.ServerCredentials.createInsecure(), err => {
        if (err === null) resolve();
        else reject(err);
      });
    });
    this.#server = server;
  }

  async #connect(r: RegisterRequest): Promise<void> {
    this.#endpoints.get(r.resource_name)?.client.close();
    const client = devicePluginClient(join(this.dir, r.endpoint));
    const options = await unary(client.GetDevicePluginOptions.bind(client), {}, 10_000);
    const stream = client.ListAndWatch({});
    const ep: Endpoint = { client, options, latest: undefined, updates: 0, stream };
    stream.on('data', (res: ListAndWatchResponse) => {
      ep.latest = res.devices;
      ep.updates++;
    });
    stream.on('error', () => undefined);
    this.#endpoints.set(r.resource_name, ep);
  }

  #endpoint(resource: string): Endpoint {
    const ep = this.#endpoints.get(resource);
    if (ep === undefined) throw new Error(`${resource} is not registered`);
    return ep;
  }

  resources(): string[] {
    return [...this.#endpoints.keys()].sort();
  }

  devices(resource: string): Device[] | undefined {
    return this.#endpoints.get(resource)?.latest;
  }

  updates(resource: string): number {
    return this.#endpoints.get(resource)?.updates ?? 0;
  }

  options(resource: string): DevicePluginOptions {
    return this.#endpoint(resource).options;
  }

  async waitForDevices(
    resource: string,
    check: (devices: Device[]) => boolean,
    timeoutMs = 5000,
  ): Promise<Device[]> {
    await waitFor(
      `devices of ${resource}`,
      () => {
        const d = this.devices(resource);
        return d !== undefined && check(d);
      },
      timeoutMs,
    );
    return this.devices(resource) ?? [];
  }

  /** Calls GetDevicePluginOptions now (the cheapest round trip; a baseline for timings). */
  fetchOptions(resource: string): Promise<DevicePluginOptions> {
    const { client } = this.#endpoint(resource);
    return unary(client.GetDevicePluginOptions.bind(client), {}, 5000);
  }

  allocate(resource: string, deviceIds: string[][]): Promise<AllocateResponse> {
    const { client } = this.#endpoint(resource);
    return unary(
      client.Allocate.bind(client),
      { container_requests: deviceIds.map(ids => ({ devices_ids: ids })) },
      5000,
    );
  }

  preferred(
    resource: string,
    available: string[],
    mustInclude: string[],
    size: number,
  ): Promise<PreferredAllocationResponse> {
    const { client } = this.#endpoint(resource);
    return unary(
      client.GetPreferredAllocation.bind(client),
      {
        container_requests: [
          {
            available_deviceIDs: available,
            must_include_deviceIDs: mustInclude,
            allocation_size: size,
          },
        ],
      },
      5000,
    );
  }

  async stop(): Promise<void> {
    for (const ep of this.#endpoints.values()) {
      ep.stream.cancel();
      ep.client.close();
    }
    this.#endpoints.clear();
    this.#server?.forceShutdown();
    this.#server = undefined;
    await rm(join(this.dir, 'kubelet.sock'), { force: true });
  }
}

// The checks the kubelet's device manager makes before accepting a registration.
function validate(r: RegisterRequest): string | undefined {
  if (r.version !== API_VERSION) return `unsupported API version ${r.version}`;
  if (
    !/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?\/[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/.test(
      r.resource_name,
    )
  ) {
    return `${r.resource_name} is not an extended resource name`;
  }
  if (r.resource_name.startsWith('kubernetes.io/'))
    return `${r.resource_name} uses a reserved domain`;
  if (r.endpoint.includes('/')) return `endpoint ${r.endpoint} must be a file name`;
  return undefined;
}

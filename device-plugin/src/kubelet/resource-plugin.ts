import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import type { Logger } from 'pino';
import type { DevicePluginMetrics } from '../metrics/metrics.js';
import type { GpuMonitor } from '../node/gpu-monitor.js';
import { AllocateError } from './allocator.js';
import type { Allocator } from './allocator.js';
import type {
  AllocateRequest,
  AllocateResponse,
  Device,
  DevicePluginOptions,
  ListAndWatchResponse,
  PreferredAllocationRequest,
  PreferredAllocationResponse,
  RegisterRequest,
} from './api-types.js';
import { API_VERSION, HEALTHY, UNHEALTHY } from './api-types.js';
import {
  DevicePluginClient,
  devicePluginClient,
  registrationClient,
  unixTarget,
} from './grpc-defs.js';
import { preferredDevices } from './preferred-allocation.js';
import type { ResourceSpec } from './resources.js';

export const PLUGIN_OPTIONS: DevicePluginOptions = {
  pre_start_required: false,
  get_preferred_allocation_available: true,
};

export interface ResourcePluginDeps {
  readonly resource: ResourceSpec;
  /** The kubelet's device plugin directory (holds kubelet.sock and the plugins' sockets). */
  readonly dir: string;
  readonly monitor: GpuMonitor;
  readonly allocator: Allocator;
  readonly metrics: DevicePluginMetrics;
  readonly log: Logger;
  readonly dialTimeoutMs: number;
}

/** One extended resource served to the kubelet: its own gRPC server on its own socket. */
export interface ResourcePlugin {
  readonly resource: ResourceSpec;
  readonly socketPath: string;
  /** Removes a stale socket, serves, checks its own socket answers. */
  serve(): Promise<void>;
  /** Registers with the kubelet on kubelet.sock. */
  register(): Promise<void>;
  /** Pushes the current device list to every ListAndWatch stream. */
  notify(): void;
  stop(): Promise<void>;
  devices(): Device[];
}

export function createResourcePlugin(deps: ResourcePluginDeps): ResourcePlugin {
  const { resource, monitor, metrics } = deps;
  const log = deps.log.child({ resource: resource.name });
  const socketPath = join(deps.dir, resource.socketName);
  const streams = new Set<grpc.ServerWritableStream<unknown, ListAndWatchResponse>>();
  let server: grpc.Server | undefined;

  function devices(): Device[] {
    const gpu = monitor.get(resource.gpuIndex);
    const health = gpu?.healthy === true ? HEALTHY : UNHEALTHY;
    const topology = gpu?.numaNode === undefined ? null : { nodes: [{ ID: gpu.numaNode }] };
    return resource.deviceIds.map(ID => ({ ID, health, topology }));
  }

  function timed<Req, Res>(
    method: string,
    fn: (req: Req) => Res | Promise<Res>,
  ): grpc.handleUnaryCall<Req, Res> {
    return (call, callback) => {
      const done = metrics.grpcCall(method);
      Promise.resolve()
        .then(() => fn(call.request))
        .then(
          res => {
            done('OK');
            callback(null, res);
          },
          (err: unknown) => {
            const code =
              err instanceof AllocateError
                ? err.code === 'invalid'
                  ? grpc.status.INVALID_ARGUMENT
                  : grpc.status.FAILED_PRECONDITION
                : grpc.status.INTERNAL;
            done(grpc.status[code]);
            log.warn({ method, err: (err as Error).message }, 'gRPC call failed');
            callback({ code, details: (err as Error).message });
          },
        );
    };
  }

  const handlers: grpc.UntypedServiceImplementation = {
    GetDevicePluginOptions: timed('GetDevicePluginOptions', () => PLUGIN_OPTIONS),
    ListAndWatch: (call: grpc.ServerWritableStream<unknown, ListAndWatchResponse>) => {
      streams.add(call);
      const forget = (): void => {
        streams.delete(call);
      };
      call.on('cancelled', forget);
      call.on('close', forget);
      call.on('error', forget);
      call.write({ devices: devices() });
      log.info({ devices: resource.deviceIds.length }, 'kubelet is watching');
    },
    GetPreferredAllocation: timed(
      'GetPreferredAllocation',
      (req: PreferredAllocationRequest): PreferredAllocationResponse => ({
        container_responses: req.container_requests.map(r => ({ deviceIDs: preferredDevices(r) })),
      }),
    ),
    Allocate: timed('Allocate', async (req: AllocateRequest): Promise<AllocateResponse> => ({
      container_responses: await Promise.all(
        req.container_requests.map(r => deps.allocator.allocate(resource, r.devices_ids)),
      ),
    })),
    // Never called: pre_start_required is false. Served so that a kubelet that calls it
    // anyway gets an empty answer rather than UNIMPLEMENTED.
    PreStartContainer: timed('PreStartContainer', () => ({})),
  };

  async function serve(): Promise<void> {
    await rm(socketPath, { force: true });
    const s = new grpc.Server();
    s.addService(DevicePluginClient.service, handlers);
    await new Promise<void>((resolve, reject) => {
      s.bindAsync(unixTarget(socketPath), grpc.ServerCredentials.createInsecure(), err => {
        if (err === null) resolve();
        else reject(new Error(`cannot serve ${socketPath}: ${err.message}`, { cause: err }));
      });
    });
    server = s;
    // Dial our own socket before registering: the kubelet dials back at once, and a plugin
    // that registers before it serves gets dropped.
    const self = devicePluginClient(socketPath);
    try {
      await new Promise<void>((resolve, reject) => {
        self.waitForReady(Date.now() + deps.dialTimeoutMs, err => {
          if (err === undefined) resolve();
          else
            reject(
              new Error(`own socket ${socketPath} does not answer: ${err.message}`, { cause: err }),
            );
        });
      });
    } finally {
      self.close();
    }
  }

  async function register(): Promise<void> {
    const kubelet = registrationClient(join(deps.dir, 'kubelet.sock'));
    const request: RegisterRequest = {
      version: API_VERSION,
      endpoint: resource.socketName,
      resource_name: resource.name,
      options: PLUGIN_OPTIONS,
    };
    try {
      await new Promise<void>((resolve, reject) => {
        kubelet.Register(request, { deadline: Date.now() + deps.dialTimeoutMs }, err => {
          if (err === null) resolve();
          else
            reject(
              new Error(`kubelet refused ${resource.name}: ${err.details || err.message}`, {
                cause: err,
              }),
            );
        });
      });
      metrics.registration(resource.name, true);
      log.info('registered with the kubelet');
    } catch (err) {
      metrics.registration(resource.name, false);
      throw err;
    } finally {
      kubelet.close();
    }
  }

  return {
    resource,
    socketPath,
    serve,
    register,
    devices,
    notify() {
      const list = { devices: devices() };
      for (const s of streams) s.write(list);
    },
    async stop() {
      for (const s of streams) s.end();
      streams.clear();
      server?.forceShutdown();
      server = undefined;
      await rm(socketPath, { force: true });
    },
  };
}

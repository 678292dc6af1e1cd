import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import type {
  AllocateRequest,
  AllocateResponse,
  DevicePluginOptions,
  ListAndWatchResponse,
  ListPodResourcesResponse,
  PreferredAllocationRequest,
  PreferredAllocationResponse,
  PreStartContainerRequest,
  RegisterRequest,
} from './api-types.js';

const PROTO_DIR = fileURLToPath(new URL('../../proto/', import.meta.url));

// keepCase: JS objects use the proto's own field names (ID, devices_ids, deviceIDs);
// longs: Number for NUMANode.ID; defaults: absent scalars read as their zero values.
const LOADER_OPTIONS: protoLoader.Options = {
  keepCase: true,
  longs: Number,
  enums: String,
  defaults: true,
  oneofs: true,
};

function load(file: string): grpc.GrpcObject {
  return grpc.loadPackageDefinition(protoLoader.loadSync(`${PROTO_DIR}${file}`, LOADER_OPTIONS));
}

function service(pkg: grpc.GrpcObject, name: string): grpc.ServiceClientConstructor {
  const ctor = pkg[name];
  if (typeof ctor !== 'function' || !('service' in ctor)) {
    throw new Error(`proto service ${name} not found`);
  }
  return ctor;
}

const devicePluginPkg = load('deviceplugin/v1beta1/api.proto').v1beta1 as grpc.GrpcObject;
const podResourcesPkg = load('podresources/v1/api.proto').v1 as grpc.GrpcObject;

/** `v1beta1.DevicePlugin`: served by each plugin, called by the kubelet. */
export const DevicePluginClient = service(devicePluginPkg, 'DevicePlugin');
/** `v1beta1.Registration`: served by the kubelet on kubelet.sock. */
export const RegistrationClient = service(devicePluginPkg, 'Registration');
/** `v1.PodResourcesLister`: served by the kubelet on pod-resources/kubelet.sock. */
export const PodResourcesClient = service(podResourcesPkg, 'PodResourcesLister');

/** `unix:` target for a socket path (grpc-js resolves unix targets natively). */
export function unixTarget(path: string): string {
  return `unix://${path}`;
}

type Callback<T> = (err: grpc.ServiceError | null, res?: T) => void;

/** Typed views of the dynamic clients proto-loader builds. */
export interface RegistrationStub extends grpc.Client {
  Register(
    req: RegisterRequest,
    options: grpc.CallOptions,
    cb: Callback<object>,
  ): grpc.ClientUnaryCall;
}

export interface DevicePluginStub extends grpc.Client {
  GetDevicePluginOptions(
    req: object,
    options: grpc.CallOptions,
    cb: Callback<DevicePluginOptions>,
  ): grpc.ClientUnaryCall;
  ListAndWatch(req: object): grpc.ClientReadableStream<ListAndWatchResponse>;
  GetPreferredAllocation(
    req: PreferredAllocationRequest,
    options: grpc.CallOptions,
    cb: Callback<PreferredAllocationResponse>,
  ): grpc.ClientUnaryCall;
  Allocate(
    req: AllocateRequest,
    options: grpc.CallOptions,
    cb: Callback<AllocateResponse>,
  ): grpc.ClientUnaryCall;
  PreStartContainer(
    req: PreStartContainerRequest,
    options: grpc.CallOptions,
    cb: Callback<object>,
  ): grpc.ClientUnaryCall;
}

export interface PodResourcesStub extends grpc.Client {
  List(
    req: object,
    options: grpc.CallOptions,
    cb: Callback<ListPodResourcesResponse>,
  ): grpc.ClientUnaryCall;
}

/** Promise form of a unary call on a dynamic client. */
export function unary<Req, Res>(
  call: (req: Req, options: grpc.CallOptions, cb: Callback<Res>) => grpc.ClientUnaryCall,
  req: Req,
  timeoutMs: number,
): Promise<Res> {
  return new Promise((resolve, reject) => {
    call(req, { deadline: Date.now() + timeoutMs }, (err, res) => {
      if (err !== null) reject(err);
      else if (res === undefined) reject(new Error('empty gRPC answer'));
      else resolve(res);
    });
  });
}

const insecure = (): grpc.ChannelCredentials => grpc.credentials.createInsecure();

export function registrationClient(socketPath: string): RegistrationStub {
  return new RegistrationClient(unixTarget(socketPath), insecure()) as unknown as RegistrationStub;
}

export function devicePluginClient(socketPath: string): DevicePluginStub {
  return new DevicePluginClient(unixTarget(socketPath), insecure()) as unknown as DevicePluginStub;
}

export function podResourcesClient(socketPath: string): PodResourcesStub {
  return new PodResourcesClient(unixTarget(socketPath), insecure()) as unknown as PodResourcesStub;
}

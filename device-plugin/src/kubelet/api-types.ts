// Message shapes of the kubelet APIs as @grpc/proto-loader delivers them (keepCase, longs as
// numbers, defaults filled in). Field names match the .proto files in ../../proto.

export const HEALTHY = 'Healthy';
export const UNHEALTHY = 'Unhealthy';
export const API_VERSION = 'v1beta1';

export interface DevicePluginOptions {
  pre_start_required: boolean;
  get_preferred_allocation_available: boolean;
}

export interface RegisterRequest {
  version: string;
  endpoint: string;
  resource_name: string;
  options: DevicePluginOptions;
}

export interface NumaNode {
  ID: number;
}

export interface Device {
  ID: string;
  health: string;
  topology?: { nodes: NumaNode[] } | null;
}

export interface ListAndWatchResponse {
  devices: Device[];
}

export interface ContainerPreferredAllocationRequest {
  available_deviceIDs: string[];
  must_include_deviceIDs: string[];
  allocation_size: number;
}

export interface PreferredAllocationRequest {
  container_requests: ContainerPreferredAllocationRequest[];
}

export interface PreferredAllocationResponse {
  container_responses: { deviceIDs: string[] }[];
}

export interface AllocateRequest {
  container_requests: { devices_ids: string[] }[];
}

export interface Mount {
  container_path: string;
  host_path: string;
  read_only: boolean;
}

export interface DeviceSpec {
  container_path: string;
  host_path: string;
  permissions: string;
}

export interface ContainerAllocateResponse {
  envs: Record<string, string>;
  mounts: Mount[];
  devices: DeviceSpec[];
  annotations: Record<string, string>;
  cdi_devices: { name: string }[];
}

export interface AllocateResponse {
  container_responses: ContainerAllocateResponse[];
}

export interface PreStartContainerRequest {
  devices_ids: string[];
}

// PodResources v1

export interface ContainerDevices {
  resource_name: string;
  device_ids: string[];
  topology?: { nodes: NumaNode[] } | null;
}

export interface PodResourcesEntry {
  name: string;
  namespace: string;
  containers: { name: string; devices: ContainerDevices[]; cpu_ids?: number[] }[];
}

export interface ListPodResourcesResponse {
  pod_resources: PodResourcesEntry[];
}

// Public surface of @dilu/device-plugin: the application factory and the pieces other packages
// and the test bed use (resource naming, allocation ids, the quota file format, the stubs).
export { createDevicePluginApp } from './app/device-plugin-app.js';
export type { DevicePluginApp, DevicePluginAppDeps } from './app/device-plugin-app.js';
export { configSchema, loadConfig, ConfigError } from './config/config.js';
export type { Config } from './config/config.js';
export {
  RESOURCE_DOMAIN,
  SM_DEVICES_PER_GPU,
  memDeviceId,
  memoryUnits,
  parseDeviceId,
  parseResourceName,
  resourceName,
  resourcesForGpu,
  smDeviceId,
} from './kubelet/resources.js';
export { CONTAINER_PATHS } from './kubelet/allocator.js';
export { allocationIdFor, isAllocationId } from './quota/allocation-id.js';
export {
  QUOTA_FILE_NAME,
  quotaFileSchema,
  readQuotaFile,
  writeQuotaFile,
} from './quota/quota-file.js';
export type { QuotaFile, PodRef } from './quota/quota-file.js';
export { MEMORY_UNIT_ANNOTATION } from './app/node-annotations.js';
export { KubeletStub } from './testing/kubelet-stub.js';
export { PodResourcesStub } from './testing/pod-resources-stub.js';
export { DevicePluginMetrics } from './metrics/metrics.js';

export { PlacementError } from './placement-error.js';
export { GPU_SM_PERCENT, INSTANCE_CLASSES } from './types.js';
export type {
  GpuRef,
  GpuSpec,
  InstanceChange,
  InstanceClass,
  InstanceRequest,
  InstanceSpec,
  NodeSpec,
} from './types.js';
export { validateInstanceRequest, validateNodeSpec } from './validate.js';
export { CAPACITY_EPSILON, createCluster } from './cluster.js';
export type { Cluster, ClusterSummary, GpuView, NodeView, PlacedInstance } from './cluster.js';
export { createActiveGpuCounter, fragmentation, fragmentationByScan } from './fragmentation.js';
export type { ActiveGpuCounter, ActiveGpuStats, Fragmentation } from './fragmentation.js';
export { createRng, shuffleInPlace } from './rng.js';

export { createPlacementService } from './service.js';
export type {
  Placement,
  PlacementRequest,
  PlacementService,
  PlacementServiceDeps,
  PlaceOutcome,
  ServiceEvents,
} from './service.js';
export { createPlacementApp } from './app.js';
export type { PlacementAppDeps } from './app.js';
export { PlacementServiceMetrics } from './metrics.js';
export { startPlacementService, watchPlacementCluster } from './server.js';
export type {
  PlacementCluster,
  PlacementClusterOptions,
  PlacementServerOptions,
  RunningPlacementServer,
} from './server.js';
export { DEFAULT_MEMORY_UNIT_MIB, MEMORY_UNIT_ANNOTATION, nodeCapacity } from './node-capacity.js';
export type { NodeCapacity } from './node-capacity.js';
export { readPod } from './pod-placement.js';
export type { NodeObject, PodObject } from './kube-objects.js';

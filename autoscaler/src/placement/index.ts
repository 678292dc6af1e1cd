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
export { BEST_FIT_WEIGHTS, DILU_WEIGHTS, diluScore, diluScoreParts } from './score.js';
export type { DiluScoreParts, DiluWeights, GpuLoad, ScoredShape } from './score.js';
export { PLACER_KINDS, REJECT_REASONS, createPlacer } from './placer.js';
export type {
  BestFitPlacerOptions,
  ChooseResult,
  DiluPlacerOptions,
  EqualSlicePlacerOptions,
  HasGpuPlacerOptions,
  NoGpuFits,
  PlaceRequest,
  PlaceResult,
  Placer,
  PlacerDeps,
  PlacerKind,
  PlacerOptionsByKind,
  RejectReason,
  ResizeResult,
} from './placer.js';
export { createReservationBook } from './reservations.js';
export type {
  Reservation,
  ReservationBook,
  ReservationBookDeps,
  ReserveResult,
} from './reservations.js';
export { createActiveGpuCounter, fragmentation, fragmentationByScan } from './fragmentation.js';
export type { ActiveGpuCounter, ActiveGpuStats, Fragmentation } from './fragmentation.js';
export {
  FRAGMENT_CASES,
  GPU_MILLI,
  createFgdMeasure,
  targetWorkload,
  validateFgdNode,
  validateFgdTask,
  validateWorkload,
} from './fgd.js';
export type {
  ClusterFragment,
  FgdMeasure,
  FgdNode,
  FgdTask,
  FragmentCase,
  NodeFragment,
  TargetWorkloadOptions,
  WeightedTask,
} from './fgd.js';
export { fgdNodesFromCluster, fgdTaskFromRequest } from './fgd-cluster.js';
export { openbTask, parseOpenbNodes, parseOpenbPods } from './openb-trace.js';
export type { OpenbNode, OpenbPod } from './openb-trace.js';
export { REPLAY_POLICIES, replayOpenb } from './openb-replay.js';
export type { ReplayOptions, ReplayPoint, ReplayPolicy, ReplayResult } from './openb-replay.js';
export { createRng, shuffleInPlace } from './rng.js';

export { PolicyInputError } from './policy-error.js';
export { DEFAULT_KNOBS, policyKnobsSchema, resolveKnobs } from './knobs.js';
export type { PolicyKnobOverrides, PolicyKnobs } from './knobs.js';
export { FUNCTION_CLASSES, functionSpecSchema, parseFunctionSpec, scaleBounds } from './spec.js';
export type {
  FixedInstanceValues,
  FunctionClass,
  FunctionSpec,
  FunctionSpecInput,
} from './spec.js';
export { describeInstance, sizeInstance } from './sizing.js';
export type { InstanceSizing, SizingRequest } from './sizing.js';
export { createInstanceSizer, loadBucket, roundedFactor } from './sizer.js';
export type { InstanceConfigKey, InstanceSizer, SizingHandle } from './sizer.js';
export {
  PEAK_WAIT_FACTOR,
  createLatencyModel,
  quotaForLoad,
  replicasForLoad,
  replicasForPeak,
} from './latency-model.js';
export type { FleetConfig, FleetLoad, LatencyModel } from './latency-model.js';
export {
  EMPTY_LOAD_ESTIMATE,
  advanceLoadEstimate,
  forecastLoad,
  predictedLoad,
  sustainedLoad,
} from './load-estimator.js';
export type { LoadEstimate } from './load-estimator.js';
export {
  idleFloorQuota,
  latencyFloorQuota,
  loadedQuota,
  requestLatencyBoundMs,
  steadyWaitFactor,
  stepsPerRequest,
} from './latency-bound.js';
export { createPolicyState } from './state.js';
export { createCoScalingPolicy } from './decide.js';
export type { CoScalingPolicy, CoScalingPolicyDeps } from './decide.js';
export { REASON_CODES } from './types.js';
export type {
  Decision,
  DecisionFigures,
  DecisionInput,
  ExecutionObservation,
  InstanceView,
  LoadObservation,
  PolicyState,
  QuotaChange,
  Reason,
  ReasonCode,
} from './types.js';

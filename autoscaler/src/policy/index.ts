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
export {
  createInstanceSizer,
  describeInstance,
  loadBucket,
  roundedFactor,
  sizeInstance,
} from './sizing.js';
export type {
  InstanceConfigKey,
  InstanceSizer,
  InstanceSizing,
  SizingHandle,
  SizingRequest,
} from './sizing.js';
export {
  EMPTY_LOAD_ESTIMATE,
  advanceLoadEstimate,
  forecastLoad,
  predictedLoad,
} from './load-estimator.js';
export type { LoadEstimate } from './load-estimator.js';
export { latencyFloorQuota, requestLatencyBoundMs, stepsPerRequest } from './latency-bound.js';
export { createPolicyState } from './state.js';
export { createCoScalingPolicy } from './decide.js';
export type { CoScalingPolicy, CoScalingPolicyDeps } from './decide.js';
export { REASON_CODES } from './types.js';
export type {
  Decision,
  DecisionFigures,
  DecisionInput,
  InstanceView,
  LoadObservation,
  PolicyState,
  QuotaChange,
  Reason,
  ReasonCode,
} from './types.js';

export type { FunctionProfile, ProfilePoint } from './profile.js';
export { SM_PERCENT_MAX, SM_PERCENT_MIN } from './profile.js';
export { ProfileError } from './profile-error.js';
export { validatePoints } from './validate-points.js';
export { parseProfileCsv } from './csv-profile.js';
export {
  FUNCTION_PROFILE_API_VERSION,
  FUNCTION_PROFILE_KIND,
  dumpFunctionProfileYaml,
  functionProfileFromObject,
  functionProfileSchema,
  parseFunctionProfileYaml,
  toFunctionProfileResource,
} from './function-profile.js';
export type { FunctionProfileResource, ProfileRecommendation } from './function-profile.js';
export { loadProfile, loadProfiles, parseProfile } from './load-profile.js';
export { createPredictor } from './predictor.js';
export type { Prediction, Predictor, PredictorOptions } from './predictor.js';
export { leaveOneOutErrors, leaveOneOutReport } from './leave-one-out.js';
export type { LeaveOneOutError, LeaveOneOutReport } from './leave-one-out.js';
export { correctedPredictor, createLatencyCorrection } from './online-correction.js';
export type { LatencyCorrection, LatencyCorrectionOptions } from './online-correction.js';
export {
  batchBusyMs,
  dutyCycledWallMs,
  instanceCapacityRps,
  throttledBatchLatencyMs,
  unthrottledBatchLatencyMs,
} from './instance-performance.js';
export type { InstanceConfig } from './instance-performance.js';

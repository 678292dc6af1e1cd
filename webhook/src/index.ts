export { createApp, MUTATE_PATH } from './admission/app.js';
export type { AppDeps } from './admission/app.js';
export { createAdmitPod } from './admission/admit-pod.js';
export type { AdmitDeps, AdmitPod, AdmitResult } from './admission/admit-pod.js';
export { startHttpsServer } from './admission/https-server.js';
export type { HttpsServerOptions, RunningServer } from './admission/https-server.js';
export { parseAdmissionReview, ADMISSION_API_VERSION } from './admission/review.js';
export type { AdmissionRequest, AdmissionResponse } from './admission/review.js';
export { configSchema, loadConfig, ConfigError } from './config.js';
export type { WebhookConfig } from './config.js';
export { decide } from './decision/decide.js';
export type { Decision, DecisionDefaults, DecisionSource } from './decision/decide.js';
export { createPolicySizing } from './decision/sizing.js';
export type {
  FixedValues,
  InstanceSize,
  SizeInstance,
  SizingRequest,
  SizingResult,
} from './decision/sizing.js';
export {
  INSTANCE_DECISION_ANNOTATION,
  createInstanceDecisionStore,
  noInstanceDecisions,
  parseInstanceDecision,
} from './instance-decisions/instance-decision.js';
export type {
  InstanceDecision,
  InstanceDecisionSource,
} from './instance-decisions/instance-decision.js';
export { WebhookMetrics } from './metrics.js';
export { createPlacementClient } from './placement/placement-client.js';
export type {
  Placement,
  PlacementClient,
  PlacementOutcome,
  PlacementRequest,
} from './placement/placement-client.js';
export { createProfileStore } from './profiles/profile-store.js';
export type { ProfileEntry, ProfileSource, ProfileStore } from './profiles/profile-store.js';
export { readProfileDirectory, watchProfileDirectory } from './profiles/directory-profiles.js';
export { ensureWebhookCertificates, serviceDnsNames } from './certs/ensure-certs.js';
export type { CertKubeClient, EnsureCertsResult } from './certs/ensure-certs.js';
export { createCertificateAuthority, createServingCertificate } from './certs/generate.js';
export { serve, startWebhook } from './serve.js';

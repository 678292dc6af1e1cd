export { createAutoscaler } from './autoscaler.js';
export type { Autoscaler, AutoscalerDeps } from './autoscaler.js';
export { AutoscalerMetrics } from './core/autoscaler-metrics.js';
export { ConfigError, controllerConfigSchema, parseControllerConfig } from './core/config.js';
export type { ControllerConfig, ControllerConfigInput } from './core/config.js';
export { readConfigFile } from './core/config-file.js';
export { INSTANCE_DECISION_ANNOTATION, POD_DELETION_COST } from './core/deployment-actuator.js';
export { createScrapeTargets } from './core/scrape-targets.js';
export type { ScrapeTargets } from './core/scrape-targets.js';
export { createTickEngine } from './core/tick-engine.js';
export type { TickEngine, TickEngineDeps, TickReport } from './core/tick-engine.js';
export { createDecisionStore, MODES } from './core/types.js';
export type {
  DecisionStore,
  FunctionSource,
  LoadSource,
  ManagedFunction,
  Mode,
  PredictorSource,
} from './core/types.js';
export { DILU_AUTOSCALER_CLASS, PA_API, SKS_API } from './knative/constants.js';
export { parseConfigAutoscaler } from './knative/config-autoscaler.js';
export { knativeFunction } from './knative/knative-functions.js';
export { createLeaseElector } from './leader/lease-elector.js';
export type { LeaseElector } from './leader/lease-elector.js';
export { createKubeLeaseStore } from './leader/lease-store.js';
export type { LeaseRecord, LeaseStore } from './leader/lease-store.js';
export { decodeStat, encodeStat } from './metrics-in/queue-proxy-stat.js';
export type { QueueProxyStat } from './metrics-in/queue-proxy-stat.js';
export {
  createNodeAgentClient,
  createNodeAgentDispatcher,
  NodeAgentError,
} from './nodeagent/node-agent-client.js';
export type { Allocation, NodeAgentClient } from './nodeagent/node-agent-client.js';
export { openfaasFunction } from './openfaas/openfaas-functions.js';

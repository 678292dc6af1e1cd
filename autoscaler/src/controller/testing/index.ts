// Emulators of what the autoscaler talks to, for tests and local runs: each is a real
// server on a loopback address implementing the documented interface.
export { startContractNodeAgent } from './contract-node-agent.js';
export type { ContractNodeAgent, QuotaWrite } from './contract-node-agent.js';
export { startEmulatedGateway } from './emulated-gateway.js';
export type { EmulatedGateway } from './emulated-gateway.js';
export { startEmulatedQueueProxy } from './emulated-queue-proxy.js';
export { startEmulatedRuntime } from './emulated-runtime.js';
export type { EmulatedRuntime } from './emulated-runtime.js';
export type { EmulatedQueueProxy } from './emulated-queue-proxy.js';
export { createInMemoryAgents } from './in-memory-agents.js';
export type { InMemoryAgents } from './in-memory-agents.js';
export { findPrometheus, startPrometheus } from './prometheus-server.js';
export type { PrometheusServer } from './prometheus-server.js';

import type { Logger } from 'pino';
import { createAdmitPod } from './admission/admit-pod.js';
import { createApp } from './admission/app.js';
import type { RunningServer } from './admission/https-server.js';
import { startHttpsServer } from './admission/https-server.js';
import type { WebhookConfig } from './config.js';
import { ConfigError } from './config.js';
import type { DecisionDefaults } from './decision/decide.js';
import type { SizeInstance } from './decision/sizing.js';
import { createPolicySizing } from './decision/sizing.js';
import type { InstanceDecisionSource } from './instance-decisions/instance-decision.js';
import {
  createInstanceDecisionStore,
  noInstanceDecisions,
} from './instance-decisions/instance-decision.js';
import { WebhookMetrics } from './metrics.js';
import type { PlacementClient } from './placement/placement-client.js';
import { createPlacementClient } from './placement/placement-client.js';
import type { PodRules } from './pod/validate-pod.js';
import { watchProfileDirectory } from './profiles/directory-profiles.js';
import type { ProfileSource } from './profiles/profile-store.js';
import { createProfileStore } from './profiles/profile-store.js';

export function defaultsOf(config: WebhookConfig): DecisionDefaults {
  return {
    smRequest: config.defaultSmRequest,
    smLimit: config.defaultSmLimit,
    memoryMiB: config.defaultMemoryMiB,
    batch: config.defaultBatch,
    limitFactor: config.limitFactor,
  };
}

export function rulesOf(config: WebhookConfig): PodRules {
  return {
    mpsHostDirs: config.mpsHostDirs,
    mpsContainerDirs: config.mpsContainerDirs,
    memoryUnitMiB: config.memoryUnitMiB,
  };
}

/** Everything the HTTPS server needs, already built; `serve` wires it, tests pass their own. */
export interface WebhookParts {
  readonly profiles: ProfileSource;
  readonly decisions: InstanceDecisionSource;
  readonly placement: PlacementClient;
  readonly sizing?: SizeInstance;
  readonly metrics?: WebhookMetrics;
}

/** Builds the app from config and parts and starts it on HTTPS. */
export async function startWebhook(
  config: WebhookConfig,
  parts: WebhookParts,
  log: Logger,
): Promise<RunningServer & { metrics: WebhookMetrics }> {
  const metrics = parts.metrics ?? new WebhookMetrics();
  const admit = createAdmitPod({
    profiles: parts.profiles,
    decisions: parts.decisions,
    placement: parts.placement,
    sizing: parts.sizing ?? createPolicySizing(),
    defaults: defaultsOf(config),
    rules: rulesOf(config),
    sidecars: new Set(config.sidecars),
    metrics,
    log,
  });
  const app = createApp({
    admit,
    metrics,
    log,
    bodyLimit: config.bodyLimit,
    admissionTimeoutMs: config.admissionTimeoutMs,
    notReady: () => [
      ...(parts.profiles.isReady() ? [] : ['FunctionProfile cache']),
      ...(parts.decisions.isReady() ? [] : ['instance decision cache']),
    ],
  });
  const running = await startHttpsServer({
    app,
    certFile: config.tlsCert,
    keyFile: config.tlsKey,
    port: config.port,
    host: config.host,
    log,
    metrics,
    pollMs: config.certPollMs,
  });
  return { ...running, metrics };
}

/**
 * `dilu-webhook serve`: profiles from `--profiles` or from the API server, instance decisions
 * from the API server when there is one, placement over HTTP. Returns a stop function.
 */
export async function serve(config: WebhookConfig, log: Logger): Promise<() => Promise<void>> {
  const metrics = new WebhookMetrics();
  const kc = await loadKubeConfig(config);
  if (!config.profiles && !kc) {
    throw new ConfigError(
      'no profile source: give --profiles <dir>, or run in a cluster or with --kubeconfig <file>',
    );
  }
  const stops: (() => Promise<void> | void)[] = [];
  const profiles = createProfileStore();
  if (config.profiles) {
    const w = watchProfileDirectory(config.profiles, profiles, log, n => {
      metrics.setProfileCount(n);
    });
    stops.push(() => {
      w.close();
    });
  }
  let decisions: InstanceDecisionSource = noInstanceDecisions;
  if (kc) {
    const { startInstanceDecisionInformers, startProfileInformer } =
      await import('./kube/informers.js');
    if (!config.profiles) {
      const inf = startProfileInformer(kc, profiles, log, metrics);
      stops.push(() => inf.stop());
    }
    const store = createInstanceDecisionStore();
    const inf = startInstanceDecisionInformers(kc, store, log, metrics);
    stops.push(() => inf.stop());
    decisions = store;
  }
  const placement = createPlacementClient({
    baseUrl: config.placementUrl,
    timeoutMs: config.placementTimeoutMs,
    onReleaseError: (reservation, err) => {
      log.warn({ reservation, err }, 'could not release placement reservation; it will expire');
    },
  });
  const running = await startWebhook(config, { profiles, decisions, placement, metrics }, log);
  return async () => {
    await running.close();
    await placement.close();
    for (const stop of stops) await stop();
  };
}

/** `--kubeconfig`, else the pod's service account when in a cluster, else none. */
async function loadKubeConfig(
  config: WebhookConfig,
): Promise<import('@kubernetes/client-node').KubeConfig | undefined> {
  const inCluster = Boolean(process.env.KUBERNETES_SERVICE_HOST);
  if (!config.kubeconfig && !inCluster) return undefined;
  const { KubeConfig } = await import('@kubernetes/client-node');
  const kc = new KubeConfig();
  if (config.kubeconfig) kc.loadFromFile(config.kubeconfig);
  else kc.loadFromCluster();
  return kc;
}

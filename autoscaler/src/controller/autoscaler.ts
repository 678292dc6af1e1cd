import { readFileSync } from 'node:fs';
import type { Server } from 'node:http';
import { hostname } from 'node:os';
import type { KubeConfig, KubernetesObject, V1Node } from '@kubernetes/client-node';
import { CoreV1Api, CustomObjectsApi } from '@kubernetes/client-node';
import type { Express } from 'express';
import type { Logger } from 'pino';
import type { CoScalingPolicy, InstanceSizer } from '../policy/index.js';
import { createCoScalingPolicy, createInstanceSizer } from '../policy/index.js';
import { AutoscalerMetrics } from './core/autoscaler-metrics.js';
import type { ControllerConfig } from './core/config.js';
import { createHttpApp } from './core/http-app.js';
import type { KeyedQueue } from './core/keyed-queue.js';
import { createKeyedQueue } from './core/keyed-queue.js';
import type { Platform } from './core/platform.js';
import { FUNCTION_PROFILE_API, createProfilePredictors } from './core/profile-predictors.js';
import type { ScrapeTargets } from './core/scrape-targets.js';
import { createScrapeTargets } from './core/scrape-targets.js';
import type { TickEngine } from './core/tick-engine.js';
import { createTickEngine } from './core/tick-engine.js';
import type { Ticker } from './core/ticker.js';
import { createTicker } from './core/ticker.js';
import type { DecisionStore } from './core/types.js';
import { createDecisionStore } from './core/types.js';
import { describeApiError } from './kube/api-error.js';
import type { ResilientInformer } from './kube/informer.js';
import { createResilientInformer } from './kube/informer.js';
import { createKubeWriter } from './kube/kube-writer.js';
import { createKnativeLoadSource } from './knative/knative-load.js';
import { createKnativePlatform } from './knative/knative-platform.js';
import type { LeaseElector } from './leader/lease-elector.js';
import { createLeaseElector } from './leader/lease-elector.js';
import { createKubeLeaseStore } from './leader/lease-store.js';
import { createActivatorScraper } from './metrics-in/activator.js';
import { createScrapeAgent } from './metrics-in/http-get.js';
import { createPrometheusClient } from './metrics-in/prometheus-client.js';
import { createQueueProxyScraper } from './metrics-in/queue-proxy-scraper.js';
import { createRuntimeLatencyScraper } from './metrics-in/runtime-latency.js';
import type { NodeAgentClient } from './nodeagent/node-agent-client.js';
import { createNodeAgentClient, createNodeAgentDispatcher } from './nodeagent/node-agent-client.js';
import type { AlertBook } from './openfaas/alert-book.js';
import { createAlertBook } from './openfaas/alert-book.js';
import { createOpenFaasLoadSource } from './openfaas/openfaas-load.js';
import { createOpenFaasPlatform } from './openfaas/openfaas-platform.js';
import type { PlacementCluster } from '../placement-service/index.js';
import { createPlacementApp, watchPlacementCluster } from '../placement-service/index.js';

export interface AutoscalerDeps {
  readonly kc: KubeConfig;
  readonly config: ControllerConfig;
  readonly log: Logger;
  readonly metrics?: AutoscalerMetrics;
  readonly now?: () => number;
  /** Overrides where pods and node agents are reached (default: from the config's ports). */
  readonly targets?: ScrapeTargets;
  /** Overrides the node agent client (default: HTTPS with the configured CA and token). */
  readonly agents?: NodeAgentClient;
  /** Extra routes on the HTTP server (the placement service). */
  readonly mount?: (app: Express) => void;
  /** Called when this replica loses the lease (the CLI exits so Kubernetes restarts it). */
  readonly onLostLeadership?: () => void;
}

export interface Autoscaler {
  readonly identity: string;
  readonly app: Express;
  readonly metrics: AutoscalerMetrics;
  readonly engine: TickEngine;
  readonly ticker: Ticker;
  readonly elector: LeaseElector;
  readonly platform: Platform;
  readonly decisions: DecisionStore;
  readonly alerts: AlertBook | undefined;
  /** Starts informers, the HTTP server (when `listen`) and leader election. */
  start(opts?: { readonly listen?: boolean }): Promise<void>;
  /** Stops everything; `release` hands the lease over at once (graceful shutdown). */
  stop(opts?: { readonly release?: boolean }): Promise<void>;
  isLeader(): boolean;
  /** The HTTP server's port once listening. */
  port(): number | undefined;
  ready(): boolean;
}

/** The node agent client of a cluster install: HTTPS with the agents' CA, bearer token. */
function defaultAgents(
  config: ControllerConfig,
  kc: KubeConfig,
  baseUrl: (node: string) => string | undefined,
): NodeAgentClient {
  const fromFile = readTokenFile(config.nodeAgentTokenFile);
  return createNodeAgentClient({
    baseUrl,
    token: () => fromFile() ?? kubeconfigToken(kc),
    timeoutMs: config.nodeAgentTimeoutMs,
    dispatcher: createNodeAgentDispatcher({
      ca:
        config.nodeAgentCaFile === undefined
          ? undefined
          : readFileSync(config.nodeAgentCaFile, 'utf8'),
      insecureSkipVerify: config.nodeAgentInsecureSkipVerify,
      serverName: config.nodeAgentServerName,
    }),
  });
}

function readTokenFile(file: string): () => string | undefined {
  let cached: { at: number; token: string | undefined } | undefined;
  return () => {
    // Projected service-account tokens rotate; re-read at most once a minute.
    if (cached !== undefined && Date.now() - cached.at < 60_000) return cached.token;
    let token: string | undefined;
    try {
      token = readFileSync(file, 'utf8').trim();
    } catch {
      token = undefined;
    }
    cached = { at: Date.now(), token };
    return token;
  };
}

function alertAuth(config: ControllerConfig): { user: string; password: string } | undefined {
  const { alertUser, alertPasswordFile } = config.openfaas;
  if (alertUser === undefined || alertPasswordFile === undefined) return undefined;
  return { user: alertUser, password: readFileSync(alertPasswordFile, 'utf8').trim() };
}

/** The token of the kubeconfig's user, for running outside a cluster. */
function kubeconfigToken(kc: KubeConfig): string | undefined {
  return kc.getCurrentUser()?.token;
}

/**
 * The autoscaler process: informers, the per-key reconcile queue, the tick loop, leader
 * election and the HTTP server, wired for one mode. Only the leader ticks and writes; a
 * standby keeps its caches warm and takes over from the cluster's state.
 */
export function createAutoscaler(deps: AutoscalerDeps): Autoscaler {
  const { kc, config, log } = deps;
  const now = deps.now ?? Date.now;
  const identity = config.identity ?? process.env['POD_NAME'] ?? `${hostname()}-${process.pid}`;
  const metrics = deps.metrics ?? new AutoscalerMetrics();
  const decisions = createDecisionStore();
  const writer = createKubeWriter(kc);
  const targets =
    deps.targets ??
    createScrapeTargets({
      queueProxyStatsPort: config.queueProxyStatsPort,
      runtimeMetricsPort: config.runtimeMetricsPort,
      nodeAgentPort: config.nodeAgentPort,
      nodeAgentScheme: config.nodeAgentScheme,
    });
  // Set once below; the platform and the engine only need the fence, through this closure.
  const electorRef: { current?: LeaseElector } = {};
  const isLeader = (): boolean => electorRef.current?.isLeader() ?? false;

  const queue: KeyedQueue = createKeyedQueue({
    worker: async key => {
      try {
        await platform.reconcile(key);
        metrics.reconciled('ok');
      } catch (err) {
        metrics.reconciled('error');
        throw err;
      }
    },
    onError: (key, err, attempt) => {
      log.warn({ key, attempt, err: describeApiError(err) }, 'reconcile failed; retrying');
    },
  });
  const enqueue = (key: string): void => {
    if (isLeader()) void queue.enqueue(key);
  };
  const forget = (key: string): void => {
    queue.forget(key);
    decisions.delete(key);
  };

  const custom = kc.makeApiClient(CustomObjectsApi);
  const core = kc.makeApiClient(CoreV1Api);
  const profiles = createResilientInformer<KubernetesObject>({
    kc,
    name: 'functionprofiles',
    log,
    path: `/apis/${FUNCTION_PROFILE_API.group}/${FUNCTION_PROFILE_API.version}/${FUNCTION_PROFILE_API.plural}`,
    list: () =>
      custom.listClusterCustomObject({ ...FUNCTION_PROFILE_API }) as ReturnType<
        Parameters<typeof createResilientInformer<KubernetesObject>>[0]['list']
      >,
    onEvent: () => undefined,
  });
  const nodes = createResilientInformer<V1Node>({
    kc,
    name: 'nodes',
    log,
    path: '/api/v1/nodes',
    list: () => core.listNode(),
    onEvent: () => undefined,
  });
  const agents =
    deps.agents ?? defaultAgents(config, kc, node => targets.nodeAgentUrl(nodes.get(node)));

  const dispatcher = createScrapeAgent();
  const alerts = config.mode === 'openfaas' ? createAlertBook() : undefined;
  const platform: Platform =
    config.mode === 'knative'
      ? createKnativePlatform({
          kc,
          log,
          systemNamespace: config.knativeNamespace,
          decisions,
          writer,
          isLeader,
          now,
          enqueue,
          forget,
          load: createKnativeLoadSource({
            scraper: createQueueProxyScraper({ timeoutMs: config.scrapeTimeoutMs, dispatcher }),
            activator:
              config.activatorMetricsUrls.length === 0
                ? undefined
                : createActivatorScraper({
                    urls: config.activatorMetricsUrls,
                    timeoutMs: config.scrapeTimeoutMs,
                    dispatcher,
                  }),
            targets,
            metrics,
            log,
            ...(config.latencyEveryTicks === 0
              ? {}
              : {
                  latency: {
                    scraper: createRuntimeLatencyScraper({
                      timeoutMs: config.scrapeTimeoutMs,
                      dispatcher,
                    }),
                    everyTicks: config.latencyEveryTicks,
                  },
                }),
          }),
        })
      : createOpenFaasPlatform({
          kc,
          log,
          functionNamespace: config.openfaas.functionNamespace,
          decisions,
          writer,
          isLeader,
          enqueue,
          forget,
          load: createOpenFaasLoadSource({
            prometheus: createPrometheusClient({
              baseUrl: config.openfaas.prometheusUrl,
              timeoutMs: config.scrapeTimeoutMs,
              dispatcher,
            }),
            rateWindow: config.openfaas.rateWindow,
            gatewayUpQuery: config.openfaas.gatewayUpQuery,
            defaultNamespace: config.openfaas.functionNamespace,
            alerts: alerts ?? createAlertBook(),
            metrics,
            log,
          }),
        });

  const sizer: InstanceSizer = createInstanceSizer();
  const policy: CoScalingPolicy = createCoScalingPolicy({ sizer });
  const engine = createTickEngine({
    source: platform.source,
    load: platform.load,
    predictors: createProfilePredictors({ profiles, log }),
    agents,
    policy,
    sizer,
    decisions,
    onHorizontal: fn => {
      enqueue(fn.key);
    },
    metrics,
    log,
    now,
    isLeader,
  });
  const ticker = createTicker({ engine, intervalMs: config.tickIntervalMs, log });

  const leaderElector = createLeaseElector({
    store: createKubeLeaseStore(kc, config.namespace, config.leaseName),
    identity,
    leaseDurationS: config.leaseDurationS,
    renewDeadlineS: config.renewDeadlineS,
    retryPeriodS: config.retryPeriodS,
    log,
    onStartedLeading: () => {
      metrics.leader(true);
      // A new leader trusts only the cluster: no decisions carried over from a past term.
      engine.reset();
      for (const key of platform.allKeys()) void queue.enqueue(key);
      ticker.start();
    },
    onStoppedLeading: () => {
      metrics.leader(false);
      void ticker.stop();
      deps.onLostLeadership?.();
    },
    onNewLeader: holder => {
      log.info({ leader: holder }, 'leader observed');
    },
  });
  const informers: ResilientInformer<unknown>[] = [...platform.informers, profiles, nodes];
  electorRef.current = leaderElector;
  let server: Server | undefined;
  let started = false;
  // The placement service's state is in memory: every replica keeps it warm from the
  // cluster, only the leader answers (a standby says 503 and is not Ready, so the Service
  // routes to the leader).
  const placement: PlacementCluster | undefined = config.servePlacement
    ? watchPlacementCluster({ kubeConfig: kc, log: log.child({ component: 'placement' }) })
    : undefined;
  const ready = (): boolean =>
    started &&
    informers.every(i => i.synced()) &&
    (placement === undefined || (isLeader() && placement.notReady().length === 0));

  const app = createHttpApp({
    metrics,
    log,
    healthy: () => true,
    ready,
    leader: () => ({ isLeader: isLeader(), holder: leaderElector.leader() }),
    ...(alerts === undefined
      ? {}
      : {
          alerts: {
            book: alerts,
            defaultNamespace: config.openfaas.functionNamespace,
            basicAuth: alertAuth(config),
            onFiring: () => {
              if (isLeader()) void ticker.runNow();
            },
          },
        }),
    mount: app => {
      if (placement !== undefined) {
        app.use(
          createPlacementApp({
            service: placement.service,
            metrics: placement.metrics,
            log,
            notReady: () => [
              ...placement.notReady(),
              ...(isLeader() ? [] : ['leadership (this replica is the standby)']),
            ],
          }),
        );
      }
      deps.mount?.(app);
    },
    ...(placement === undefined
      ? {}
      : {
          extraMetrics: async () => {
            const s = placement.service.stats();
            placement.metrics.setHeld(s.reservations, s.instances);
            return (await placement.metrics.render()).body;
          },
        }),
  });

  return {
    identity,
    app,
    metrics,
    engine,
    ticker,
    elector: leaderElector,
    platform,
    decisions,
    alerts,
    async start(opts = {}) {
      if (opts.listen !== false) {
        server = await new Promise<Server>((resolve, reject) => {
          const s = app.listen(config.httpPort, config.httpHost, err => {
            if (err) reject(err);
            else resolve(s);
          });
        });
      }
      for (const informer of informers) await informer.start();
      started = true;
      log.info({ identity, mode: config.mode }, 'caches synced; joining leader election');
      leaderElector.start();
    },
    async stop(opts = {}) {
      await leaderElector.stop({ release: opts.release ?? true });
      await ticker.stop();
      await queue.close();
      await Promise.all(informers.map(i => i.stop()));
      await placement?.stop();
      await dispatcher.close();
      if (server !== undefined) {
        const s = server;
        await new Promise<void>(resolve => {
          s.close(() => {
            resolve();
          });
        });
        server = undefined;
      }
    },
    isLeader,
    port: () => {
      const a = server?.address();
      return typeof a === 'object' && a !== null ? a.port : undefined;
    },
    ready,
  };
}

import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { KubeConfig, KubernetesObject } from '@kubernetes/client-node';
import { CoreV1Api, makeInformer } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import type { PlacerKind } from '../placement/index.js';
import { createPlacementApp } from './app.js';
import type { NodeObject, PodObject } from './kube-objects.js';
import { keepInformerRunning } from '../controller/kube/keep-informer-running.js';
import { PlacementServiceMetrics } from './metrics.js';
import { FUNCTION_LABEL } from './pod-placement.js';
import type { PlacementService } from './service.js';
import { createPlacementService } from './service.js';

export interface PlacementServerOptions {
  readonly kubeConfig: KubeConfig;
  readonly log: Logger;
  /** @default 8080 */
  readonly port?: number;
  /** @default 0.0.0.0 */
  readonly host?: string;
  /** @default 'dilu' */
  readonly placer?: PlacerKind;
  /** How often reservations no pod claimed are expired, ms. @default 5000 */
  readonly expireEveryMs?: number;
}

export interface RunningPlacementServer {
  readonly port: number;
  readonly service: PlacementService;
  stop(): Promise<void>;
}

type K8sObject = KubernetesObject & NodeObject & PodObject;

export interface PlacementClusterOptions {
  readonly kubeConfig: KubeConfig;
  readonly log: Logger;
  /** @default 'dilu' */
  readonly placer?: PlacerKind;
  /** How often reservations no pod claimed are expired, ms. @default 5000 */
  readonly expireEveryMs?: number;
}

export interface PlacementCluster {
  readonly service: PlacementService;
  readonly metrics: PlacementServiceMetrics;
  /** Names of the caches not synced yet; placements wait for all of them. */
  notReady(): string[];
  stop(): Promise<void>;
}

/**
 * The placement service's state kept current from the cluster: nodes and the pods the webhook
 * placed (label `dilu.dev/function`) from informers into the service, unclaimed reservations
 * expired. Used by `startPlacementService` and by the autoscaler process, which serves the
 * same app on its own HTTP server.
 */
export function watchPlacementCluster(options: PlacementClusterOptions): PlacementCluster {
  const { kubeConfig: kc, log } = options;
  const metrics = new PlacementServiceMetrics();
  const service = createPlacementService({
    placer: options.placer,
    events: {
      conflict: (key, reason) => {
        metrics.conflict();
        log.warn({ pod: key, reason }, 'pod decision not honoured');
      },
    },
  });
  const synced = { nodes: false, pods: false };
  const core = kc.makeApiClient(CoreV1Api);
  const nodes = makeInformer<K8sObject>(kc, '/api/v1/nodes', () => core.listNode());
  nodes.on('add', n => {
    service.applyNode(n);
  });
  nodes.on('update', n => {
    service.applyNode(n);
  });
  nodes.on('delete', n => {
    service.deleteNode(n.metadata?.name ?? '');
  });
  const pods = makeInformer<K8sObject>(
    kc,
    '/api/v1/pods',
    () => core.listPodForAllNamespaces({ labelSelector: FUNCTION_LABEL }),
    FUNCTION_LABEL,
  );
  pods.on('add', p => {
    service.applyPod(p);
  });
  pods.on('update', p => {
    service.applyPod(p);
  });
  pods.on('delete', p => {
    service.deletePod(p);
  });
  // Nodes first: pods placed before their node is known wait for it, but listing nodes first
  // places them at once.
  const nodesInformer = keepInformerRunning(nodes, 'nodes', log, () => {
    synced.nodes = true;
  });
  const podsInformer = keepInformerRunning(pods, 'pods', log, () => {
    synced.pods = true;
  });
  const expiry = setInterval(() => {
    const n = service.expire();
    if (n > 0) log.info({ expired: n }, 'reservations expired without a pod');
  }, options.expireEveryMs ?? 5000);
  expiry.unref();
  return {
    service,
    metrics,
    notReady: () => [...(synced.nodes ? [] : ['nodes']), ...(synced.pods ? [] : ['pods'])],
    async stop() {
      clearInterval(expiry);
      await Promise.all([nodesInformer.stop(), podsInformer.stop()]);
    },
  };
}

/**
 * The placement service in a cluster (watchPlacementCluster) with the HTTP API on `port`.
 * Placements are refused with 503 until both informers have listed once, so a restart never
 * hands out a slot a running pod still holds.
 */
export async function startPlacementService(
  options: PlacementServerOptions,
): Promise<RunningPlacementServer> {
  const { log } = options;
  const cluster = watchPlacementCluster(options);
  const { service, metrics } = cluster;

  const app = createPlacementApp({
    service,
    metrics,
    log,
    notReady: () => cluster.notReady(),
  });
  const server = http.createServer(app);
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 8080, options.host ?? '0.0.0.0', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  log.info({ port }, 'placement service listening');
  return {
    port,
    service,
    async stop() {
      await cluster.stop();
      await new Promise<void>(resolve => {
        server.close(() => {
          resolve();
        });
        server.closeAllConnections();
      });
    },
  };
}

import type {
  KubeConfig,
  KubernetesListObject,
  V1ConfigMap,
  V1Deployment,
  V1Pod,
} from '@kubernetes/client-node';
import { AppsV1Api, CoreV1Api, CustomObjectsApi } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import type { Platform } from '../core/platform.js';
import type { DecisionStore, FunctionSource, LoadSource, ManagedFunction } from '../core/types.js';
import { createPodIndex } from '../core/pod-index.js';
import type { ResilientInformer } from '../kube/informer.js';
import { createResilientInformer } from '../kube/informer.js';
import type { KubeWriter } from '../kube/kube-writer.js';
import type { KnativeAutoscalerDefaults } from './config-autoscaler.js';
import { KNATIVE_DEFAULTS, parseConfigAutoscaler } from './config-autoscaler.js';
import { CONFIG_AUTOSCALER_NAME, PA_API, REVISION_LABEL, SKS_API } from './constants.js';
import type { KnativeFunction } from './knative-functions.js';
import { isOurClass, knativeFunction, knativeKey } from './knative-functions.js';
import { createPaReconciler } from './pa-reconciler.js';
import type { PodAutoscaler, ServerlessService } from './types.js';

export interface KnativePlatformDeps {
  readonly kc: KubeConfig;
  readonly log: Logger;
  readonly systemNamespace: string;
  readonly decisions: DecisionStore;
  readonly writer: KubeWriter;
  readonly isLeader: () => boolean;
  readonly now: () => number;
  /** Requests a reconcile of one function key. */
  readonly enqueue: (key: string) => void;
  readonly forget: (key: string) => void;
  readonly load: LoadSource;
}

/**
 * Knative mode: informers on PodAutoscalers (only our class is acted on), their SKSs,
 * Deployments and pods, and `config-autoscaler`; events map to the PA's key.
 */
export function createKnativePlatform(deps: KnativePlatformDeps): Platform {
  const custom = deps.kc.makeApiClient(CustomObjectsApi);
  const apps = deps.kc.makeApiClient(AppsV1Api);
  const core = deps.kc.makeApiClient(CoreV1Api);
  const podIndex = createPodIndex(REVISION_LABEL);
  let defaults: KnativeAutoscalerDefaults = KNATIVE_DEFAULTS;
  const fnCache = new Map<
    string,
    { pa: PodAutoscaler; d: KnativeAutoscalerDefaults; fn: KnativeFunction }
  >();

  const keyOfRevision = (ns: string | undefined, rev: string | undefined): string | undefined =>
    ns === undefined || rev === undefined ? undefined : knativeKey(ns, rev);
  const enqueueIf = (key: string | undefined): void => {
    if (key !== undefined && fnCache.has(key)) deps.enqueue(key);
  };

  const pas: ResilientInformer<PodAutoscaler> = createResilientInformer<PodAutoscaler>({
    kc: deps.kc,
    name: 'podautoscalers',
    log: deps.log,
    path: `/apis/${PA_API.group}/${PA_API.version}/${PA_API.plural}`,
    list: () =>
      custom.listClusterCustomObject({ ...PA_API }) as Promise<KubernetesListObject<PodAutoscaler>>,
    onEvent(event, pa) {
      const key = knativeKey(pa.metadata.namespace, pa.metadata.name);
      if (event === 'delete' || !isOurClass(pa)) {
        if (fnCache.delete(key)) deps.forget(key);
        return;
      }
      fnCache.set(key, { pa, d: defaults, fn: knativeFunction(pa, defaults) });
      deps.enqueue(key);
    },
  });
  const sks = createResilientInformer<ServerlessService>({
    kc: deps.kc,
    name: 'serverlessservices',
    log: deps.log,
    path: `/apis/${SKS_API.group}/${SKS_API.version}/${SKS_API.plural}`,
    list: () =>
      custom.listClusterCustomObject({ ...SKS_API }) as Promise<
        KubernetesListObject<ServerlessService>
      >,
    onEvent: (_e, s) => {
      enqueueIf(knativeKey(s.metadata.namespace, s.metadata.name));
    },
  });
  const deployments = createResilientInformer<V1Deployment>({
    kc: deps.kc,
    name: 'deployments',
    log: deps.log,
    path: '/apis/apps/v1/deployments',
    labelSelector: REVISION_LABEL,
    list: () => apps.listDeploymentForAllNamespaces({ labelSelector: REVISION_LABEL }),
    onEvent: (_e, d) => {
      enqueueIf(keyOfRevision(d.metadata?.namespace, d.metadata?.labels?.[REVISION_LABEL]));
    },
  });
  const pods = createResilientInformer<V1Pod>({
    kc: deps.kc,
    name: 'pods',
    log: deps.log,
    path: '/api/v1/pods',
    labelSelector: REVISION_LABEL,
    list: () => core.listPodForAllNamespaces({ labelSelector: REVISION_LABEL }),
    onEvent: (e, p) => {
      podIndex.apply(e, p);
      enqueueIf(keyOfRevision(p.metadata?.namespace, p.metadata?.labels?.[REVISION_LABEL]));
    },
  });
  const configMaps = createResilientInformer<V1ConfigMap>({
    kc: deps.kc,
    name: 'config-autoscaler',
    log: deps.log,
    path: `/api/v1/namespaces/${deps.systemNamespace}/configmaps`,
    list: () => core.listNamespacedConfigMap({ namespace: deps.systemNamespace }),
    onEvent: (e, cm) => {
      if (cm.metadata?.name !== CONFIG_AUTOSCALER_NAME) return;
      const parsed = parseConfigAutoscaler(e === 'delete' ? undefined : cm.data);
      for (const p of parsed.problems) {
        deps.log.warn({ key: p.key, problem: p.message }, 'config-autoscaler value not used');
      }
      defaults = parsed.defaults;
      for (const key of fnCache.keys()) deps.enqueue(key);
    },
  });

  const functionOf = (key: string): KnativeFunction | undefined => {
    const hit = fnCache.get(key);
    if (hit === undefined) return undefined;
    if (hit.d !== defaults) {
      hit.d = defaults;
      hit.fn = knativeFunction(hit.pa, defaults);
    }
    return hit.fn;
  };
  const source: FunctionSource = {
    functions() {
      const out: ManagedFunction[] = [];
      for (const key of fnCache.keys()) {
        const fn = functionOf(key);
        if (fn !== undefined) out.push(fn);
      }
      return out;
    },
    pods: fn => podIndex.pods(fn.namespace, fn.name),
  };
  const reconcile = createPaReconciler({
    pas,
    sks,
    deployments,
    pods: (ns, rev) => podIndex.pods(ns, rev),
    defaults: () => defaults,
    decisions: deps.decisions,
    writer: deps.writer,
    isLeader: deps.isLeader,
    log: deps.log,
    now: deps.now,
  });
  const platform: Platform = {
    mode: 'knative',
    // config-autoscaler first, so the first PAs are read with the cluster's defaults.
    informers: [configMaps, pas, sks, deployments, pods] as ResilientInformer<unknown>[],
    source,
    load: deps.load,
    reconcile,
    allKeys: () => [...fnCache.keys()],
  };
  return platform;
}

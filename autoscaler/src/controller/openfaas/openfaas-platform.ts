import type { KubeConfig, V1Deployment, V1Pod } from '@kubernetes/client-node';
import { AppsV1Api, CoreV1Api } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { actuateDeployment } from '../core/deployment-actuator.js';
import type { Platform } from '../core/platform.js';
import { createPodIndex } from '../core/pod-index.js';
import type { DecisionStore, FunctionSource, LoadSource, ManagedFunction } from '../core/types.js';
import type { ResilientInformer } from '../kube/informer.js';
import { createResilientInformer } from '../kube/informer.js';
import type { KubeWriter } from '../kube/kube-writer.js';
import type { OpenFaasFunction } from './openfaas-functions.js';
import { FAAS_FUNCTION_LABEL, openfaasFunction, openfaasKey } from './openfaas-functions.js';

export interface OpenFaasPlatformDeps {
  readonly kc: KubeConfig;
  readonly log: Logger;
  readonly functionNamespace: string;
  readonly decisions: DecisionStore;
  readonly writer: KubeWriter;
  readonly isLeader: () => boolean;
  readonly enqueue: (key: string) => void;
  readonly forget: (key: string) => void;
  readonly load: LoadSource;
}

/**
 * OpenFaaS mode: the functions are the Deployments labelled `faas_function` in the function
 * namespace. Replicas go straight to each Deployment's `/scale` — not through the CE
 * gateway's API, which clamps every request to 1..5 replicas and refuses 0 (notes §B1).
 */
export function createOpenFaasPlatform(deps: OpenFaasPlatformDeps): Platform {
  const apps = deps.kc.makeApiClient(AppsV1Api);
  const core = deps.kc.makeApiClient(CoreV1Api);
  const ns = deps.functionNamespace;
  const podIndex = createPodIndex(FAAS_FUNCTION_LABEL);
  const fns = new Map<string, { d: V1Deployment; fn: OpenFaasFunction }>();

  const deployments = createResilientInformer<V1Deployment>({
    kc: deps.kc,
    name: 'openfaas-deployments',
    log: deps.log,
    path: `/apis/apps/v1/namespaces/${ns}/deployments`,
    labelSelector: FAAS_FUNCTION_LABEL,
    list: () =>
      apps.listNamespacedDeployment({ namespace: ns, labelSelector: FAAS_FUNCTION_LABEL }),
    onEvent(event, d) {
      const fn = openfaasFunction(d);
      if (event === 'delete') {
        if (fns.delete(fn.key)) deps.forget(fn.key);
        return;
      }
      fns.set(fn.key, { d, fn });
      deps.enqueue(fn.key);
    },
  });
  const pods = createResilientInformer<V1Pod>({
    kc: deps.kc,
    name: 'openfaas-pods',
    log: deps.log,
    path: `/api/v1/namespaces/${ns}/pods`,
    labelSelector: FAAS_FUNCTION_LABEL,
    list: () => core.listNamespacedPod({ namespace: ns, labelSelector: FAAS_FUNCTION_LABEL }),
    onEvent(event, p) {
      podIndex.apply(event, p);
      const fn = p.metadata?.labels?.[FAAS_FUNCTION_LABEL];
      if (fn !== undefined) {
        const key = openfaasKey(p.metadata?.namespace ?? ns, fn);
        if (fns.has(key)) deps.enqueue(key);
      }
    },
  });

  const source: FunctionSource = {
    functions: () => [...fns.values()].map(e => e.fn as ManagedFunction),
    pods: fn => podIndex.pods(fn.namespace, fn.name),
  };

  const reconcile = async (key: string): Promise<void> => {
    const entry = fns.get(key);
    if (entry === undefined || !deps.isLeader()) return;
    const { fn } = entry;
    const live = deployments.get(fn.deployment, fn.namespace) ?? entry.d;
    const decision = deps.decisions.get(key);
    let want = decision?.desiredReplicas ?? live.spec?.replicas ?? fn.bounds.min;
    want = Math.max(want, fn.bounds.min);
    if (fn.bounds.max > 0) want = Math.min(want, fn.bounds.max);
    await actuateDeployment(deps.writer, {
      deployment: live,
      pods: podIndex.pods(fn.namespace, fn.name),
      want,
      decision,
      isLeader: deps.isLeader,
    });
    if (fn.problems.length > 0) {
      deps.log.warn({ function: key, problems: fn.problems }, 'settings not used as given');
    }
  };

  return {
    mode: 'openfaas',
    informers: [deployments, pods] as ResilientInformer<unknown>[],
    source,
    load: deps.load,
    reconcile,
    allKeys: () => [...fns.keys()],
  };
}

import type { V1Deployment, V1Pod } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { actuateDeployment } from '../core/deployment-actuator.js';
import { isPodReady } from '../core/instances.js';
import type { DecisionStore, HorizontalDecision } from '../core/types.js';
import { isConflict } from '../kube/api-error.js';
import type { ObjectStore } from '../kube/informer.js';
import type { KubeWriter } from '../kube/kube-writer.js';
import { conditionStatus } from './conditions.js';
import type { KnativeAutoscalerDefaults } from './config-autoscaler.js';
import type { KnativeFunction } from './knative-functions.js';
import { isOurClass, knativeFunction } from './knative-functions.js';
import { computePaStatus, sameStatus } from './pa-status.js';
import { desiredSks, ownedBy, sksMode, sksNeedsUpdate } from './sks.js';
import type { PodAutoscaler, ServerlessService } from './types.js';

export interface PaReconcilerDeps {
  readonly pas: ObjectStore<PodAutoscaler>;
  readonly sks: ObjectStore<ServerlessService>;
  readonly deployments: ObjectStore<V1Deployment>;
  readonly pods: (namespace: string, revision: string) => readonly V1Pod[];
  readonly defaults: () => KnativeAutoscalerDefaults;
  readonly decisions: DecisionStore;
  readonly writer: KubeWriter;
  readonly isLeader: () => boolean;
  readonly log: Logger;
  readonly now: () => number;
}

/** Replicas to hold when the policy has not decided (new PA, new leader, no profile). */
export function holdReplicas(
  fn: KnativeFunction,
  current: number,
  initialized: boolean,
  decision: HorizontalDecision | undefined,
): number {
  const { min, max, initial } = fn.bounds;
  let want = decision?.desiredReplicas ?? current;
  if (!initialized) want = Math.max(want, initial);
  want = Math.max(want, min);
  if (max > 0) want = Math.min(want, max);
  return want;
}

/**
 * One PodAutoscaler of our class, KPA's way (notes §A1): own its SKS, write the replicas the
 * tick decided through `/scale`, and report status through `/status`. Everything is read from
 * the informers' caches, so a reconcile after a restart or a change of leader continues from
 * the cluster's state.
 */
export function createPaReconciler(deps: PaReconcilerDeps): (key: string) => Promise<void> {
  return async key => {
    const [, namespace = '', name = ''] = key.split('/');
    const pa = deps.pas.get(name, namespace);
    if (pa === undefined || !isOurClass(pa) || !deps.isLeader()) return;
    const defaults = deps.defaults();
    const fn = knativeFunction(pa, defaults);
    const deployment = deps.deployments.get(fn.deployment, namespace);
    const pods = deps.pods(namespace, name);
    const ready = pods.filter(isPodReady).length;
    const initialized = conditionStatus(pa.status?.conditions, 'ScaleTargetInitialized') === 'True';
    const decision = deps.decisions.get(fn.key);

    let want = -1;
    if (deployment !== undefined) {
      want = holdReplicas(fn, deployment.spec?.replicas ?? 0, initialized, decision);
      await actuateDeployment(deps.writer, {
        deployment,
        pods,
        want,
        decision,
        isLeader: deps.isLeader,
      });
    }
    const { sks, notOwned } = await reconcileSks(deps, pa, sksMode(want, fn.targetBurstCapacity));
    const status = computePaStatus({
      pa,
      sks,
      sksNotOwned: notOwned,
      want,
      ready,
      initialThreshold: Math.max(fn.bounds.min, fn.bounds.initial),
      minScale: fn.bounds.min,
      nowIso: new Date(deps.now()).toISOString(),
    });
    if (!sameStatus(pa.status, status) && deps.isLeader()) {
      await deps.writer.patchPaStatus(namespace, name, status);
    }
    if (fn.problems.length > 0) {
      deps.log.warn({ function: fn.key, problems: fn.problems }, 'settings not used as given');
    }
  };
}

async function reconcileSks(
  deps: PaReconcilerDeps,
  pa: PodAutoscaler,
  mode: ServerlessService['spec']['mode'],
): Promise<{ sks: ServerlessService | undefined; notOwned: boolean }> {
  const { namespace, name } = pa.metadata;
  const live = deps.sks.get(name, namespace);
  const want = desiredSks(pa, mode);
  if (live === undefined) {
    if (!deps.isLeader()) return { sks: undefined, notOwned: false };
    try {
      await deps.writer.createSks(want);
    } catch (err) {
      // Created meanwhile (our informer is behind): the next event reconciles it.
      if (!isConflict(err)) throw err;
    }
    return { sks: undefined, notOwned: false };
  }
  if (!ownedBy(live, pa)) return { sks: live, notOwned: true };
  if (sksNeedsUpdate(live, want) && deps.isLeader()) {
    await deps.writer.patchSksSpec(namespace, name, want.spec);
  }
  return { sks: live, notOwned: false };
}

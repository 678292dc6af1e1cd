import type { KubeConfig, KubernetesObject } from '@kubernetes/client-node';
import { AppsV1Api, CustomObjectsApi, makeInformer } from '@kubernetes/client-node';
import type { V1Deployment } from '@kubernetes/client-node';
import type { FunctionProfile, ProfileRecommendation } from '@dilu/autoscaler';
import { functionProfileFromObject, keepInformerRunning } from '@dilu/autoscaler';
import type { Logger } from 'pino';
import type { InstanceDecisionStore } from '../instance-decisions/instance-decision.js';
import {
  INSTANCE_DECISION_ANNOTATION,
  parseInstanceDecision,
} from '../instance-decisions/instance-decision.js';
import { PLATFORM_LABELS } from '../keys.js';
import type { WebhookMetrics } from '../metrics.js';
import type { ProfileStore } from '../profiles/profile-store.js';

export interface Stoppable {
  stop(): Promise<void>;
}

interface ProfileObject extends KubernetesObject {
  status?: { recommendations?: ProfileRecommendation[] };
}

/** FunctionProfiles from the API server into the store; invalid ones are logged and skipped. */
export function startProfileInformer(
  kc: KubeConfig,
  store: ProfileStore,
  log: Logger,
  metrics: WebhookMetrics,
): Stoppable {
  const api = kc.makeApiClient(CustomObjectsApi);
  const informer = makeInformer<ProfileObject>(kc, '/apis/dilu.dev/v1alpha1/functionprofiles', () =>
    api.listClusterCustomObject({
      group: 'dilu.dev',
      version: 'v1alpha1',
      plural: 'functionprofiles',
    }),
  );
  const upsert = (obj: ProfileObject): void => {
    const ns = obj.metadata?.namespace;
    const name = obj.metadata?.name ?? '';
    let profile: FunctionProfile;
    try {
      profile = functionProfileFromObject(obj, `FunctionProfile ${ns ?? ''}/${name}`);
    } catch (err) {
      metrics.error('profile-load');
      log.warn({ err, namespace: ns, name }, 'ignoring invalid FunctionProfile');
      store.delete(ns, name);
      return;
    }
    store.set(ns, profile, obj.status?.recommendations ?? []);
    metrics.setProfileCount(store.size());
  };
  informer.on('add', upsert);
  informer.on('update', upsert);
  informer.on('delete', obj => {
    store.delete(obj.metadata?.namespace, obj.metadata?.name ?? '');
    metrics.setProfileCount(store.size());
  });
  return keepInformerRunning(informer, 'functionprofiles', log, () => {
    store.markReady();
  });
}

/**
 * Function Deployments (Knative `<revision>-deployment`, OpenFaaS functions) into the decision
 * store: two label-selected informers, since a selector cannot OR two labels.
 */
export function startInstanceDecisionInformers(
  kc: KubeConfig,
  store: InstanceDecisionStore,
  log: Logger,
  metrics: WebhookMetrics,
): Stoppable {
  const api = kc.makeApiClient(AppsV1Api);
  const upsert = (d: V1Deployment): void => {
    const ns = d.metadata?.namespace ?? '';
    const name = d.metadata?.name ?? '';
    const raw = d.metadata?.annotations?.[INSTANCE_DECISION_ANNOTATION];
    if (raw === undefined) {
      store.set(ns, name, undefined);
      return;
    }
    const parsed = parseInstanceDecision(raw);
    if (!parsed.ok) {
      metrics.error('instance-decision');
      log.warn(
        { namespace: ns, deployment: name, reason: parsed.reason },
        'ignoring invalid instance decision',
      );
      store.set(ns, name, undefined);
      return;
    }
    store.set(ns, name, parsed.decision);
  };
  let synced = 0;
  const selectors = [PLATFORM_LABELS.knativeRevision, PLATFORM_LABELS.openfaasFunction];
  const running = selectors.map(labelSelector => {
    const informer = makeInformer<V1Deployment>(
      kc,
      '/apis/apps/v1/deployments',
      () => api.listDeploymentForAllNamespaces({ labelSelector }),
      labelSelector,
    );
    informer.on('add', upsert);
    informer.on('update', upsert);
    informer.on('delete', d => {
      store.set(d.metadata?.namespace ?? '', d.metadata?.name ?? '', undefined);
    });
    let counted = false;
    return keepInformerRunning(informer, `deployments(${labelSelector})`, log, () => {
      if (!counted) {
        counted = true;
        synced++;
      }
      if (synced === selectors.length) store.markReady();
    });
  });
  return {
    async stop() {
      await Promise.all(running.map(r => r.stop()));
    },
  };
}

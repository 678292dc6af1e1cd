import type { KubeConfig } from '@kubernetes/client-node';
import {
  AppsV1Api,
  CoreV1Api,
  CustomObjectsApi,
  PatchStrategy,
  setHeaderOptions,
} from '@kubernetes/client-node';
import { PA_API, SKS_API } from '../knative/constants.js';
import type { PodAutoscalerStatus, ServerlessService } from '../knative/types.js';

/** Every write the controller makes to the API server, behind one interface. */
export interface KubeWriter {
  /** JSON merge patch of `spec.replicas` through the Deployment's `/scale` subresource. */
  scaleDeployment(namespace: string, name: string, replicas: number): Promise<void>;
  annotateDeployment(
    namespace: string,
    name: string,
    annotations: Record<string, string | null>,
  ): Promise<void>;
  annotatePod(
    namespace: string,
    name: string,
    annotations: Record<string, string | null>,
  ): Promise<void>;
  createSks(sks: ServerlessService): Promise<void>;
  patchSksSpec(namespace: string, name: string, spec: ServerlessService['spec']): Promise<void>;
  /** Merge patch through the PodAutoscaler's `/status` subresource. */
  patchPaStatus(namespace: string, name: string, status: PodAutoscalerStatus): Promise<void>;
}

const FIELD_MANAGER = 'dilu-autoscaler';

export function createKubeWriter(kc: KubeConfig): KubeWriter {
  const apps = kc.makeApiClient(AppsV1Api);
  const core = kc.makeApiClient(CoreV1Api);
  const custom = kc.makeApiClient(CustomObjectsApi);
  const merge = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
  return {
    async scaleDeployment(namespace, name, replicas) {
      await apps.patchNamespacedDeploymentScale(
        { name, namespace, fieldManager: FIELD_MANAGER, body: { spec: { replicas } } },
        merge,
      );
    },
    async annotateDeployment(namespace, name, annotations) {
      await apps.patchNamespacedDeployment(
        { name, namespace, fieldManager: FIELD_MANAGER, body: { metadata: { annotations } } },
        merge,
      );
    },
    async annotatePod(namespace, name, annotations) {
      await core.patchNamespacedPod(
        { name, namespace, fieldManager: FIELD_MANAGER, body: { metadata: { annotations } } },
        merge,
      );
    },
    async createSks(sks) {
      await custom.createNamespacedCustomObject({
        ...SKS_API,
        namespace: sks.metadata.namespace,
        fieldManager: FIELD_MANAGER,
        body: sks,
      });
    },
    async patchSksSpec(namespace, name, spec) {
      await custom.patchNamespacedCustomObject(
        { ...SKS_API, namespace, name, fieldManager: FIELD_MANAGER, body: { spec } },
        merge,
      );
    },
    async patchPaStatus(namespace, name, status) {
      await custom.patchNamespacedCustomObjectStatus(
        { ...PA_API, namespace, name, fieldManager: FIELD_MANAGER, body: { status } },
        merge,
      );
    },
  };
}

// The platforms' own controllers, which the test bed does not run, reduced to what they write
// for one function (notes/knative-openfaas.md):
//
// - Knative Serving: the Service is created for real (its CRD validates it); its revision
//   reconciler's output is written here: the Revision, the Deployment `<rev>-deployment` with
//   user-container and queue-proxy as Knative builds it, and the PodAutoscaler `<rev>` carrying
//   the revision template's annotations (its class selects the Dilu autoscaler). The SKS
//   reconciler's part (Service names, Ready) is done by a loop here.
// - OpenFaaS (faas-netes CE): the function's Deployment in openfaas-fn from its stack.yaml entry
//   (labels, annotations on Deployment and pod, port 8080, of-watchdog's health probe,
//   replicas from com.openfaas.scale.min).
import {
  AppsV1Api,
  CustomObjectsApi,
  PatchStrategy,
  setHeaderOptions,
  type KubeConfig,
  type V1Deployment,
} from '@kubernetes/client-node';
import { QUEUE_PROXY_IMAGE } from './runtimes.js';
import type { StackFunction } from './functions.js';

/** Reads a flag another closure sets (a loop's stop signal), unnarrowed. */
const flag = (read: () => boolean): boolean => read();

const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

export interface KnativeFunction {
  readonly service: string;
  readonly namespace: string;
  readonly revision: string;
  readonly deployment: string;
}

/** What `kn service create` / `func deploy` and Knative's reconcilers produce for a Service. */
export async function deployKnativeService(
  kc: KubeConfig,
  opts: {
    readonly namespace: string;
    readonly service: string;
    readonly image: string;
    /** Revision template annotations (func.yaml deploy.annotations, plus the class). */
    readonly annotations: Readonly<Record<string, string>>;
  },
): Promise<KnativeFunction> {
  const custom = kc.makeApiClient(CustomObjectsApi);
  const apps = kc.makeApiClient(AppsV1Api);
  const { namespace, service } = opts;
  const revision = `${service}-00001`;
  const ksvc = (await custom.createNamespacedCustomObject({
    group: 'serving.knative.dev',
    version: 'v1',
    namespace,
    plural: 'services',
    body: {
      apiVersion: 'serving.knative.dev/v1',
      kind: 'Service',
      metadata: {
        name: service,
        // func writes deploy.annotations on the Service too, except autoscaling ones.
        annotations: Object.fromEntries(
          Object.entries(opts.annotations).filter(
            ([k]) => !k.startsWith('autoscaling.knative.dev/'),
          ),
        ),
      },
      spec: {
        template: {
          metadata: { name: revision, annotations: { ...opts.annotations } },
          spec: { containers: [{ image: opts.image, ports: [{ containerPort: 8080 }] }] },
        },
      },
    },
  })) as { metadata: { uid: string } };

  const labels = {
    'serving.knative.dev/service': service,
    'serving.knative.dev/configuration': service,
    'serving.knative.dev/configurationGeneration': '1',
    'serving.knative.dev/revision': revision,
  };
  const rev = (await custom.createNamespacedCustomObject({
    group: 'serving.knative.dev',
    version: 'v1',
    namespace,
    plural: 'revisions',
    body: {
      apiVersion: 'serving.knative.dev/v1',
      kind: 'Revision',
      metadata: {
        name: revision,
        labels,
        annotations: { ...opts.annotations },
        ownerReferences: [
          {
            apiVersion: 'serving.knative.dev/v1',
            kind: 'Service',
            name: service,
            uid: ksvc.metadata.uid,
            controller: false,
          },
        ],
      },
      spec: { containers: [{ image: opts.image, ports: [{ containerPort: 8080 }] }] },
    },
  })) as { metadata: { uid: string } };
  const owner = {
    apiVersion: 'serving.knative.dev/v1',
    kind: 'Revision',
    name: revision,
    uid: rev.metadata.uid,
    controller: true,
    blockOwnerDeletion: true,
  };
  const podLabels = {
    ...labels,
    'serving.knative.dev/revisionUID': rev.metadata.uid,
    app: revision,
  };
  // Pods get the revision's annotations except the autoscaling ones (revision/resources/meta.go).
  const podAnnotations = Object.fromEntries(
    Object.entries(opts.annotations).filter(([k]) => !k.startsWith('autoscaling.knative.dev/')),
  );
  const minScale = Number(opts.annotations['autoscaling.knative.dev/min-scale'] ?? 1);
  const deployment: V1Deployment = {
    metadata: {
      name: `${revision}-deployment`,
      namespace,
      labels: podLabels,
      ownerReferences: [owner],
    },
    spec: {
      replicas: minScale,
      selector: { matchLabels: { 'serving.knative.dev/revisionUID': rev.metadata.uid } },
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0, maxSurge: '25%' } },
      progressDeadlineSeconds: 600,
      template: {
        metadata: { labels: podLabels, annotations: podAnnotations },
        spec: {
          terminationGracePeriodSeconds: 300,
          enableServiceLinks: false,
          containers: [
            {
              name: 'user-container',
              image: opts.image,
              ports: [{ name: 'user-port', containerPort: 8080, protocol: 'TCP' }],
              env: [
                { name: 'PORT', value: '8080' },
                { name: 'K_REVISION', value: revision },
                { name: 'K_CONFIGURATION', value: service },
                { name: 'K_SERVICE', value: service },
              ],
              resources: {},
            },
            {
              name: 'queue-proxy',
              image: QUEUE_PROXY_IMAGE,
              ports: [
                { name: 'http-queueadm', containerPort: 8022, protocol: 'TCP' },
                { name: 'http-autometric', containerPort: 9090, protocol: 'TCP' },
                { name: 'http-usermetric', containerPort: 9091, protocol: 'TCP' },
                { name: 'queue-port', containerPort: 8012, protocol: 'TCP' },
              ],
              env: [
                { name: 'SERVING_NAMESPACE', value: namespace },
                { name: 'SERVING_SERVICE', value: service },
                { name: 'SERVING_CONFIGURATION', value: service },
                { name: 'SERVING_REVISION', value: revision },
                { name: 'QUEUE_SERVING_PORT', value: '8012' },
                { name: 'CONTAINER_CONCURRENCY', value: '0' },
                { name: 'USER_PORT', value: '8080' },
                { name: 'SERVING_POD', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
                { name: 'SERVING_POD_IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } },
                // Knative moves the user container's readiness probe here.
                {
                  name: 'SERVING_READINESS_PROBE',
                  value: JSON.stringify({
                    httpGet: { path: '/health/readiness', port: 8080 },
                    successThreshold: 1,
                  }),
                },
              ],
              readinessProbe: {
                httpGet: { port: 8012, httpHeaders: [{ name: 'K-Network-Probe', value: 'queue' }] },
                periodSeconds: 1,
              },
              resources: { requests: { cpu: '25m' } },
            },
          ],
        },
      },
    },
  };
  await apps.createNamespacedDeployment({ namespace, body: deployment });
  await custom.createNamespacedCustomObject({
    group: 'autoscaling.internal.knative.dev',
    version: 'v1alpha1',
    namespace,
    plural: 'podautoscalers',
    body: {
      apiVersion: 'autoscaling.internal.knative.dev/v1alpha1',
      kind: 'PodAutoscaler',
      metadata: {
        name: revision,
        labels,
        annotations: { ...opts.annotations },
        ownerReferences: [owner],
      },
      spec: {
        scaleTargetRef: {
          apiVersion: 'apps/v1',
          kind: 'Deployment',
          name: `${revision}-deployment`,
        },
        protocolType: 'http1',
        reachability: 'Reachable',
        containerConcurrency: 0,
      },
    },
  });
  return { service, namespace, revision, deployment: `${revision}-deployment` };
}

/** The SKS reconciler's status: Service names, and Ready (Knative's `controller` does this). */
export function startSksReconciler(kc: KubeConfig, namespace: string): { stop(): Promise<void> } {
  const custom = kc.makeApiClient(CustomObjectsApi);
  let stopped = false;
  const loop = (async () => {
    // Set by stop() from outside this loop, so it is read through a call.
    while (!flag(() => stopped)) {
      try {
        const list = (await custom.listNamespacedCustomObject({
          group: 'networking.internal.knative.dev',
          version: 'v1alpha1',
          namespace,
          plural: 'serverlessservices',
        })) as {
          items: {
            metadata: { name: string; generation?: number };
            status?: { serviceName?: string };
          }[];
        };
        for (const sks of list.items) {
          if (sks.status?.serviceName !== undefined) continue;
          const now = new Date().toISOString();
          await custom.patchNamespacedCustomObjectStatus(
            {
              group: 'networking.internal.knative.dev',
              version: 'v1alpha1',
              namespace,
              plural: 'serverlessservices',
              name: sks.metadata.name,
              body: {
                status: {
                  observedGeneration: sks.metadata.generation ?? 1,
                  serviceName: sks.metadata.name,
                  privateServiceName: `${sks.metadata.name}-private`,
                  conditions: [
                    { type: 'EndpointsPopulated', status: 'True', lastTransitionTime: now },
                    { type: 'Ready', status: 'True', lastTransitionTime: now },
                  ],
                },
              },
            },
            mergePatch,
          );
        }
      } catch {
        // Retried on the next pass.
      }
      await new Promise(r => setTimeout(r, 300));
    }
  })();
  return {
    async stop() {
      stopped = true;
      await loop;
    },
  };
}

/** What faas-netes CE creates for `faas-cli deploy` of one stack.yaml function. */
export async function deployOpenFaasFunction(
  kc: KubeConfig,
  opts: { readonly namespace: string; readonly name: string; readonly fn: StackFunction },
): Promise<string> {
  const { namespace, name, fn } = opts;
  const apps = kc.makeApiClient(AppsV1Api);
  const labels = { faas_function: name, ...fn.labels };
  const annotations = { 'prometheus.io.scrape': 'false', ...fn.annotations };
  const replicas = Number(fn.labels['com.openfaas.scale.min'] ?? 1);
  await apps.createNamespacedDeployment({
    namespace,
    body: {
      metadata: { name, namespace, labels, annotations },
      spec: {
        replicas,
        selector: { matchLabels: { faas_function: name } },
        strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } },
        template: {
          metadata: { name, labels, annotations },
          spec: {
            containers: [
              {
                name,
                image: fn.image,
                ports: [{ name: 'http', containerPort: 8080, protocol: 'TCP' }],
                env: Object.entries(fn.environment).map(([k, v]) => ({
                  name: k,
                  value: v,
                })),
                readinessProbe: { httpGet: { path: '/_/health', port: 8080 }, periodSeconds: 2 },
                livenessProbe: { httpGet: { path: '/_/health', port: 8080 }, periodSeconds: 2 },
              },
            ],
          },
        },
      },
    },
  });
  return name;
}

export { mergePatch };

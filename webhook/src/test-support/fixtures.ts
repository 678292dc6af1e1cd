import { randomUUID } from 'node:crypto';
import type { Pod } from '../pod/pod-types.js';

/**
 * Pods as the API server hands them to a mutating webhook on CREATE: made by the ReplicaSet
 * controller (so `generateName`, no name yet), after the built-in admission plugins (the
 * service-account token volume is already mounted). Shapes follow Knative Serving 1.x revision
 * Deployments and faas-netes function Deployments (see shared notes/knative-openfaas.md).
 */

const serviceAccountVolume = {
  name: 'kube-api-access-7xk2p',
  projected: {
    defaultMode: 420,
    sources: [
      { serviceAccountToken: { expirationSeconds: 3607, path: 'token' } },
      { configMap: { name: 'kube-root-ca.crt', items: [{ key: 'ca.crt', path: 'ca.crt' }] } },
      {
        downwardAPI: {
          items: [
            { path: 'namespace', fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.namespace' } },
          ],
        },
      },
    ],
  },
};

const serviceAccountMount = {
  name: 'kube-api-access-7xk2p',
  readOnly: true,
  mountPath: '/var/run/secrets/kubernetes.io/serviceaccount',
};

const defaultTolerations = [
  {
    key: 'node.kubernetes.io/not-ready',
    operator: 'Exists',
    effect: 'NoExecute',
    tolerationSeconds: 300,
  },
  {
    key: 'node.kubernetes.io/unreachable',
    operator: 'Exists',
    effect: 'NoExecute',
    tolerationSeconds: 300,
  },
];

/** A Knative Serving revision pod: user-container plus the queue-proxy sidecar. */
export function knativeRevisionPod(
  opts: { service?: string; namespace?: string; annotations?: Record<string, string> } = {},
): Pod {
  const service = opts.service ?? 'resnet';
  const ns = opts.namespace ?? 'fns';
  const revision = `${service}-00001`;
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      generateName: `${revision}-deployment-5f7c9d8b6d-`,
      namespace: ns,
      labels: {
        app: revision,
        'pod-template-hash': '5f7c9d8b6d',
        'serving.knative.dev/configuration': service,
        'serving.knative.dev/configurationGeneration': '1',
        'serving.knative.dev/configurationUID': '1f0c3d3e-6a0e-4a57-9c55-0d6f3b0d9a11',
        'serving.knative.dev/revision': revision,
        'serving.knative.dev/revisionUID': '8e2b5a44-2d0f-4a7e-bf0d-61d5a3f0c2b7',
        'serving.knative.dev/service': service,
        'serving.knative.dev/serviceUID': 'c4d1e0a9-7b6f-4f1c-8a3e-2f9d0b1c4e55',
      },
      annotations: {
        'autoscaling.knative.dev/class': 'dilu.autoscaling.dilu.dev',
        'serving.knative.dev/creator': 'kubernetes-admin',
        ...opts.annotations,
      },
      ownerReferences: [
        {
          apiVersion: 'apps/v1',
          kind: 'ReplicaSet',
          name: `${revision}-deployment-5f7c9d8b6d`,
          uid: '0b8e7f2a-4c1d-4d2e-9f3a-5b6c7d8e9f01',
          controller: true,
          blockOwnerDeletion: true,
        },
      ],
    },
    spec: {
      volumes: [serviceAccountVolume],
      containers: [
        {
          name: 'user-container',
          image: `registry.example.com/${ns}/${service}@sha256:5b0e1c2d3f4a5b6c7d8e9f00112233445566778899aabbccddeeff0011223344`,
          ports: [{ name: 'user-port', containerPort: 8080, protocol: 'TCP' }],
          env: [
            { name: 'PORT', value: '8080' },
            { name: 'K_REVISION', value: revision },
            { name: 'K_CONFIGURATION', value: service },
            { name: 'K_SERVICE', value: service },
          ],
          resources: { limits: { cpu: '4', memory: '8Gi' }, requests: { cpu: '1', memory: '4Gi' } },
          volumeMounts: [serviceAccountMount],
          lifecycle: {
            preStop: { httpGet: { path: '/wait-for-drain', port: 8022, scheme: 'HTTP' } },
          },
          terminationMessagePath: '/dev/termination-log',
          terminationMessagePolicy: 'FallbackToLogsOnError',
          imagePullPolicy: 'IfNotPresent',
        },
        {
          name: 'queue-proxy',
          image:
            'gcr.io/knative-releases/knative.dev/serving/cmd/queue@sha256:9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f1a0b9c8d7e6f5a4b3c2d1e0f9a8b',
          ports: [
            { name: 'http-queueadm', containerPort: 8022, protocol: 'TCP' },
            { name: 'http-autometric', containerPort: 9090, protocol: 'TCP' },
            { name: 'http-usermetric', containerPort: 9091, protocol: 'TCP' },
            { name: 'queue-port', containerPort: 8012, protocol: 'TCP' },
            { name: 'https-port', containerPort: 8112, protocol: 'TCP' },
          ],
          env: [
            { name: 'SERVING_NAMESPACE', value: ns },
            { name: 'SERVING_SERVICE', value: service },
            { name: 'SERVING_CONFIGURATION', value: service },
            { name: 'SERVING_REVISION', value: revision },
            { name: 'QUEUE_SERVING_PORT', value: '8012' },
            { name: 'QUEUE_SERVING_TLS_PORT', value: '8112' },
            { name: 'CONTAINER_CONCURRENCY', value: '0' },
            { name: 'REVISION_TIMEOUT_SECONDS', value: '300' },
            { name: 'REVISION_RESPONSE_START_TIMEOUT_SECONDS', value: '0' },
            { name: 'REVISION_IDLE_TIMEOUT_SECONDS', value: '0' },
            {
              name: 'SERVING_POD',
              valueFrom: { fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.name' } },
            },
            {
              name: 'SERVING_POD_IP',
              valueFrom: { fieldRef: { apiVersion: 'v1', fieldPath: 'status.podIP' } },
            },
            { name: 'SERVING_LOGGING_CONFIG', value: '' },
            { name: 'SERVING_LOGGING_LEVEL', value: '' },
            { name: 'SERVING_REQUEST_LOG_TEMPLATE', value: '' },
            { name: 'SERVING_ENABLE_REQUEST_LOG', value: 'false' },
            { name: 'SERVING_REQUEST_METRICS_BACKEND', value: 'prometheus' },
            { name: 'TRACING_CONFIG_BACKEND', value: 'none' },
            { name: 'USER_PORT', value: '8080' },
            { name: 'SYSTEM_NAMESPACE', value: 'knative-serving' },
            { name: 'METRICS_DOMAIN', value: 'knative.dev/internal/serving' },
            {
              name: 'SERVING_READINESS_PROBE',
              value: '{"tcpSocket":{"port":8080,"host":"127.0.0.1"},"successThreshold":1}',
            },
            { name: 'ENABLE_PROFILING', value: 'false' },
            { name: 'SERVING_ENABLE_PROBE_REQUEST_LOG', value: 'false' },
            {
              name: 'HOST_IP',
              valueFrom: { fieldRef: { apiVersion: 'v1', fieldPath: 'status.hostIP' } },
            },
            { name: 'ENABLE_HTTP2_AUTO_DETECTION', value: 'false' },
            { name: 'ENABLE_HTTP_FULL_DUPLEX', value: 'false' },
            { name: 'ROOT_CA', value: '' },
            { name: 'ENABLE_MULTI_CONTAINER_PROBES', value: 'false' },
          ],
          resources: { requests: { cpu: '25m' } },
          volumeMounts: [serviceAccountMount],
          readinessProbe: {
            httpGet: {
              path: '/',
              port: 8012,
              scheme: 'HTTP',
              httpHeaders: [{ name: 'K-Network-Probe', value: 'queue' }],
            },
            timeoutSeconds: 1,
            periodSeconds: 10,
            successThreshold: 1,
            failureThreshold: 3,
          },
          securityContext: {
            capabilities: { drop: ['ALL'] },
            readOnlyRootFilesystem: true,
            runAsNonRoot: true,
            allowPrivilegeEscalation: false,
            seccompProfile: { type: 'RuntimeDefault' },
          },
          terminationMessagePath: '/dev/termination-log',
          terminationMessagePolicy: 'File',
          imagePullPolicy: 'IfNotPresent',
        },
      ],
      restartPolicy: 'Always',
      terminationGracePeriodSeconds: 300,
      dnsPolicy: 'ClusterFirst',
      serviceAccountName: 'default',
      serviceAccount: 'default',
      securityContext: {},
      schedulerName: 'default-scheduler',
      tolerations: defaultTolerations,
      priority: 0,
      enableServiceLinks: false,
      preemptionPolicy: 'PreemptLowerPriority',
    },
  };
}

/** An OpenFaaS (faas-netes) function pod; the of-watchdog runs inside the function container. */
export function openfaasFunctionPod(
  opts: { fn?: string; namespace?: string; annotations?: Record<string, string> } = {},
): Pod {
  const fn = opts.fn ?? 'bert';
  const ns = opts.namespace ?? 'openfaas-fn';
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      generateName: `${fn}-7b9c6d5f4-`,
      namespace: ns,
      labels: {
        app: fn,
        controller: fn,
        faas_function: fn,
        'pod-template-hash': '7b9c6d5f4',
        uid: '512387021',
        'com.openfaas.scale.min': '1',
      },
      annotations: { 'prometheus.io.scrape': 'false', ...opts.annotations },
      ownerReferences: [
        {
          apiVersion: 'apps/v1',
          kind: 'ReplicaSet',
          name: `${fn}-7b9c6d5f4`,
          uid: '7c6d5e4f-3a2b-4c1d-8e9f-0a1b2c3d4e5f',
          controller: true,
          blockOwnerDeletion: true,
        },
      ],
    },
    spec: {
      volumes: [serviceAccountVolume],
      containers: [
        {
          name: fn,
          image: `ghcr.io/example/${fn}:0.3.1`,
          ports: [{ name: 'http', containerPort: 8080, protocol: 'TCP' }],
          env: [
            { name: 'fprocess', value: 'python index.py' },
            { name: 'mode', value: 'http' },
            { name: 'upstream_url', value: 'http://127.0.0.1:5000' },
          ],
          resources: { limits: { memory: '6Gi' }, requests: { cpu: '500m', memory: '2Gi' } },
          volumeMounts: [serviceAccountMount],
          livenessProbe: {
            httpGet: { path: '/_/health', port: 8080, scheme: 'HTTP' },
            initialDelaySeconds: 2,
            timeoutSeconds: 1,
            periodSeconds: 2,
            successThreshold: 1,
            failureThreshold: 3,
          },
          readinessProbe: {
            httpGet: { path: '/_/health', port: 8080, scheme: 'HTTP' },
            initialDelaySeconds: 2,
            timeoutSeconds: 1,
            periodSeconds: 2,
            successThreshold: 1,
            failureThreshold: 3,
          },
          securityContext: { readOnlyRootFilesystem: false, allowPrivilegeEscalation: false },
          terminationMessagePath: '/dev/termination-log',
          terminationMessagePolicy: 'File',
          imagePullPolicy: 'Always',
        },
      ],
      restartPolicy: 'Always',
      terminationGracePeriodSeconds: 30,
      dnsPolicy: 'ClusterFirst',
      serviceAccountName: 'default',
      serviceAccount: 'default',
      securityContext: {},
      schedulerName: 'default-scheduler',
      tolerations: defaultTolerations,
      priority: 0,
      enableServiceLinks: false,
      preemptionPolicy: 'PreemptLowerPriority',
    },
  };
}

/** The AdmissionReview the API server posts for a pod CREATE by the ReplicaSet controller. */
export function admissionReviewFor(
  pod: Pod,
  opts: { uid?: string; dryRun?: boolean } = {},
): Record<string, unknown> {
  const gvk = { group: '', version: 'v1', kind: 'Pod' };
  const gvr = { group: '', version: 'v1', resource: 'pods' };
  return {
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid: opts.uid ?? randomUUID(),
      kind: gvk,
      resource: gvr,
      requestKind: gvk,
      requestResource: gvr,
      namespace: pod.metadata?.namespace,
      operation: 'CREATE',
      userInfo: {
        username: 'system:serviceaccount:kube-system:replicaset-controller',
        uid: '2d3c4b5a-6978-4e1d-9c0b-a1b2c3d4e5f6',
        groups: [
          'system:serviceaccounts',
          'system:serviceaccounts:kube-system',
          'system:authenticated',
        ],
      },
      object: pod,
      oldObject: null,
      dryRun: opts.dryRun ?? false,
      options: { kind: 'CreateOptions', apiVersion: 'meta.k8s.io/v1' },
    },
  };
}

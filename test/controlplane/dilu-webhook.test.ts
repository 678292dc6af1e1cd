// The project's webhook and placement service against the real control plane: the API server
// calls the webhook over loopback HTTPS on pod CREATE, the webhook sizes the pod from a
// FunctionProfile and reserves a GPU through the placement service (which follows nodes and
// pods through informers), the stored pod carries the mutation, kube-scheduler binds it to
// the reserved node by its per-GPU resources, and an unsafe pod is refused with the field named.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { CoreV1Api, type V1Pod } from '@kubernetes/client-node';
import { loadProfile } from '@dilu/autoscaler';
import {
  startPlacementService,
  type RunningPlacementServer,
} from '@dilu/autoscaler/placement-service';
import {
  createCertificateAuthority,
  createInstanceDecisionStore,
  createPlacementClient,
  createProfileStore,
  createServingCertificate,
  loadConfig,
  startWebhook,
  type RunningServer,
} from '@dilu/webhook';
import { pino } from 'pino';
import { createNamespace, deleteNamespace, statusMessageOf } from '../testbed/client.js';
import { createGpuNodes, deleteNodes } from '../testbed/nodes.js';
import { waitFor } from '../testbed/readiness.js';
import { describeWithControlPlane } from '../testbed/suite.js';
import { registerMutatingWebhook, type MutatingWebhookRegistration } from '../testbed/webhook.js';

const PROFILES = fileURLToPath(
  new URL('../../autoscaler/data/profiles/dilu-a100/', import.meta.url),
);

/** A Knative revision pod as its ReplicaSet makes it: user-container plus queue-proxy. */
function revisionPod(
  name: string,
  extraEnv: { name: string; value: string }[] = [],
  sloMs = '100',
): V1Pod {
  return {
    metadata: {
      name,
      labels: {
        'serving.knative.dev/revision': 'resnet-00001',
        'serving.knative.dev/service': 'resnet',
        'serving.knative.dev/configuration': 'resnet',
      },
      annotations: { 'dilu.dev/slo-ms': sloMs },
    },
    spec: {
      containers: [
        {
          name: 'user-container',
          image: 'registry.invalid/fns/resnet:1',
          env: [{ name: 'PORT', value: '8080' }, ...extraEnv],
        },
        {
          name: 'queue-proxy',
          image: 'registry.invalid/knative/queue:1',
          env: [{ name: 'SERVING_REVISION', value: 'resnet-00001' }],
          resources: { requests: { cpu: '25m' } },
        },
      ],
    },
  };
}

interface DecisionJson {
  batch: number;
  smRequest: number;
  smLimit: number;
  memoryMiB: number;
  node: string;
  gpuIndex: number;
  reservation: string;
  source: string;
}

/** The stored pod carries the webhook's mutation, and nothing else changed in the sidecar. */
function expectMutated(stored: V1Pod, sent: V1Pod, namespace: string): DecisionJson {
  const meta = stored.metadata!;
  const annotations = meta.annotations!;
  const decision = JSON.parse(annotations['dilu.dev/decision']!) as DecisionJson;
  expect(decision.source).toBe('profile');
  expect(annotations['dilu.dev/reservation']).toBe(decision.reservation);
  expect(meta.labels!['dilu.dev/function']).toBe(`knative.${namespace}.resnet-00001`);
  const spec = stored.spec!;
  const [user, queueProxy] = spec.containers;
  expect(user!.resources!.limits).toEqual({
    [`dilu.dev/gpu${decision.gpuIndex}-sm`]: String(decision.smRequest),
    [`dilu.dev/gpu${decision.gpuIndex}-mem`]: String(Math.ceil(decision.memoryMiB / 256)),
  });
  expect(user!.env).toEqual(
    expect.arrayContaining([
      { name: 'CUDA_MPS_ACTIVE_THREAD_PERCENTAGE', value: String(decision.smLimit) },
      { name: 'DILU_BATCH', value: String(decision.batch) },
      { name: 'DILU_SLO_MS', value: '100' },
    ]),
  );
  expect(queueProxy!.env).toEqual(sent.spec!.containers[1]!.env);
  expect(queueProxy!.resources).toEqual({
    limits: undefined,
    requests: { cpu: '25m' },
    claims: undefined,
  });
  expect(
    spec.affinity!.nodeAffinity!.requiredDuringSchedulingIgnoredDuringExecution!.nodeSelectorTerms,
  ).toEqual([
    {
      matchExpressions: undefined,
      matchFields: [{ key: 'metadata.name', operator: 'In', values: [decision.node] }],
    },
  ]);

  return decision;
}

describeWithControlPlane('the dilu webhook and placement service', testbed => {
  const id = randomBytes(3).toString('hex');
  const nodeName = `dilu-webhook-gpu-${id}`;
  const log = pino({ level: 'silent' });
  let namespace = '';
  let dir = '';
  let placement: RunningPlacementServer | undefined;
  let webhook: RunningServer | undefined;
  let registration: MutatingWebhookRegistration | undefined;

  beforeAll(async () => {
    const { kc, connection } = testbed();
    namespace = await createNamespace(kc, 'dilu-webhook');
    await createGpuNodes(kc, connection, [
      { name: nodeName, gpus: [{ memoryUnits: 160 }, { memoryUnits: 160 }] },
    ]);

    placement = await startPlacementService({ kubeConfig: kc, log, port: 0, host: '127.0.0.1' });
    const service = placement.service;
    await waitFor(
      'placement service sees the GPU node',
      () => Promise.resolve(service.cluster.nodes().some(n => n.id === nodeName)),
      { timeoutMs: 30_000 },
    );

    dir = mkdtempSync(join(tmpdir(), 'dilu-webhook-e2e-'));
    const ca = createCertificateAuthority({ commonName: 'dilu-webhook e2e CA', validDays: 1 });
    const serving = createServingCertificate({
      ca,
      dnsNames: ['localhost'],
      ipAddresses: ['127.0.0.1'],
      validDays: 1,
    });
    writeFileSync(join(dir, 'tls.crt'), serving.certPem);
    writeFileSync(join(dir, 'tls.key'), serving.keyPem);
    const placementUrl = `http://127.0.0.1:${placement.port}`;
    const config = loadConfig(
      {
        port: 0,
        host: '127.0.0.1',
        tlsCert: join(dir, 'tls.crt'),
        tlsKey: join(dir, 'tls.key'),
        placementUrl,
      },
      {},
    );
    const profiles = createProfileStore();
    const resnet = loadProfile(join(PROFILES, 'bs_sm_resnet152.csv'));
    profiles.set(namespace, { ...resnet, name: 'resnet', memoryMiB: 3300 }, []);
    profiles.markReady();
    const decisions = createInstanceDecisionStore();
    decisions.markReady();
    webhook = await startWebhook(
      config,
      { profiles, decisions, placement: createPlacementClient({ baseUrl: placementUrl }) },
      log,
    );
    const port = webhook.port;
    registration = await registerMutatingWebhook(kc, {
      name: `dilu-${namespace}`,
      server: {
        url: path => `https://127.0.0.1:${port}${path}`,
        caPem: ca.certPem,
        requests: [],
        close: () => Promise.resolve(),
      },
      path: '/mutate',
      namespace,
      rules: [
        {
          apiGroups: [''],
          apiVersions: ['v1'],
          operations: ['CREATE'],
          resources: ['pods'],
          scope: 'Namespaced',
        },
      ],
    });
    // The API server loads the configuration asynchronously: probe with a dry run of a pod
    // the webhook refuses until the refusal comes back.
    const core = kc.makeApiClient(CoreV1Api);
    await waitFor(
      'the API server calls the webhook',
      async () => {
        try {
          const probe = revisionPod('probe', [], 'soon');
          await core.createNamespacedPod({ namespace, body: probe, dryRun: 'All' });
          return false;
        } catch (err) {
          return (statusMessageOf(err) ?? '').includes('dilu.dev/slo-ms');
        }
      },
      { timeoutMs: 30_000 },
    );
  });

  afterAll(async () => {
    const { kc } = testbed();
    await registration?.remove();
    await webhook?.close();
    await placement?.stop();
    await deleteNamespace(kc, namespace);
    await deleteNodes(kc, [nodeName]);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('stores the mutated pod, which the placement service holds and the scheduler binds there', async () => {
    const core = testbed().kc.makeApiClient(CoreV1Api);
    const sent = revisionPod('resnet-1');
    await core.createNamespacedPod({ namespace, body: sent });
    const stored = await core.readNamespacedPod({ namespace, name: 'resnet-1' });

    const decision = expectMutated(stored, sent, namespace);

    // The placement service's pod informer sees the pod and takes its reservation over.
    const service = placement!.service;
    const key = `pod/${stored.metadata?.uid ?? ''}`;
    await waitFor(
      'the placement service holds the pod',
      () => Promise.resolve(service.cluster.hasInstance(key)),
      { timeoutMs: 30_000 },
    );
    expect(service.cluster.instance(key)).toMatchObject({
      nodeId: decision.node,
      gpuIndex: decision.gpuIndex,
      smRequest: decision.smRequest,
    });
    // kube-scheduler binds it by its per-GPU resources to the pinned node.
    await waitFor(
      'the pod is bound',
      async () => {
        const p = await core.readNamespacedPod({ namespace, name: 'resnet-1' });
        return p.spec?.nodeName === decision.node;
      },
      { timeoutMs: 30_000 },
    );
  });

  it('refuses a pod that sets CUDA_MPS_* itself, naming the field', async () => {
    const core = testbed().kc.makeApiClient(CoreV1Api);
    let message = '';
    try {
      await core.createNamespacedPod({
        namespace,
        body: revisionPod('resnet-bad', [{ name: 'CUDA_MPS_PIPE_DIRECTORY', value: '/tmp/mps' }]),
      });
    } catch (err) {
      message = statusMessageOf(err) ?? String(err);
    }
    expect(message).toContain(`admission webhook "dilu-${namespace}.dilu.dev" denied the request`);
    expect(message).toContain(
      'spec.containers[0].env[1].name: container "user-container" sets CUDA_MPS_PIPE_DIRECTORY',
    );
  });
});

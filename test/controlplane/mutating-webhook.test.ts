// Proof that the real API server calls a webhook served by the test process over loopback
// HTTPS on pod CREATE, applies its JSON patch, and stores the mutated pod.
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { CoreV1Api, type V1Pod } from '@kubernetes/client-node';
import { createNamespace, deleteNamespace } from '../testbed/client.js';
import { describeWithControlPlane } from '../testbed/suite.js';
import {
  registerMutatingWebhook,
  startWebhookServer,
  untilWebhookCalled,
  type AdmissionRequest,
  type MutatingWebhookRegistration,
  type WebhookServer,
} from '../testbed/webhook.js';

const pod = (name: string): V1Pod => ({
  metadata: { name },
  spec: { containers: [{ name: 'fn', image: 'registry.invalid/dilu/function:1' }] },
});

/** Adds an annotation (creating the map when the pod has none) and an env var. */
function mutate(request: AdmissionRequest) {
  const metadata = (request.object?.['metadata'] ?? {}) as { annotations?: object };
  const stamp = { 'dilu.dev/testbed-mutated': request.uid };
  return {
    allowed: true,
    patch: [
      metadata.annotations === undefined
        ? { op: 'add' as const, path: '/metadata/annotations', value: stamp }
        : {
            op: 'add' as const,
            path: '/metadata/annotations/dilu.dev~1testbed-mutated',
            value: request.uid,
          },
      {
        op: 'add' as const,
        path: '/spec/containers/0/env',
        value: [{ name: 'CUDA_MPS_ACTIVE_THREAD_PERCENTAGE', value: '60' }],
      },
    ],
  };
}

describeWithControlPlane('mutating webhook served over loopback HTTPS', testbed => {
  let namespace = '';
  let server: WebhookServer | undefined;
  let registration: MutatingWebhookRegistration | undefined;

  beforeAll(async () => {
    const { kc } = testbed();
    namespace = await createNamespace(kc, 'webhook');
    server = await startWebhookServer(mutate);
    registration = await registerMutatingWebhook(kc, {
      name: `testbed-${namespace}`,
      server,
      path: '/mutate-pods',
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
    const core = kc.makeApiClient(CoreV1Api);
    await untilWebhookCalled(server, () =>
      core.createNamespacedPod({ namespace, body: pod('probe'), dryRun: 'All' }),
    );
  });

  afterAll(async () => {
    await registration?.remove();
    await server?.close();
    await deleteNamespace(testbed().kc, namespace);
  });

  it('is called on pod create and its patch is stored', async () => {
    const core = testbed().kc.makeApiClient(CoreV1Api);
    const calls = server!.requests.length;

    const created = await core.createNamespacedPod({ namespace, body: pod('fn-1') });

    const received = server!.requests.slice(calls);
    expect(received).toHaveLength(1);
    const request = received[0];
    expect(request).toMatchObject({
      name: 'fn-1',
      operation: 'CREATE',
      namespace,
      kind: { group: '', version: 'v1', kind: 'Pod' },
      resource: { group: '', version: 'v1', resource: 'pods' },
    });
    expect(request?.dryRun).toBe(false);
    expect(created.metadata?.annotations?.['dilu.dev/testbed-mutated']).toBe(request?.uid);

    const stored = await core.readNamespacedPod({ namespace, name: 'fn-1' });
    expect(stored.metadata?.annotations?.['dilu.dev/testbed-mutated']).toBe(request?.uid);
    expect(stored.spec?.containers[0]?.env).toEqual([
      { name: 'CUDA_MPS_ACTIVE_THREAD_PERCENTAGE', value: '60' },
    ]);
  });
});

// Proof that Knative's real PodAutoscaler schema governs what the autoscaler can write: status
// goes through the /status subresource, is validated, and unknown fields are pruned (or, with
// strict field validation, rejected by name).
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { CustomObjectsApi, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import {
  createNamespace,
  deleteNamespace,
  statusCodeOf,
  statusMessageOf,
} from '../testbed/client.js';
import { installKnativeServingCrds } from '../testbed/crds.js';
import { describeWithControlPlane } from '../testbed/suite.js';

const PA = {
  group: 'autoscaling.internal.knative.dev',
  version: 'v1alpha1',
  plural: 'podautoscalers',
};
const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

interface PodAutoscalerStatus {
  desiredScale?: number;
  actualScale?: number;
  serviceName?: string;
  metricsServiceName?: string;
  [field: string]: unknown;
}

describeWithControlPlane('Knative PodAutoscaler through the real CRD', testbed => {
  let namespace = '';

  beforeAll(async () => {
    const { kc } = testbed();
    const crds = await installKnativeServingCrds(kc);
    expect(crds).toContain('podautoscalers.autoscaling.internal.knative.dev');
    namespace = await createNamespace(kc, 'knative-pa');
    await kc.makeApiClient(CustomObjectsApi).createNamespacedCustomObject({
      ...PA,
      namespace,
      body: {
        apiVersion: `${PA.group}/${PA.version}`,
        kind: 'PodAutoscaler',
        metadata: {
          name: 'fn-00001',
          annotations: { 'autoscaling.knative.dev/class': 'dilu.autoscaling.knative.dev' },
        },
        spec: {
          protocolType: 'http1',
          scaleTargetRef: {
            apiVersion: 'apps/v1',
            kind: 'Deployment',
            name: 'fn-00001-deployment',
          },
        },
      },
    });
  });

  afterAll(async () => {
    await deleteNamespace(testbed().kc, namespace);
  });

  const readStatus = async (): Promise<PodAutoscalerStatus> => {
    const pa = (await testbed()
      .kc.makeApiClient(CustomObjectsApi)
      .getNamespacedCustomObjectStatus({ ...PA, namespace, name: 'fn-00001' })) as {
      status?: PodAutoscalerStatus;
    };
    return pa.status ?? {};
  };

  it('stores status written through /status and prunes a wrongly named field', async () => {
    const api = testbed().kc.makeApiClient(CustomObjectsApi);
    await api.patchNamespacedCustomObjectStatus(
      {
        ...PA,
        namespace,
        name: 'fn-00001',
        body: {
          status: {
            serviceName: 'fn-00001',
            metricsServiceName: 'fn-00001-private',
            desiredScale: 3,
            actualScale: 1,
            // Misspelt on purpose: the schema has no such field.
            desiredScal: 7,
          },
        },
      },
      mergePatch,
    );
    const status = await readStatus();
    expect(status.desiredScale).toBe(3);
    expect(status.actualScale).toBe(1);
    expect(status.serviceName).toBe('fn-00001');
    expect(status).not.toHaveProperty('desiredScal');
  });

  it('rejects the wrongly named field by name under strict field validation', async () => {
    const api = testbed().kc.makeApiClient(CustomObjectsApi);
    const write = api.patchNamespacedCustomObjectStatus(
      {
        ...PA,
        namespace,
        name: 'fn-00001',
        fieldValidation: 'Strict',
        body: { status: { desiredScal: 9 } },
      },
      mergePatch,
    );
    const err = await write.then(
      () => undefined,
      (e: unknown) => e,
    );
    // 422 Invalid, naming the field: the whole write is refused, nothing is stored.
    expect(statusCodeOf(err)).toBe(422);
    expect(statusMessageOf(err)).toMatch(
      /strict decoding error: unknown field "status\.desiredScal"/,
    );
    expect((await readStatus()).desiredScale).toBe(3);
  });

  it('ignores status sent to the main resource', async () => {
    const api = testbed().kc.makeApiClient(CustomObjectsApi);
    await api.patchNamespacedCustomObject(
      { ...PA, namespace, name: 'fn-00001', body: { status: { desiredScale: 42 } } },
      mergePatch,
    );
    expect((await readStatus()).desiredScale).toBe(3);
  });
});

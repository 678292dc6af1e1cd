// The project's own CRDs (manifests/base/crds/) install into a real API server, which then
// enforces their schemas: a FunctionProfile as documented is stored, an out-of-range one is
// refused with the field named.
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { CustomObjectsApi } from '@kubernetes/client-node';
import {
  createNamespace,
  deleteNamespace,
  statusCodeOf,
  statusMessageOf,
} from '../testbed/client.js';
import { installProjectCrds } from '../testbed/crds.js';
import { describeWithControlPlane } from '../testbed/suite.js';

const FP = { group: 'dilu.dev', version: 'v1alpha1', plural: 'functionprofiles' };

const profile = (name: string, smPercent: number) => ({
  apiVersion: 'dilu.dev/v1alpha1',
  kind: 'FunctionProfile',
  metadata: { name },
  spec: {
    gpuModel: 'NVIDIA A100-SXM4-40GB',
    memoryMiB: 3072,
    points: [{ batch: 1, smPercent, latencyMs: 28.1, throughputRps: 35.6 }],
  },
});

describeWithControlPlane("the project's CRDs on a real API server", testbed => {
  let namespace = '';

  beforeAll(async () => {
    const { kc } = testbed();
    expect(await installProjectCrds(kc)).toContain('functionprofiles.dilu.dev');
    namespace = await createNamespace(kc, 'project-crds');
  });

  afterAll(async () => {
    await deleteNamespace(testbed().kc, namespace);
  });

  it('stores a valid FunctionProfile and refuses an SM share over 100 by field', async () => {
    const api = testbed().kc.makeApiClient(CustomObjectsApi);
    await api.createNamespacedCustomObject({ ...FP, namespace, body: profile('resnet152', 10) });
    const stored = (await api.getNamespacedCustomObject({
      ...FP,
      namespace,
      name: 'resnet152',
    })) as ReturnType<typeof profile>;
    expect(stored.spec.points[0]?.smPercent).toBe(10);

    const err = await api
      .createNamespacedCustomObject({ ...FP, namespace, body: profile('too-much', 150) })
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(statusCodeOf(err)).toBe(422);
    expect(statusMessageOf(err)).toContain('spec.points[0].smPercent');
  });
});

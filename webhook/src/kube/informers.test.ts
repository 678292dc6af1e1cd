import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createInstanceDecisionStore } from '../instance-decisions/instance-decision.js';
import { silentLogger } from '../logger.js';
import { WebhookMetrics } from '../metrics.js';
import { createProfileStore } from '../profiles/profile-store.js';
import type { FakeApiServer } from '../test-support/fake-api-server.js';
import { startFakeApiServer } from '../test-support/fake-api-server.js';
import type { Stoppable } from './informers.js';
import { startInstanceDecisionInformers, startProfileInformer } from './informers.js';

const PROFILES = '/apis/dilu.dev/v1alpha1/functionprofiles';
const DEPLOYMENTS = '/apis/apps/v1/deployments';

function profile(ns: string, name: string, latencyMs = 20, rv = '1'): object {
  return {
    apiVersion: 'dilu.dev/v1alpha1',
    kind: 'FunctionProfile',
    metadata: { name, namespace: ns, resourceVersion: rv },
    spec: {
      gpuModel: 'NVIDIA A100-SXM4-40GB',
      memoryMiB: 3000,
      points: [
        { batch: 1, smPercent: 20, latencyMs, throughputRps: 1000 / latencyMs },
        { batch: 1, smPercent: 100, latencyMs: latencyMs / 3, throughputRps: 3000 / latencyMs },
      ],
    },
    status: {
      recommendations: [{ sloMs: 50, batch: 1, smRequest: 20, smLimit: 30, throughputRps: 50 }],
    },
  };
}

function deployment(ns: string, name: string, label: string, decision?: string): object {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: {
      name,
      namespace: ns,
      resourceVersion: '5',
      labels: { [label]: 'x' },
      annotations: decision === undefined ? {} : { 'dilu.dev/instance-decision': decision },
    },
    spec: { selector: { matchLabels: {} }, template: {} },
  };
}

let api: FakeApiServer;
const running: Stoppable[] = [];
beforeAll(async () => {
  api = await startFakeApiServer(req => {
    if (req.path === PROFILES) {
      return {
        status: 200,
        body: {
          apiVersion: 'dilu.dev/v1alpha1',
          kind: 'FunctionProfileList',
          metadata: { resourceVersion: '10' },
          items: [
            profile('fns', 'resnet'),
            { ...profile('fns', 'broken'), spec: { gpuModel: 'x', points: [] } },
          ],
        },
      };
    }
    if (req.path === DEPLOYMENTS) {
      const selector = req.query.get('labelSelector');
      const items =
        selector === 'faas_function'
          ? [
              deployment(
                'openfaas-fn',
                'bert',
                'faas_function',
                '{"batch":4,"smRequest":20,"smLimit":40,"memoryMiB":2048,"sloMs":50}',
              ),
            ]
          : [
              deployment(
                'fns',
                'resnet-00001-deployment',
                'serving.knative.dev/revision',
                '{"batch":0}',
              ),
            ];
      return {
        status: 200,
        body: {
          apiVersion: 'apps/v1',
          kind: 'DeploymentList',
          metadata: { resourceVersion: '20' },
          items,
        },
      };
    }
    return undefined;
  });
});
afterAll(async () => {
  for (const r of running) await r.stop();
  await api.close();
});

async function until(check: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise(r => setTimeout(r, 20));
  }
}

describe('informers over a real HTTP API', () => {
  it('fills the profile cache from list and watch, skipping invalid profiles', async () => {
    const store = createProfileStore();
    const metrics = new WebhookMetrics({ defaultMetrics: false });
    running.push(startProfileInformer(api.kubeConfig(), store, silentLogger(), metrics));
    await until(() => store.isReady(), 'the first list');
    const resnet = store.lookup('fns', 'resnet');
    expect(resnet?.profile.gpuModel).toBe('NVIDIA A100-SXM4-40GB');
    expect(resnet?.recommendations).toEqual([
      { sloMs: 50, batch: 1, smRequest: 20, smLimit: 30, throughputRps: 50 },
    ]);
    expect(store.lookup('fns', 'broken')).toBeUndefined();
    expect((await metrics.render()).body).toMatch(
      /dilu_webhook_errors_total\{kind="profile-load"\} 1/,
    );

    await until(() => api.watchers(PROFILES) > 0, 'the watch');
    api.emit(PROFILES, 'ADDED', profile('ml', 'bert', 10, '11'));
    await until(() => store.lookup('ml', 'bert') !== undefined, 'the added profile');
    api.emit(PROFILES, 'MODIFIED', profile('fns', 'resnet', 40, '12'));
    await until(
      () => store.lookup('fns', 'resnet')?.profile.points[0]?.latencyMs === 40,
      'the update',
    );
    api.emit(PROFILES, 'DELETED', profile('ml', 'bert', 10, '13'));
    await until(() => store.lookup('ml', 'bert') === undefined, 'the delete');
  });

  it('reads instance decisions from Knative and OpenFaaS Deployments, ignoring malformed ones', async () => {
    const store = createInstanceDecisionStore();
    running.push(
      startInstanceDecisionInformers(
        api.kubeConfig(),
        store,
        silentLogger(),
        new WebhookMetrics({ defaultMetrics: false }),
      ),
    );
    await until(() => store.isReady(), 'both lists');
    expect(store.get('openfaas-fn', 'bert')).toEqual({
      batch: 4,
      smRequest: 20,
      smLimit: 40,
      memoryMiB: 2048,
      sloMs: 50,
    });
    expect(store.get('fns', 'resnet-00001-deployment')).toBeUndefined();
    await until(() => api.watchers(DEPLOYMENTS) >= 2, 'the watches');
    api.emit(DEPLOYMENTS, 'MODIFIED', {
      ...deployment(
        'fns',
        'resnet-00001-deployment',
        'serving.knative.dev/revision',
        '{"batch":8,"smRequest":30,"smLimit":45,"memoryMiB":3300}',
      ),
      metadata: {
        name: 'resnet-00001-deployment',
        namespace: 'fns',
        resourceVersion: '21',
        labels: { 'serving.knative.dev/revision': 'x' },
        annotations: {
          'dilu.dev/instance-decision': '{"batch":8,"smRequest":30,"smLimit":45,"memoryMiB":3300}',
        },
      },
    });
    await until(
      () => store.get('fns', 'resnet-00001-deployment')?.batch === 8,
      'the updated decision',
    );
  });
});

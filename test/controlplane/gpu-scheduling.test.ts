// Proof that the real kube-scheduler places pods by the per-GPU extended resources: a node
// with 100 `dilu.dev/gpu0-sm` fits one 60-SM replica and no second one.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { AppsV1Api, CoreV1Api, type V1Pod } from '@kubernetes/client-node';
import { createNamespace, deleteNamespace } from '../testbed/client.js';
import { createGpuNodes, deleteNodes } from '../testbed/nodes.js';
import { waitFor } from '../testbed/readiness.js';
import { describeWithControlPlane } from '../testbed/suite.js';

const unschedulable = (p: V1Pod) =>
  p.status?.conditions?.find(c => c.type === 'PodScheduled' && c.status === 'False');

const describePod = (p: V1Pod) =>
  `${p.metadata?.name ?? '?'} on ${p.spec?.nodeName ?? 'no node'} (${p.status?.phase ?? '?'})`;

describeWithControlPlane('scheduling onto fake GPU nodes', testbed => {
  const id = randomBytes(3).toString('hex');
  const group = { 'dilu.dev/testbed-group': `scheduling-${id}` };
  const nodeName = `gpu-node-${id}`;
  let namespace = '';

  beforeAll(async () => {
    const { kc, connection } = testbed();
    namespace = await createNamespace(kc, 'scheduling');
    await createGpuNodes(kc, connection, [
      { name: nodeName, gpus: [{ sm: 100, memoryUnits: 160 }], labels: group },
    ]);
  });

  afterAll(async () => {
    const { kc } = testbed();
    await deleteNamespace(kc, namespace);
    await deleteNodes(kc, [nodeName]);
  });

  it('runs one replica requesting 60 of 100 SM and keeps the second Pending', async () => {
    const { kc } = testbed();
    const apps = kc.makeApiClient(AppsV1Api);
    const core = kc.makeApiClient(CoreV1Api);
    const labels = { app: 'sm60' };
    await apps.createNamespacedDeployment({
      namespace,
      body: {
        metadata: { name: 'sm60' },
        spec: {
          replicas: 2,
          selector: { matchLabels: labels },
          template: {
            metadata: { labels },
            spec: {
              // Only this test's node: other suites may add GPU nodes to the same cluster.
              nodeSelector: group,
              containers: [
                {
                  name: 'fn',
                  // Never pulled: kwok runs no containers.
                  image: 'registry.invalid/dilu/function:1',
                  resources: {
                    requests: { 'dilu.dev/gpu0-sm': '60', 'dilu.dev/gpu0-mem': '16' },
                    limits: { 'dilu.dev/gpu0-sm': '60', 'dilu.dev/gpu0-mem': '16' },
                  },
                },
              ],
            },
          },
        },
      },
    });

    let pods: V1Pod[] = [];
    await waitFor(
      'one pod Running on the GPU node and one Unschedulable',
      async () => {
        pods = (await core.listNamespacedPod({ namespace, labelSelector: 'app=sm60' })).items;
        const running = pods.filter(
          p => p.spec?.nodeName === nodeName && p.status?.phase === 'Running',
        );
        if (pods.length === 2 && running.length === 1 && pods.some(p => unschedulable(p))) {
          return true;
        }
        // Quoted by waitFor if the deadline passes.
        throw new Error(`pods: ${pods.map(describePod).join(', ')}`);
      },
      { timeoutMs: 45_000, intervalMs: 250 },
    );

    const placed = pods.filter(p => p.spec?.nodeName !== undefined);
    const pending = pods.filter(p => p.spec?.nodeName === undefined);
    expect(placed.map(p => p.spec?.nodeName)).toEqual([nodeName]);
    expect(placed[0]?.status?.phase).toBe('Running');
    expect(pending).toHaveLength(1);
    expect(pending[0]?.status?.phase).toBe('Pending');
    const reason = unschedulable(pending[0]!);
    expect(reason?.reason).toBe('Unschedulable');
    expect(reason?.message).toContain('Insufficient dilu.dev/gpu0-sm');
  });
});

// The device plugin's advertised resources as a node's capacity, scheduled by the real
// kube-scheduler. The kubelet is the one part emulated: its job here — turning the healthy
// devices each registered plugin streams on ListAndWatch into node capacity — is done by the
// test from what the real plugin sent to the kubelet stub over its unix socket.
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { CoreV1Api, type V1Pod } from '@kubernetes/client-node';
import {
  createDevicePluginApp,
  KubeletStub,
  loadConfig,
  PodResourcesStub,
  type DevicePluginApp,
} from '@dilu/device-plugin';
import { pino } from 'pino';
import { createNamespace, deleteNamespace } from '../testbed/client.js';
import { createGpuNodes, deleteNodes, type FakeGpu } from '../testbed/nodes.js';
import { createCertificateAuthority } from '../testbed/pki.js';
import { waitFor } from '../testbed/readiness.js';
import { describeWithControlPlane } from '../testbed/suite.js';

const GPUS = [
  {
    uuid: 'GPU-0a0a0a0a-0000-4000-8000-000000000000',
    memoryMiB: 40960,
    name: 'NVIDIA A100-SXM4-40GB',
  },
  {
    uuid: 'GPU-1b1b1b1b-0000-4000-8000-000000000001',
    memoryMiB: 16384,
    name: 'NVIDIA V100-SXM2-16GB',
  },
];

describeWithControlPlane('device plugin capacity scheduled by kube-scheduler', testbed => {
  const id = randomBytes(3).toString('hex');
  const group = { 'dilu.dev/testbed-group': `dp-capacity-${id}` };
  const nodeName = `dp-node-${id}`;
  const root = mkdtempSync(join(tmpdir(), 'dilu-dp-capacity-'));
  let kubelet: KubeletStub;
  let podResources: PodResourcesStub;
  let app: DevicePluginApp;
  let namespace = '';
  /** Healthy device count per resource, as the kubelet would publish it. */
  const advertised: Record<string, number> = {};

  beforeAll(async () => {
    const dp = join(root, 'device-plugins');
    mkdirSync(dp);
    const ca = createCertificateAuthority();
    const serving = ca.issueServing('dilu-node-agent', ['dilu-node-agent', '127.0.0.1']);
    writeFileSync(join(root, 'tls.crt'), serving.certPem);
    writeFileSync(join(root, 'tls.key'), serving.keyPem);
    writeFileSync(
      join(root, 'gpus.yaml'),
      `gpus:\n${GPUS.map(g => `  - uuid: ${g.uuid}\n    memoryMiB: ${g.memoryMiB}\n    name: ${g.name}\n`).join('')}`,
    );
    writeFileSync(
      join(root, 'config.yaml'),
      [
        `devicePluginDir: ${dp}`,
        `podResourcesSocket: ${join(root, 'pod-resources.sock')}`,
        `stateDir: ${join(root, 'state')}`,
        `fakeGpus: ${join(root, 'gpus.yaml')}`,
        `mps: { root: ${join(root, 'mps')} }`,
        'kubelet: { checkIntervalSeconds: 0.2, retrySeconds: 0.2 }',
        'agent:',
        '  host: 127.0.0.1',
        '  port: 0',
        `  tls: { certFile: ${join(root, 'tls.crt')}, keyFile: ${join(root, 'tls.key')} }`,
        'ops: { host: 127.0.0.1, port: 0 }',
        'publishNodeAnnotations: false',
        '',
      ].join('\n'),
    );
    kubelet = await KubeletStub.start(dp);
    podResources = await PodResourcesStub.start(join(root, 'pod-resources.sock'));
    app = createDevicePluginApp({
      config: loadConfig({ file: join(root, 'config.yaml') }),
      log: pino({ level: 'silent' }),
      reviewer: { review: () => Promise.resolve({ authenticated: false, reason: 'unused' }) },
      pods: { read: () => Promise.resolve(undefined) },
    });
    await app.start();
    await waitFor(
      'the plugin registers two resources per GPU',
      () => Promise.resolve(kubelet.resources().length === 2 * GPUS.length),
      { timeoutMs: 20_000 },
    );
    for (const resource of kubelet.resources()) {
      const devices = await kubelet.waitForDevices(resource, d => d.length > 0);
      advertised[resource] = devices.filter(d => d.health === 'Healthy').length;
    }

    const { kc, connection } = testbed();
    namespace = await createNamespace(kc, 'dp-capacity');
    const gpus: FakeGpu[] = GPUS.map((_, i) => ({
      sm: advertised[`dilu.dev/gpu${i}-sm`] ?? 0,
      memoryUnits: advertised[`dilu.dev/gpu${i}-mem`] ?? 0,
    }));
    await createGpuNodes(kc, connection, [{ name: nodeName, gpus, labels: group }]);
  }, 60_000);

  afterAll(async () => {
    const { kc } = testbed();
    if (namespace !== '') await deleteNamespace(kc, namespace);
    await deleteNodes(kc, [nodeName]);
    await app.stop();
    await kubelet.stop();
    podResources.stop();
    rmSync(root, { recursive: true, force: true });
  });

  it('advertises 100 SM devices and one device per 256 MiB for each GPU', () => {
    expect(advertised).toEqual({
      'dilu.dev/gpu0-mem': 160,
      'dilu.dev/gpu0-sm': 100,
      'dilu.dev/gpu1-mem': 64,
      'dilu.dev/gpu1-sm': 100,
    });
  });

  it('gives the node exactly that capacity', async () => {
    const { kc } = testbed();
    const node = await kc.makeApiClient(CoreV1Api).readNode({ name: nodeName });
    for (const [resource, count] of Object.entries(advertised)) {
      expect({ resource, capacity: node.status?.capacity?.[resource] }).toEqual({
        resource,
        capacity: String(count),
      });
    }
  });

  it('schedules a pod that fits GPU 1 and keeps one that exceeds its memory Pending', async () => {
    const { kc } = testbed();
    const core = kc.makeApiClient(CoreV1Api);
    const pod = (name: string, sm: number, memUnits: number): V1Pod => ({
      metadata: { name, labels: { app: name } },
      spec: {
        nodeSelector: group,
        containers: [
          {
            name: 'fn',
            image: 'registry.invalid/dilu/function:1',
            resources: {
              requests: { 'dilu.dev/gpu1-sm': String(sm), 'dilu.dev/gpu1-mem': String(memUnits) },
              limits: { 'dilu.dev/gpu1-sm': String(sm), 'dilu.dev/gpu1-mem': String(memUnits) },
            },
          },
        ],
      },
    });
    // 30 % of the V100's SMs and 4 GiB of its 16 GiB fit; 65 units (16.25 GiB) cannot.
    await core.createNamespacedPod({ namespace, body: pod('fits', 30, 16) });
    await core.createNamespacedPod({ namespace, body: pod('too-big', 30, 65) });
    await waitFor(
      'one pod Running on the node and one Unschedulable',
      async () => {
        const pods = (await core.listNamespacedPod({ namespace })).items;
        const fits = pods.find(p => p.metadata?.name === 'fits');
        const tooBig = pods.find(p => p.metadata?.name === 'too-big');
        const refused = tooBig?.status?.conditions?.find(
          c => c.type === 'PodScheduled' && c.status === 'False',
        );
        return (
          fits?.spec?.nodeName === nodeName &&
          fits.status?.phase === 'Running' &&
          refused?.message?.includes('Insufficient dilu.dev/gpu1-mem') === true
        );
      },
      { timeoutMs: 30_000 },
    );
  });

  it('answers the kubelet with GPU 1 when it allocates that pod its SM devices', async () => {
    const devices = kubelet.devices('dilu.dev/gpu1-sm') ?? [];
    const ids = devices.slice(0, 30).map(d => d.ID);
    const res = await kubelet.allocate('dilu.dev/gpu1-sm', [ids]);
    const envs = res.container_responses[0]?.envs ?? {};
    expect(envs.NVIDIA_VISIBLE_DEVICES).toBe(GPUS[1]?.uuid);
    expect(envs.DILU_ALLOCATION_ID).toMatch(/^a-[0-9a-f]{16}$/);
  });
});

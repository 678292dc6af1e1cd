import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { pino } from 'pino';
import { selfSignedTls } from '../agent/tls.js';
import { loadConfig } from '../config/config.js';
import { memDeviceId, smDeviceId } from '../kubelet/resources.js';
import { httpsCall } from '../testing/https-client.js';
import { KubeletStub } from '../testing/kubelet-stub.js';
import { PodResourcesStub, podHolding } from '../testing/pod-resources-stub.js';
import { waitFor } from '../testing/wait.js';
import { createDevicePluginApp } from './device-plugin-app.js';
import type { DevicePluginApp } from './device-plugin-app.js';

const UUID = 'GPU-11111111-2222-3333-4444-555555555555';
const root = mkdtempSync(join(tmpdir(), 'dilu-app-'));
let kubelet: KubeletStub;
let podResources: PodResourcesStub;
let app: DevicePluginApp;
const tls = selfSignedTls(['dilu-node-agent']);

beforeAll(async () => {
  const dp = join(root, 'device-plugins');
  mkdirSync(dp);
  writeFileSync(join(root, 'gpus.yaml'), `gpus:\n  - uuid: ${UUID}\n    memoryMiB: 40960\n`);
  writeFileSync(join(root, 'tls.crt'), tls.cert);
  writeFileSync(join(root, 'tls.key'), tls.key);
  writeFileSync(
    join(root, 'config.yaml'),
    `devicePluginDir: ${dp}
podResourcesSocket: ${join(root, 'pod-resources.sock')}
stateDir: ${join(root, 'state')}
fakeGpus: ${join(root, 'gpus.yaml')}
mps: { root: ${join(root, 'mps')} }
kubelet: { checkIntervalSeconds: 0.2, retrySeconds: 0.2 }
agent:
  host: 127.0.0.1
  port: 0
  tls: { certFile: ${join(root, 'tls.crt')}, keyFile: ${join(root, 'tls.key')} }
ops: { host: 127.0.0.1, port: 0 }
publishNodeAnnotations: false
`,
  );
  kubelet = await KubeletStub.start(dp);
  podResources = await PodResourcesStub.start(join(root, 'pod-resources.sock'));
  app = createDevicePluginApp({
    config: loadConfig({ file: join(root, 'config.yaml') }),
    log: pino({ level: 'silent' }),
    reviewer: {
      review: t =>
        Promise.resolve(
          t === 'autoscaler-token'
            ? { authenticated: true, username: 'system:serviceaccount:dilu-system:dilu-autoscaler' }
            : { authenticated: false, reason: 'invalid' },
        ),
    },
    pods: { read: () => Promise.resolve({ uid: 'uid-1', smLimit: 40 }) },
  });
  await app.start();
}, 30_000);

afterAll(async () => {
  await app.stop();
  await kubelet.stop();
  podResources.stop();
  rmSync(root, { recursive: true, force: true });
});

const ops = (path: string) => fetch(`http://127.0.0.1:${app.ports().ops}${path}`);

describe('the whole device plugin on one node', () => {
  it('is live and ready once registered with its MPS daemon up; exports its metrics', async () => {
    expect((await ops('/healthz')).status).toBe(200);
    await waitFor('readiness', async () => (await ops('/readyz')).status === 200);
    const metrics = await (await ops('/metrics')).text();
    for (const name of [
      'dilu_gpu_healthy{gpu="0",uuid="GPU-11111111-2222-3333-4444-555555555555"} 1',
      'dilu_mps_daemon_up{gpu="0"} 1',
      'dilu_gpu_memory_advertised_mib{gpu="0"} 40960',
      'dilu_device_plugin_registrations_total{resource="dilu.dev/gpu0-sm",result="ok"} 1',
      'process_cpu_seconds_total',
    ]) {
      expect(metrics).toContain(name);
    }
  });

  it('takes an allocation from Allocate to a quota change through the agent', async () => {
    await waitFor('registration', () => kubelet.resources().length === 2);
    const sm = Array.from({ length: 25 }, (_, i) => smDeviceId(0, i));
    const res = await kubelet.allocate('dilu.dev/gpu0-sm', [sm]);
    const envs = res.container_responses[0]!.envs;
    const id = envs.DILU_ALLOCATION_ID!;
    expect(envs.CUDA_MPS_PIPE_DIRECTORY).toBe('/var/run/dilu-mps/pipe');
    podResources.pods = [
      podHolding({
        namespace: 'fn',
        name: 'p',
        container: 'c',
        gpuIndex: 0,
        smIds: sm,
        memIds: [memDeviceId(0, 0)],
      }),
    ];
    const put = await httpsCall(
      `https://127.0.0.1:${app.ports().agent}/v1/allocations/${id}/quota`,
      {
        method: 'PUT',
        body: { quota: 40 },
        token: 'autoscaler-token',
        ca: tls.cert,
      },
    );
    expect(put).toMatchObject({
      status: 200,
      body: { quota: 40, smRequest: 25, smLimit: 40, memoryMiB: 256 },
    });
    const file = JSON.parse(
      readFileSync(join(root, 'state', 'allocations', id, 'quota.json'), 'utf8'),
    ) as unknown;
    expect(file).toMatchObject({
      quota: 40,
      pod: { namespace: 'fn', name: 'p', uid: 'uid-1', container: 'c' },
    });
    const metrics = await (await ops('/metrics')).text();
    expect(metrics).toMatch(
      /dilu_device_plugin_grpc_duration_seconds_count\{method="Allocate",code="OK"\} 1/,
    );
    expect(metrics).toContain('dilu_node_agent_quota_updates_total{result="applied"} 1');
  });
});

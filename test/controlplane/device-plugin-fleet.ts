// The real device plugin (@dilu/device-plugin) as the node agents of the autoscaler suites:
// one application per fake node, serving the node agent API over HTTPS on the node's
// (loopback) InternalIP, reviewing the autoscaler's token with the test bed's API server
// (TokenReview, audience dilu-node-agent) and reading pods from it. What cannot run here
// stands in as the device plugin's own tests do: a kubelet stub for registration and
// Allocate, a PodResources stub the test fills as a kubelet would, fake GPUs for nvidia-smi.
import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoreV1Api, type KubeConfig, type V1Pod } from '@kubernetes/client-node';
import {
  configSchema,
  createDevicePluginApp,
  KubeletStub,
  memDeviceId,
  PodResourcesStub,
  smDeviceId,
  type DevicePluginApp,
} from '@dilu/device-plugin';
import {
  createNodeAgentClient,
  createNodeAgentDispatcher,
  type NodeAgentClient,
} from '@dilu/autoscaler/controller';
import { pino } from 'pino';
import { createCertificateAuthority } from '../testbed/pki.js';
import { waitFor } from '../testbed/readiness.js';
import {
  podSm,
  sleep,
  type LoopbackNode,
  type NodeAgentFleet,
  type QuotaChange,
} from './autoscaler-fixtures.js';

interface NodeSide {
  readonly app: DevicePluginApp;
  readonly kubelet: KubeletStub;
  readonly podResources: PodResourcesStub;
  nextSm: number;
  nextMem: number;
}

type PodResourcesEntry = PodResourcesStub['pods'][number];

export async function startDevicePluginFleet(opts: {
  readonly admin: KubeConfig;
  readonly nodes: readonly LoopbackNode[];
  /** Namespace of the autoscaler's service account (dilu-autoscaler). */
  readonly namespace: string;
}): Promise<NodeAgentFleet> {
  const root = mkdtempSync(join(tmpdir(), 'dilu-device-plugins-'));
  const ca = createCertificateAuthority('dilu-node-agent-test-ca');
  const cert = ca.issueServing('dilu-node-agent', ['dilu-node-agent']);
  writeFileSync(join(root, 'tls.crt'), cert.certPem);
  writeFileSync(join(root, 'tls.key'), cert.keyPem);
  const caFile = join(root, 'ca.crt');
  writeFileSync(caFile, ca.certPem);
  // The token the autoscaler's projected volume would hold.
  const tr = await opts.admin.makeApiClient(CoreV1Api).createNamespacedServiceAccountToken({
    name: 'dilu-autoscaler',
    namespace: opts.namespace,
    body: { spec: { audiences: ['dilu-node-agent'], expirationSeconds: 3600 } },
  });
  const token = tr.status?.token ?? '';
  const tokenFile = join(root, 'token');
  writeFileSync(tokenFile, token);

  const sides = new Map<string, NodeSide>();
  let port = 0;
  for (const [index, n] of opts.nodes.entries()) {
    const dir = join(root, n.name);
    mkdirSync(join(dir, 'device-plugins'), { recursive: true });
    writeFileSync(
      join(dir, 'gpus.yaml'),
      `gpus:\n  - uuid: GPU-${String(index).padStart(8, '0')}-0000-4000-8000-000000000000\n` +
        '    memoryMiB: 40960\n',
    );
    const kubelet = await KubeletStub.start(join(dir, 'device-plugins'));
    const podResources = await PodResourcesStub.start(join(dir, 'pod-resources.sock'));
    const config = configSchema.parse({
      nodeName: n.name,
      devicePluginDir: join(dir, 'device-plugins'),
      podResourcesSocket: join(dir, 'pod-resources.sock'),
      stateDir: join(dir, 'state'),
      fakeGpus: join(dir, 'gpus.yaml'),
      logLevel: 'warn',
      mps: { root: join(dir, 'mps') },
      kubelet: { checkIntervalSeconds: 0.2, retrySeconds: 0.2 },
      agent: {
        host: n.internalIp,
        port,
        tls: { certFile: join(root, 'tls.crt'), keyFile: join(root, 'tls.key') },
        allowedServiceAccounts: [`${opts.namespace}/dilu-autoscaler`],
      },
      ops: { host: '127.0.0.1', port: 0 },
      publishNodeAnnotations: false,
    });
    const app = createDevicePluginApp({
      config,
      log: pino({ level: 'silent' }),
      kubeConfig: () => opts.admin,
    });
    await app.start();
    port = app.ports().agent ?? 0;
    sides.set(n.name, { app, kubelet, podResources, nextSm: 0, nextMem: 0 });
    await waitFor(
      `device plugin on ${n.name} registered`,
      () => Promise.resolve(kubelet.resources().length >= 2),
      { timeoutMs: 30_000 },
    );
  }

  // The autoscaler's view of the agents, polled to record each quota change as it lands.
  const dispatcher = createNodeAgentDispatcher({ ca: ca.certPem, serverName: 'dilu-node-agent' });
  const client: NodeAgentClient = createNodeAgentClient({
    baseUrl: node => {
      const n = opts.nodes.find(x => x.name === node);
      return n === undefined ? undefined : `https://${n.internalIp}:${port}`;
    },
    token: () => token,
    timeoutMs: 2000,
    dispatcher,
  });
  const changes: QuotaChange[] = [];
  /**
   * When the agent made the change durable: its quota file's modification time (the agent
   * answers 200 only after writing it), so the order against replica changes is exact
   * whatever the polling interval.
   */
  const writtenAt = (node: string, id: string): number => {
    try {
      return statSync(join(root, node, 'state', 'allocations', id, 'quota.json')).mtimeMs;
    } catch {
      return Date.now();
    }
  };
  const seen = new Map<string, number>();
  const state = { stopped: false };
  const running = (): boolean => !state.stopped;
  const record = async (node: string): Promise<void> => {
    for (const a of await client.allocations(node)) {
      // Ids come from device ids, so two nodes can hold the same one.
      const key = `${node}/${a.allocationId}`;
      const before = seen.get(key);
      if (before !== undefined && before !== a.quota) {
        changes.push({
          atMs: writtenAt(node, a.allocationId),
          pod: a.pod?.name,
          from: before,
          to: a.quota,
        });
      }
      seen.set(key, a.quota);
    }
  };
  const poll = (async () => {
    while (running()) {
      for (const n of opts.nodes) await record(n.name).catch(() => undefined);
      await sleep(100);
    }
  })();

  const entries = (side: NodeSide): PodResourcesEntry[] => [...side.podResources.pods];
  return {
    port,
    token,
    caFile,
    tokenFile,
    quotaChanges: () => [...changes],
    /** Allocate through the kubelet's gRPC call, then list the pod in PodResources. */
    async allocate(node, pod: V1Pod) {
      const side = sides.get(node);
      const res = podSm(pod);
      if (side === undefined || res === undefined) return undefined;
      const smIds = Array.from({ length: res.sm }, (_, i) =>
        smDeviceId(res.gpuIndex, (side.nextSm + i) % 100),
      );
      const memIds = Array.from({ length: res.memUnits }, (_, i) =>
        memDeviceId(res.gpuIndex, (side.nextMem + i) % 160),
      );
      side.nextSm += res.sm;
      side.nextMem += res.memUnits;
      const answer = await side.kubelet.allocate(`dilu.dev/gpu${res.gpuIndex}-sm`, [smIds]);
      await side.kubelet.allocate(`dilu.dev/gpu${res.gpuIndex}-mem`, [memIds]);
      const id = answer.container_responses[0]?.envs.DILU_ALLOCATION_ID;
      const container = pod.spec?.containers[0]?.name ?? '';
      side.podResources.pods = [
        ...entries(side),
        {
          namespace: pod.metadata?.namespace ?? '',
          name: pod.metadata?.name ?? '',
          containers: [
            {
              name: container,
              devices: [
                {
                  resource_name: `dilu.dev/gpu${res.gpuIndex}-sm`,
                  device_ids: smIds,
                  topology: null,
                },
                {
                  resource_name: `dilu.dev/gpu${res.gpuIndex}-mem`,
                  device_ids: memIds,
                  topology: null,
                },
              ],
            },
          ],
        },
      ];
      return id;
    },
    release(node, pod) {
      const side = sides.get(node);
      if (side !== undefined) {
        side.podResources.pods = entries(side).filter(e => e.name !== pod.metadata?.name);
      }
      return Promise.resolve();
    },
    async stop() {
      state.stopped = true;
      await poll;
      await dispatcher.close();
      for (const side of sides.values()) {
        await side.app.stop();
        await side.kubelet.stop();
        side.podResources.stop();
      }
      rmSync(root, { recursive: true, force: true });
    },
  };
}

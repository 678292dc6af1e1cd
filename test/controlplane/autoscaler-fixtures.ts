// Fixtures shared by the autoscaler's control-plane suites: fake GPU nodes whose pod and node
// addresses are loopback addresses (so the autoscaler's production code reaches emulated
// queue-proxies and node agents there), the autoscaler's service account bound to the RBAC
// in manifests/base/autoscaler, and the emulations of what cannot run here (the device
// plugin's allocations, Knative's SKS reconciler, queue-proxies).
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  AppsV1Api,
  CoreV1Api,
  CustomObjectsApi,
  KubeConfig,
  PatchStrategy,
  RbacAuthorizationV1Api,
  setHeaderOptions,
  type KubernetesObject,
  type V1Deployment,
  type V1Pod,
} from '@kubernetes/client-node';
import {
  startContractNodeAgent,
  startEmulatedQueueProxy,
  startEmulatedRuntime,
  type ContractNodeAgent,
  type EmulatedQueueProxy,
  type EmulatedRuntime,
} from '@dilu/autoscaler/controller/testing';
import { applyObjects, readManifests } from '../testbed/crds.js';
import { TEST_PACKAGE_ROOT } from '../testbed/cache.js';
import type { TestbedConnection } from '../testbed/control-plane.js';
import { gpuNodeManifest, type GpuNodeSpec } from '../testbed/nodes.js';
import { createCertificateAuthority } from '../testbed/pki.js';
import { waitFor } from '../testbed/readiness.js';

export const AUTOSCALER_MANIFESTS = join(
  TEST_PACKAGE_ROOT,
  '..',
  'manifests',
  'base',
  'autoscaler',
);
export const BUNDLED_PROFILES = join(
  TEST_PACKAGE_ROOT,
  '..',
  'autoscaler',
  'data',
  'profiles',
  'dilu-a100',
);
const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

export const sleep = (ms: number): Promise<void> => new Promise(r => setTimeout(r, ms));

/** A TCP port free on every address (so it is free on any 127.x address too). */
export function freePortAnyAddress(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, () => {
      const a = s.address();
      const port = typeof a === 'object' && a !== null ? a.port : 0;
      s.close(() => resolve(port));
    });
  });
}

export interface LoopbackNode extends GpuNodeSpec {
  /** e.g. 127.0.41.0/24: kwok allocates the node's pod IPs from it. */
  readonly podCidr: string;
  /** e.g. 127.0.42.1: where the node's agent listens. */
  readonly internalIp: string;
}

/** Fake GPU nodes with loopback pod CIDRs and InternalIPs, Ready and schedulable. */
export async function createLoopbackGpuNodes(
  kc: KubeConfig,
  connection: TestbedConnection,
  nodes: readonly LoopbackNode[],
): Promise<void> {
  const core = kc.makeApiClient(CoreV1Api);
  const setStatus = async (n: LoopbackNode): Promise<void> => {
    const manifest = gpuNodeManifest(n, connection);
    await core.patchNodeStatus(
      {
        name: n.name,
        body: {
          status: {
            capacity: manifest.status?.capacity,
            allocatable: manifest.status?.allocatable,
            addresses: [
              { type: 'InternalIP', address: n.internalIp },
              { type: 'Hostname', address: n.name },
            ],
          },
        },
      },
      mergePatch,
    );
  };
  for (const n of nodes) {
    const manifest = gpuNodeManifest(n, connection);
    manifest.spec = { podCIDR: n.podCidr, podCIDRs: [n.podCidr] };
    await core.createNode({ body: manifest });
    await setStatus(n);
  }
  await waitFor(
    'loopback GPU nodes Ready',
    async () => {
      for (const n of nodes) {
        const node = await core.readNode({ name: n.name });
        const ready = node.status?.conditions?.some(c => c.type === 'Ready' && c.status === 'True');
        const ip = node.status?.addresses?.find(a => a.type === 'InternalIP')?.address;
        // kwok fills in its own node IP when it initializes a node it saw without addresses;
        // ours goes in again until it sticks (kwok keeps addresses it finds).
        if (ip !== n.internalIp) await setStatus(n);
        if (ready !== true || ip !== n.internalIp) {
          throw new Error(`${n.name}: Ready ${String(ready)}, InternalIP ${String(ip)}`);
        }
      }
      return true;
    },
    { timeoutMs: 30_000, intervalMs: 300 },
  );
}

/**
 * The autoscaler's identity in the test bed: a service account in `namespace` bound to the
 * ClusterRole of manifests/base/autoscaler/rbac.yaml, plus its namespaced Roles (Lease and
 * config-autoscaler) moved into the suite's namespace. Returns a KubeConfig with its token, so
 * a missing verb fails the suite as it would fail in a cluster.
 */
export async function autoscalerIdentity(
  admin: KubeConfig,
  connection: TestbedConnection,
  namespace: string,
): Promise<{ kc: KubeConfig; kubeconfigFile: string; cleanup: () => Promise<void> }> {
  const core = admin.makeApiClient(CoreV1Api);
  const rbac = admin.makeApiClient(RbacAuthorizationV1Api);
  const objects = readManifests(AUTOSCALER_MANIFESTS);
  const clusterRole = objects.find(o => o.kind === 'ClusterRole');
  if (clusterRole === undefined) throw new Error('no ClusterRole in manifests/base/autoscaler');
  await applyObjects(admin, [clusterRole]);
  const roles = objects
    .filter(o => o.kind === 'Role')
    .map(o => {
      const copy = JSON.parse(JSON.stringify(o)) as KubernetesObject;
      if (copy.metadata !== undefined) copy.metadata.namespace = namespace;
      return copy;
    });
  await applyObjects(admin, roles);
  await core.createNamespacedServiceAccount({
    namespace,
    body: { metadata: { name: 'dilu-autoscaler' } },
  });
  const subject = { kind: 'ServiceAccount', name: 'dilu-autoscaler', namespace };
  const bindingName = `dilu-autoscaler-${namespace}`;
  await rbac.createClusterRoleBinding({
    body: {
      metadata: { name: bindingName },
      roleRef: {
        apiGroup: 'rbac.authorization.k8s.io',
        kind: 'ClusterRole',
        name: 'dilu-autoscaler',
      },
      subjects: [subject],
    },
  });
  for (const role of roles) {
    await rbac.createNamespacedRoleBinding({
      namespace,
      body: {
        metadata: { name: role.metadata?.name ?? '' },
        roleRef: {
          apiGroup: 'rbac.authorization.k8s.io',
          kind: 'Role',
          name: role.metadata?.name ?? '',
        },
        subjects: [subject],
      },
    });
  }
  const tr = await core.createNamespacedServiceAccountToken({
    name: 'dilu-autoscaler',
    namespace,
    body: { spec: { expirationSeconds: 3600, audiences: [] } },
  });
  const token = tr.status?.token;
  if (token === undefined) throw new Error('no token for the autoscaler service account');
  const kc = new KubeConfig();
  const options = {
    clusters: [
      {
        name: 'testbed',
        server: connection.server,
        caData: Buffer.from(connection.caPem).toString('base64'),
        skipTLSVerify: false,
      },
    ],
    users: [{ name: 'dilu-autoscaler', token }],
    contexts: [{ name: 'testbed', cluster: 'testbed', user: 'dilu-autoscaler' }],
    currentContext: 'testbed',
  };
  kc.loadFromOptions(options);
  const dir = mkdtempSync(join(tmpdir(), 'dilu-autoscaler-kc-'));
  const kubeconfigFile = join(dir, 'kubeconfig');
  writeFileSync(kubeconfigFile, kc.exportConfig());
  return {
    kc,
    kubeconfigFile,
    cleanup: async () => {
      rmSync(dir, { recursive: true, force: true });
      await rbac.deleteClusterRoleBinding({ name: bindingName }).catch(() => undefined);
    },
  };
}

/** A quota change seen at a node agent. */
export interface QuotaChange {
  readonly atMs: number;
  readonly pod: string | undefined;
  readonly from: number;
  readonly to: number;
}

/** What the device plugin does for a pod on a node: record its allocation, or drop it. */
export interface DeviceSide {
  allocate(node: string, pod: V1Pod): Promise<string | undefined>;
  release(node: string, pod: V1Pod, allocationId: string): Promise<void>;
}

/** Node agents on every node's InternalIP, one port, HTTPS naming dilu-node-agent. */
export interface NodeAgentFleet extends DeviceSide {
  readonly port: number;
  readonly token: string;
  readonly caFile: string;
  readonly tokenFile: string;
  /** Every quota change the agents accepted, oldest first. */
  quotaChanges(): QuotaChange[];
  stop(): Promise<void>;
}

/** Node agents speaking node-agent-api.md over HTTPS, one per node at its InternalIP. */
export interface AgentFleet extends NodeAgentFleet {
  readonly agents: ReadonlyMap<string, ContractNodeAgent>;
}

export async function startAgentFleet(nodes: readonly LoopbackNode[]): Promise<AgentFleet> {
  const ca = createCertificateAuthority('dilu-node-agents-test-ca');
  const token = randomBytes(24).toString('hex');
  const dir = mkdtempSync(join(tmpdir(), 'dilu-agents-'));
  const caFile = join(dir, 'ca.crt');
  const tokenFile = join(dir, 'token');
  writeFileSync(caFile, ca.certPem);
  writeFileSync(tokenFile, token);
  const agents = new Map<string, ContractNodeAgent>();
  let port = 0;
  for (const n of nodes) {
    // As the device plugin's certificate: it names dilu-node-agent (node-agent-api.md).
    const cert = ca.issueServing('dilu-node-agent', ['dilu-node-agent']);
    const agent = await startContractNodeAgent({
      host: n.internalIp,
      port,
      tls: { key: cert.keyPem, cert: cert.certPem },
      allowedTokens: [token],
    });
    port = agent.port;
    agents.set(n.name, agent);
  }
  return {
    port,
    token,
    caFile,
    tokenFile,
    agents,
    quotaChanges: () =>
      [...agents.values()]
        .flatMap(a => a.writes())
        .filter(w => w.status === 200)
        .map(w => ({ atMs: w.atMs, pod: w.pod, from: w.from, to: w.to }))
        .sort((a, b) => a.atMs - b.atMs),
    allocate(node, pod) {
      const agent = agents.get(node);
      const allocation = contractAllocation(pod, node);
      if (agent === undefined || allocation === undefined) return Promise.resolve(undefined);
      agent.put(allocation);
      return Promise.resolve(allocation.allocationId);
    },
    release(node, _pod, id) {
      agents.get(node)?.remove(id);
      return Promise.resolve();
    },
    async stop() {
      await Promise.all([...agents.values()].map(a => a.close()));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The allocation the device plugin would record for a running pod (contract agents). */
function contractAllocation(pod: V1Pod, node: string) {
  const res = podSm(pod);
  if (res === undefined) return undefined;
  const decision = JSON.parse(pod.metadata?.annotations?.['dilu.dev/decision'] ?? '{}') as {
    smLimit?: number;
  };
  return {
    allocationId: allocationIdOf(pod),
    gpuIndex: res.gpuIndex,
    gpuUuid: `GPU-${node}-${res.gpuIndex}`,
    smRequest: res.sm,
    smLimit: decision.smLimit ?? res.sm,
    quota: res.sm,
    memoryMiB: res.memUnits * 256,
    pod: {
      namespace: pod.metadata?.namespace ?? '',
      name: pod.metadata?.name ?? '',
      uid: pod.metadata?.uid ?? '',
      container: pod.spec?.containers[0]?.name ?? '',
    },
  };
}

/** The allocation id the device plugin would derive for a pod (a-<16 hex>). */
export function allocationIdOf(pod: V1Pod): string {
  return `a-${createHash('sha256')
    .update(pod.metadata?.uid ?? '')
    .digest('hex')
    .slice(0, 16)}`;
}

export function podSm(pod: V1Pod): { gpuIndex: number; sm: number; memUnits: number } | undefined {
  const requests = pod.spec?.containers.flatMap(c => Object.entries(c.resources?.requests ?? {}));
  const sm = requests?.find(([k]) => /^dilu\.dev\/gpu\d+-sm$/.test(k));
  if (sm === undefined) return undefined;
  const gpuIndex = Number(/gpu(\d+)-sm/.exec(sm[0])?.[1]);
  const mem = requests?.find(([k]) => k === `dilu.dev/gpu${gpuIndex}-mem`);
  return { gpuIndex, sm: Number(sm[1]), memUnits: Number(mem?.[1] ?? 0) };
}

/**
 * Emulates the cluster side that cannot run here, by watching the namespace every 150 ms:
 * - the device plugin: an allocation on the node's agent for each running pod that holds
 *   per-GPU SM resources (request = the SM devices, limit = the pod's decision annotation,
 *   quota starting at the request), removed when the pod goes;
 * - each pod's queue-proxy: a server on the pod's (loopback) IP serving `Stat` whose request
 *   rate is the offered load split evenly over ready pods (round robin);
 * - Knative's SKS reconciler: an SKS gets its Service names and Ready.
 */
export interface ClusterEmulation {
  setLoad(rps: number): void;
  load(): number;
  stop(): Promise<void>;
}

export function emulateCluster(opts: {
  readonly kc: KubeConfig;
  readonly namespace: string;
  readonly fleet: DeviceSide;
  readonly queueProxyPort?: number;
  readonly podLabel: string;
  readonly sks?: boolean;
  /** Serve each pod's runtime latency histogram on this port (runtime-metrics.md). */
  readonly runtimePort?: number;
  readonly latencyMs?: number;
}): ClusterEmulation {
  const core = opts.kc.makeApiClient(CoreV1Api);
  const custom = opts.kc.makeApiClient(CustomObjectsApi);
  let rps = 0;
  let ready = 1;
  const state = { stopped: false };
  const running = (): boolean => !state.stopped;
  const proxies = new Map<string, Promise<EmulatedQueueProxy | undefined>>();
  const runtimes = new Map<string, Promise<EmulatedRuntime | undefined>>();
  const allocated = new Map<string, { node: string; id: string; pod: V1Pod }>();

  const pending = new Set<string>();
  /** The device plugin's part for a pod that started: its allocation on the node's agent. */
  const allocate = (pod: V1Pod): void => {
    const name = pod.metadata?.name ?? '';
    const node = pod.spec?.nodeName;
    if (node === undefined || allocated.has(name) || pending.has(name)) return;
    if (pod.status?.phase !== 'Running') return;
    pending.add(name);
    void opts.fleet
      .allocate(node, pod)
      .then(id => {
        if (id !== undefined) allocated.set(name, { node, id, pod });
      })
      .catch(() => undefined)
      .finally(() => pending.delete(name));
  };

  const serveStats = (pod: V1Pod): void => {
    const name = pod.metadata?.name ?? '';
    const ip = pod.status?.podIP;
    if (opts.queueProxyPort === undefined || ip === undefined || proxies.has(name)) return;
    proxies.set(
      name,
      startEmulatedQueueProxy({
        host: ip,
        port: opts.queueProxyPort,
        podName: name,
        stat: () => ({ requestCount: rps / ready, averageConcurrentRequests: rps / ready / 20 }),
      }).catch(() => undefined),
    );
  };

  const serveRuntime = (pod: V1Pod): void => {
    const name = pod.metadata?.name ?? '';
    const ip = pod.status?.podIP;
    if (opts.runtimePort === undefined || ip === undefined || runtimes.has(name)) return;
    runtimes.set(
      name,
      startEmulatedRuntime({
        host: ip,
        port: opts.runtimePort,
        rps: () => rps / ready,
        latencyMs: () => opts.latencyMs ?? 50,
      }).catch(() => undefined),
    );
  };

  const dropGone = (live: ReadonlySet<string>): void => {
    for (const [name, a] of allocated) {
      if (live.has(name)) continue;
      allocated.delete(name);
      void opts.fleet.release(a.node, a.pod, a.id).catch(() => undefined);
    }
    for (const servers of [proxies, runtimes]) {
      for (const [name, p] of servers) {
        if (live.has(name)) continue;
        servers.delete(name);
        void p.then(s => s?.close());
      }
    }
  };

  const syncPods = async (): Promise<void> => {
    const pods = (
      await core.listNamespacedPod({ namespace: opts.namespace, labelSelector: opts.podLabel })
    ).items.filter(p => p.metadata?.deletionTimestamp === undefined);
    ready = Math.max(
      1,
      pods.filter(p => p.status?.conditions?.some(c => c.type === 'Ready' && c.status === 'True'))
        .length,
    );
    for (const pod of pods) {
      allocate(pod);
      serveStats(pod);
      serveRuntime(pod);
    }
    dropGone(new Set(pods.map(p => p.metadata?.name ?? '')));
  };

  const syncSks = async (): Promise<void> => {
    const list = (await custom.listNamespacedCustomObject({
      group: 'networking.internal.knative.dev',
      version: 'v1alpha1',
      plural: 'serverlessservices',
      namespace: opts.namespace,
    })) as { items: { metadata: { name: string }; status?: { serviceName?: string } }[] };
    for (const s of list.items) {
      if (s.status?.serviceName) continue;
      await custom.patchNamespacedCustomObjectStatus(
        {
          group: 'networking.internal.knative.dev',
          version: 'v1alpha1',
          plural: 'serverlessservices',
          namespace: opts.namespace,
          name: s.metadata.name,
          body: {
            status: {
              serviceName: s.metadata.name,
              privateServiceName: `${s.metadata.name}-private`,
              observedGeneration: 1,
              conditions: [
                {
                  type: 'EndpointsPopulated',
                  status: 'True',
                  lastTransitionTime: new Date().toISOString(),
                },
                { type: 'Ready', status: 'True', lastTransitionTime: new Date().toISOString() },
              ],
            },
          },
        },
        mergePatch,
      );
    }
  };

  const loop = (async () => {
    while (running()) {
      try {
        await syncPods();
        if (opts.sks === true) await syncSks();
      } catch {
        // The next round catches up.
      }
      await sleep(150);
    }
  })();

  return {
    setLoad(v) {
      rps = v;
    },
    load: () => rps,
    async stop() {
      state.stopped = true;
      await loop;
      await Promise.all(
        [...proxies.values(), ...runtimes.values()].map(p => p.then(s => s?.close())),
      );
    },
  };
}

export interface ReplicaChange {
  readonly atMs: number;
  readonly from: number;
  readonly to: number;
}

/** Records every change of a Deployment's spec.replicas (polled every 100 ms). */
export function pollReplicas(
  apps: AppsV1Api,
  namespace: string,
  name: string,
  out: ReplicaChange[],
): () => void {
  let last: number | undefined;
  const state = { stopped: false };
  const running = (): boolean => !state.stopped;
  void (async () => {
    while (running()) {
      try {
        const d = await apps.readNamespacedDeployment({ namespace, name });
        const r = d.spec?.replicas ?? 0;
        if (last !== undefined && r !== last) out.push({ atMs: Date.now(), from: last, to: r });
        last = r;
      } catch {
        // not created yet
      }
      await sleep(100);
    }
  })();
  return () => {
    state.stopped = true;
  };
}

/** A GPU instance configuration pinned by annotations (dilu.dev/batch, sm, sm-limit). */
export interface PinnedInstance {
  readonly batch: number;
  readonly smRequest: number;
  readonly smLimit: number;
  readonly sloMs: number;
}

/**
 * The pod template a GPU function's pods get once the webhook has placed them on GPU 0 of a
 * node: per-GPU SM and memory resources and the decision annotation (annotations.md). The
 * webhook itself is not in these suites' loop; the template carries its output.
 */
export function gpuPodTemplate(
  labels: Record<string, string>,
  nodeSelector: Record<string, string>,
  pinned: PinnedInstance,
  extraAnnotations: Record<string, string> = {},
): NonNullable<V1Deployment['spec']>['template'] {
  const gpu = {
    'dilu.dev/gpu0-sm': String(pinned.smRequest),
    'dilu.dev/gpu0-mem': '16',
  };
  return {
    metadata: {
      labels,
      annotations: {
        ...extraAnnotations,
        'dilu.dev/decision': JSON.stringify({
          batch: pinned.batch,
          smRequest: pinned.smRequest,
          smLimit: pinned.smLimit,
          memoryMiB: 4096,
          gpuIndex: 0,
          source: 'explicit',
        }),
      },
    },
    spec: {
      nodeSelector,
      containers: [
        {
          name: 'user-container',
          image: 'registry.invalid/fn:1',
          resources: { requests: gpu, limits: gpu },
        },
      ],
    },
  };
}

/** A Knative revision's Deployment (`<rev>-deployment`) and PodAutoscaler of our class. */
export function knativeRevision(opts: {
  readonly revision: string;
  readonly service: string;
  readonly nodeSelector: Record<string, string>;
  readonly pinned: PinnedInstance;
  readonly paClass: string;
  /** Annotations over the defaults below (min-scale 1, window 6s, scale-down-delay 5s). */
  readonly annotations?: Record<string, string>;
}): { deployment: V1Deployment; pa: Record<string, unknown> } {
  const labels = {
    'serving.knative.dev/revision': opts.revision,
    'serving.knative.dev/service': opts.service,
    'serving.knative.dev/configuration': opts.service,
  };
  const template = gpuPodTemplate(labels, opts.nodeSelector, opts.pinned);
  template.spec?.containers.push({ name: 'queue-proxy', image: 'registry.invalid/queue:1' });
  return {
    deployment: {
      metadata: { name: `${opts.revision}-deployment`, labels },
      spec: {
        replicas: 1,
        selector: { matchLabels: { 'serving.knative.dev/revision': opts.revision } },
        template,
      },
    },
    pa: {
      apiVersion: 'autoscaling.internal.knative.dev/v1alpha1',
      kind: 'PodAutoscaler',
      metadata: {
        name: opts.revision,
        labels,
        annotations: {
          'autoscaling.knative.dev/class': opts.paClass,
          'autoscaling.knative.dev/min-scale': '1',
          'autoscaling.knative.dev/window': '6s',
          'autoscaling.knative.dev/scale-down-delay': '5s',
          // Forget a load burst within seconds, as the short Knative windows above do, so one
          // test sees the whole rise and fall (the default keeps burst capacity for 30 min).
          'dilu.dev/burst-half-life': '5',
          'dilu.dev/slo-ms': String(opts.pinned.sloMs),
          'dilu.dev/batch': String(opts.pinned.batch),
          'dilu.dev/sm': String(opts.pinned.smRequest),
          'dilu.dev/sm-limit': String(opts.pinned.smLimit),
          ...opts.annotations,
        },
      },
      spec: {
        protocolType: 'http1',
        reachability: 'Reachable',
        scaleTargetRef: {
          apiVersion: 'apps/v1',
          kind: 'Deployment',
          name: `${opts.revision}-deployment`,
        },
      },
    },
  };
}

// An emulated GPU node: what the kubelet does for the device plugin and for the pods bound to
// the node, against the real API server, with the project's real device plugin process on the
// other end of real unix sockets.
//
// - The Node object (no kwok label: this emulation owns it), its Lease heartbeat, its
//   addresses and pod CIDR in 127.0.0.0/8, so every pod gets its own loopback address.
// - The device plugin API: Registration on <dir>/device-plugins/kubelet.sock and one
//   ListAndWatch stream per resource (the device plugin package's KubeletStub); the node's
//   capacity and allocatable are what the plugin advertises, as a kubelet reports them.
// - Admission of each pod bound here: device IDs chosen for its dilu.dev/gpu<i>-* resources
//   (GetPreferredAllocation when the plugin offers it), Allocate called per resource and
//   container, the PodResources API (PodResourcesStub) listing what each container holds.
// - Containers run as local processes (see containers.ts); readiness probes are HTTP GETs on
//   the pod's IP; pod status (phase, IP, conditions, container states) is written as a kubelet
//   writes it; a pod being deleted gets SIGTERM, its grace period, then is removed.
// - restartKubelet() deletes every socket and serves a new kubelet.sock while containers keep
//   running, as a kubelet restart does; the plugin must notice and register again.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import {
  CoordinationV1Api,
  CoreV1Api,
  PatchStrategy,
  setHeaderOptions,
  type KubeConfig,
  type V1Container,
  type V1Pod,
} from '@kubernetes/client-node';
import { KubeletStub, PodResourcesStub } from '@dilu/device-plugin';
import { statusCodeOf } from '../../testbed/client.js';
import { request } from 'node:http';
import { containerEnv, type ContainerRuntime, type RunningContainer } from './containers.js';

/** Reads a flag another closure sets (a loop's stop signal), unnarrowed. */
const flag = (read: () => boolean): boolean => read();

const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
const DILU_RESOURCE = /^dilu\.dev\/gpu\d+-(sm|mem)$/;

export interface EmulatedNodeOptions {
  readonly kc: KubeConfig;
  readonly name: string;
  /** e.g. "127.81.3": pods get <prefix>.2 .. <prefix>.254, the node itself <prefix>.1. */
  readonly prefix: string;
  /** Folder for sockets and container logs. */
  readonly dir: string;
  readonly labels?: Readonly<Record<string, string>>;
  readonly runtime: ContainerRuntime;
  readonly log?: (line: string) => void;
}

interface PodRecord {
  pod: V1Pod;
  ip: string;
  containers: Map<string, RunningContainer>;
  /** resource -> device IDs, per container name. */
  devices: Map<string, Map<string, string[]>>;
  ready: boolean;
  probedAt: number;
  terminating: boolean;
  failed?: string;
}

export interface EmulatedNode {
  readonly name: string;
  readonly internalIp: string;
  readonly devicePluginDir: string;
  readonly podResourcesSocket: string;
  /** Registrations the kubelet side has accepted since start (all restarts). */
  registrations(): number;
  /** Resource names currently registered, with their healthy device counts. */
  resources(): Record<string, number>;
  /** Pods running here (namespace/name -> IP), ready or not. */
  pods(): Map<string, { ip: string; ready: boolean }>;
  restartKubelet(): Promise<void>;
  stop(): Promise<void>;
}

const BASE_RESOURCES = { cpu: '64', memory: '512Gi', pods: '110' };

/** An HTTP GET probe as the kubelet makes it; 0 when nothing answered in time. */
function httpStatus(host: string, port: number, path: string, headers: Record<string, string>) {
  return new Promise<number>(resolve => {
    const r = request({ host, port, path, method: 'GET', headers, timeout: 2000 }, res => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    r.on('timeout', () => r.destroy());
    r.on('error', () => resolve(0));
    r.end();
  });
}

export async function startEmulatedNode(opts: EmulatedNodeOptions): Promise<EmulatedNode> {
  const core = opts.kc.makeApiClient(CoreV1Api);
  const leases = opts.kc.makeApiClient(CoordinationV1Api);
  const log = opts.log ?? (() => undefined);
  const internalIp = `${opts.prefix}.1`;
  const devicePluginDir = join(opts.dir, 'device-plugins');
  const podResourcesDir = join(opts.dir, 'pod-resources');
  const logDir = join(opts.dir, 'logs');
  for (const d of [devicePluginDir, podResourcesDir, logDir]) mkdirSync(d, { recursive: true });
  const podResourcesSocket = join(podResourcesDir, 'kubelet.sock');

  let kubelet = await KubeletStub.start(devicePluginDir);
  let registrationsBefore = 0;
  const podResources = await PodResourcesStub.start(podResourcesSocket);
  const records = new Map<string, PodRecord>();
  const freeIps = Array.from({ length: 253 }, (_, i) => `${opts.prefix}.${i + 2}`);
  let stopped = false;

  await core.createNode({
    body: {
      metadata: {
        name: opts.name,
        labels: {
          ...opts.labels,
          'kubernetes.io/hostname': opts.name,
          'kubernetes.io/os': 'linux',
          'kubernetes.io/arch': 'amd64',
        },
      },
      spec: { podCIDR: `${opts.prefix}.0/24`, podCIDRs: [`${opts.prefix}.0/24`] },
    },
  });

  const healthyCounts = (): Record<string, number> => {
    const out: Record<string, number> = {};
    for (const r of kubelet.resources()) {
      out[r] = (kubelet.devices(r) ?? []).filter(d => d.health === 'Healthy').length;
    }
    return out;
  };

  let lastStatus = '';
  const postStatus = async (force: boolean): Promise<void> => {
    const resources: Record<string, string> = { ...BASE_RESOURCES };
    for (const [r, n] of Object.entries(healthyCounts())) resources[r] = String(n);
    const key = JSON.stringify(resources);
    if (!force && key === lastStatus) return;
    const now = new Date().toISOString();
    // A merge patch cannot remove a map key by leaving it out; a resource whose plugin is gone
    // is reported as 0, as the kubelet does until it forgets it.
    const previous = lastStatus === '' ? {} : (JSON.parse(lastStatus) as Record<string, string>);
    for (const r of Object.keys(previous)) resources[r] ??= '0';
    await core.patchNodeStatus(
      {
        name: opts.name,
        body: {
          status: {
            capacity: resources,
            allocatable: resources,
            addresses: [
              { type: 'InternalIP', address: internalIp },
              { type: 'Hostname', address: opts.name },
            ],
            conditions: [
              {
                type: 'Ready',
                status: 'True',
                reason: 'KubeletReady',
                message: 'emulated kubelet is posting ready status',
                lastHeartbeatTime: now as unknown as Date,
                lastTransitionTime: now as unknown as Date,
              },
            ],
            nodeInfo: {
              kubeletVersion: 'v1.34.10-dilu-e2e',
              architecture: 'amd64',
              operatingSystem: 'linux',
              bootID: '',
              containerRuntimeVersion: 'dilu-e2e://processes',
              kernelVersion: '',
              kubeProxyVersion: '',
              machineID: '',
              osImage: 'emulated',
              systemUUID: '',
            },
          },
        },
      },
      mergePatch,
    );
    lastStatus = key;
  };

  // MicroTime: the API server wants six decimals ("…:05.000000Z").
  const microTime = (): string => new Date().toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
  const renewLease = async (): Promise<void> => {
    const patch = (): Promise<unknown> =>
      leases.patchNamespacedLease(
        {
          name: opts.name,
          namespace: 'kube-node-lease',
          body: { spec: { renewTime: microTime() } },
        },
        mergePatch,
      );
    try {
      await patch();
    } catch (err) {
      if (statusCodeOf(err) !== 404) throw err;
      await leases.createNamespacedLease({
        namespace: 'kube-node-lease',
        body: {
          metadata: { name: opts.name },
          spec: { holderIdentity: opts.name, leaseDurationSeconds: 40 },
        },
      });
      await patch();
    }
  };

  await postStatus(true);
  await renewLease();

  // ---- pods ------------------------------------------------------------------------------

  const podKey = (p: V1Pod): string => `${p.metadata?.namespace ?? ''}/${p.metadata?.name ?? ''}`;

  const allocatedIds = (resource: string): Set<string> => {
    const ids = new Set<string>();
    for (const rec of records.values()) {
      for (const perResource of rec.devices.values()) {
        for (const id of perResource.get(resource) ?? []) ids.add(id);
      }
    }
    return ids;
  };

  const syncPodResources = (): void => {
    podResources.pods = [...records.values()]
      .filter(r => r.devices.size > 0)
      .map(r => ({
        namespace: r.pod.metadata?.namespace ?? '',
        name: r.pod.metadata?.name ?? '',
        containers: [...r.devices.entries()].map(([container, perResource]) => ({
          name: container,
          devices: [...perResource.entries()].map(([resource_name, device_ids]) => ({
            resource_name,
            device_ids,
            topology: null,
          })),
        })),
      }));
  };

  /** Chooses and allocates devices for one container; returns Allocate's env and mounts. */
  const admitContainer = async (rec: PodRecord, c: V1Container) => {
    const env: Record<string, string> = {};
    const mounts: { containerPath: string; hostPath: string }[] = [];
    const held = new Map<string, string[]>();
    for (const [resource, qty] of Object.entries(c.resources?.limits ?? {})) {
      if (!DILU_RESOURCE.test(resource)) continue;
      const n = Number(qty);
      const taken = allocatedIds(resource);
      const free = (kubelet.devices(resource) ?? [])
        .filter(d => d.health === 'Healthy' && !taken.has(d.ID))
        .map(d => d.ID);
      if (free.length < n) {
        throw new Error(`UnexpectedAdmissionError: ${resource} needs ${n}, ${free.length} free`);
      }
      let ids = free.slice(0, n);
      if (kubelet.options(resource).get_preferred_allocation_available) {
        const preferred = await kubelet.preferred(resource, free, [], n);
        ids = preferred.container_responses[0]?.deviceIDs ?? ids;
      }
      const answer = await kubelet.allocate(resource, [ids]);
      const r = answer.container_responses[0];
      Object.assign(env, r?.envs ?? {});
      for (const m of r?.mounts ?? []) {
        mounts.push({ containerPath: m.container_path, hostPath: m.host_path });
      }
      held.set(resource, ids);
      // Recorded at once, so the next resource's choice sees these as taken.
      rec.devices.set(c.name, held);
    }
    return { env, mounts };
  };

  const writePodStatus = async (rec: PodRecord, patch: Record<string, unknown>) => {
    try {
      await core.patchNamespacedPodStatus(
        {
          name: rec.pod.metadata?.name ?? '',
          namespace: rec.pod.metadata?.namespace ?? '',
          body: { status: patch },
        },
        mergePatch,
      );
    } catch (err) {
      if (statusCodeOf(err) !== 404) throw err;
    }
  };

  const containerStatuses = (rec: PodRecord, ready: boolean) =>
    (rec.pod.spec?.containers ?? []).map(c => ({
      name: c.name,
      image: c.image ?? '',
      imageID: '',
      ready,
      restartCount: 0,
      started: true,
      state: { running: { startedAt: new Date().toISOString() } },
    }));

  const condition = (type: string, ok: boolean) => ({
    type,
    status: ok ? 'True' : 'False',
    lastTransitionTime: new Date().toISOString(),
  });

  const startPod = async (pod: V1Pod): Promise<void> => {
    const ip = freeIps.shift();
    if (ip === undefined) throw new Error(`${opts.name}: no pod IP left`);
    const rec: PodRecord = {
      pod,
      ip,
      containers: new Map(),
      devices: new Map(),
      ready: false,
      probedAt: 0,
      terminating: false,
    };
    records.set(podKey(pod), rec);
    try {
      for (const c of pod.spec?.containers ?? []) {
        const { env, mounts } = await admitContainer(rec, c);
        syncPodResources();
        const launch = {
          pod,
          container: c,
          podIp: ip,
          nodeName: opts.name,
          env: containerEnv({
            pod,
            container: c,
            podIp: ip,
            nodeName: opts.name,
            allocated: env,
            mounts,
          }),
          logFile: join(
            logDir,
            `${pod.metadata?.namespace ?? ''}_${pod.metadata?.name ?? ''}_${c.name}.log`,
          ),
        };
        const running = opts.runtime(launch);
        if (running === undefined)
          throw new Error(`ErrImagePull: no runtime for image ${c.image ?? ''}`);
        rec.containers.set(c.name, await running);
      }
    } catch (err) {
      rec.failed = (err as Error).message;
      log(`${opts.name}: pod ${podKey(pod)} failed: ${rec.failed}`);
      await writePodStatus(rec, {
        phase: 'Failed',
        reason: rec.failed.split(':')[0],
        message: rec.failed,
      });
      return;
    }
    const now = new Date().toISOString();
    await writePodStatus(rec, {
      phase: 'Running',
      hostIP: internalIp,
      hostIPs: [{ ip: internalIp }],
      podIP: ip,
      podIPs: [{ ip }],
      startTime: now,
      conditions: [
        condition('PodScheduled', true),
        condition('Initialized', true),
        condition('ContainersReady', false),
        condition('Ready', false),
      ],
      containerStatuses: containerStatuses(rec, false),
    });
    log(`${opts.name}: pod ${podKey(pod)} running at ${ip}`);
  };

  const probeReady = async (rec: PodRecord): Promise<boolean> => {
    for (const c of rec.pod.spec?.containers ?? []) {
      const probe = c.readinessProbe?.httpGet;
      if (probe === undefined) continue;
      const port =
        typeof probe.port === 'number'
          ? probe.port
          : Number(c.ports?.find(p => p.name === probe.port)?.containerPort ?? probe.port);
      const headers = Object.fromEntries((probe.httpHeaders ?? []).map(h => [h.name, h.value]));
      const status = await httpStatus(rec.ip, port, probe.path ?? '/', headers);
      if (status < 200 || status >= 400) return false;
    }
    return true;
  };

  const stopPod = async (key: string, rec: PodRecord, graceS: number): Promise<void> => {
    rec.terminating = true;
    await Promise.all([...rec.containers.values()].map(c => c.stop(graceS * 1000)));
    records.delete(key);
    freeIps.push(rec.ip);
    syncPodResources();
    try {
      await core.deleteNamespacedPod({
        name: rec.pod.metadata?.name ?? '',
        namespace: rec.pod.metadata?.namespace ?? '',
        gracePeriodSeconds: 0,
        body: { preconditions: { uid: rec.pod.metadata?.uid ?? '' } },
      });
    } catch (err) {
      if (![404, 409].includes(statusCodeOf(err) ?? 0)) throw err;
    }
    log(`${opts.name}: pod ${key} stopped`);
  };

  // A pod being deleted: stop what runs for it, or remove it at once when nothing does.
  const syncDeleted = (
    pod: V1Pod,
    key: string,
    rec: PodRecord | undefined,
  ): Promise<void> | undefined => {
    if (rec !== undefined) {
      if (rec.terminating) return undefined;
      return stopPod(key, rec, pod.metadata?.deletionGracePeriodSeconds ?? 30);
    }
    return core
      .deleteNamespacedPod({
        name: pod.metadata?.name ?? '',
        namespace: pod.metadata?.namespace ?? '',
        gracePeriodSeconds: 0,
      })
      .then(
        () => undefined,
        () => undefined,
      );
  };

  // Probes every second, as periodSeconds: 1 asks (the kubelet's shortest period).
  const syncReadiness = (rec: PodRecord): Promise<void> | undefined => {
    if (Date.now() - rec.probedAt < 1000) return undefined;
    rec.probedAt = Date.now();
    return probeReady(rec).then(async ready => {
      if (ready === rec.ready) return;
      rec.ready = ready;
      await writePodStatus(rec, {
        conditions: [
          condition('PodScheduled', true),
          condition('Initialized', true),
          condition('ContainersReady', ready),
          condition('Ready', ready),
        ],
        containerStatuses: containerStatuses(rec, ready),
      });
    });
  };

  const syncPod = (pod: V1Pod, key: string): Promise<void> | undefined => {
    const rec = records.get(key);
    if (rec !== undefined && rec.pod.metadata?.uid !== pod.metadata?.uid) return undefined;
    if (pod.metadata?.deletionTimestamp !== undefined) return syncDeleted(pod, key, rec);
    if (rec === undefined) {
      const pending = pod.status?.phase === 'Pending' || pod.status?.phase === undefined;
      return pending ? startPod(pod) : undefined;
    }
    if (rec.failed !== undefined || rec.terminating) return undefined;
    rec.pod = pod;
    return syncReadiness(rec);
  };

  // One pass of the kubelet's sync loop: start new pods, follow readiness, stop deleted ones.
  const syncPods = async (): Promise<void> => {
    const list = await core.listPodForAllNamespaces({
      fieldSelector: `spec.nodeName=${opts.name}`,
    });
    const seen = new Set<string>();
    const work: Promise<void>[] = [];
    for (const pod of list.items) {
      const key = podKey(pod);
      seen.add(key);
      const w = syncPod(pod, key);
      if (w !== undefined) work.push(w);
    }
    // Gone from the API without passing through deletion here (force-deleted): stop at once.
    for (const [key, rec] of records) {
      if (!seen.has(key) && !rec.terminating) work.push(stopPod(key, rec, 0));
    }
    await Promise.all(work);
  };

  let leaseAt = Date.now();
  let statusAt = Date.now();
  const loop = (async () => {
    // Set by stop() from outside this loop, so it is read through a call.
    while (!flag(() => stopped)) {
      try {
        await syncPods();
        await postStatus(Date.now() - statusAt > 30_000);
        if (Date.now() - statusAt > 30_000) statusAt = Date.now();
        if (Date.now() - leaseAt > 10_000) {
          await renewLease();
          leaseAt = Date.now();
        }
      } catch (err) {
        log(`${opts.name}: sync failed: ${(err as Error).message}`);
      }
      await new Promise(r => setTimeout(r, 250));
    }
  })();

  return {
    name: opts.name,
    internalIp,
    devicePluginDir,
    podResourcesSocket,
    registrations: () => registrationsBefore + kubelet.registrations.length,
    resources: healthyCounts,
    pods: () =>
      new Map(
        [...records]
          .filter(([, r]) => !r.terminating && r.failed === undefined)
          .map(([k, r]) => [k, { ip: r.ip, ready: r.ready }]),
      ),
    async restartKubelet() {
      registrationsBefore += kubelet.registrations.length;
      kubelet = await KubeletStub.restart(kubelet);
      log(`${opts.name}: kubelet restarted`);
    },
    async stop() {
      stopped = true;
      await loop;
      await Promise.all([...records].map(([k, r]) => stopPod(k, r, 5)));
      await kubelet.stop();
      podResources.stop();
      try {
        await core.deleteNode({ name: opts.name });
      } catch (err) {
        if (statusCodeOf(err) !== 404) throw err;
      }
    },
  };
}

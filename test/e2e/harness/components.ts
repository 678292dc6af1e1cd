// The project's components as local processes in place of their pods: each is started with the
// command line and environment of its container in the applied manifests, changed only where a
// path or an address has to point at this machine (a mounted Secret or ConfigMap becomes a
// folder written here, as the kubelet would write it; an in-cluster DNS name becomes a loopback
// address), and with a token of its manifest's ServiceAccount.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  CoreV1Api,
  type KubeConfig,
  type V1Container,
  type V1PodSpec,
  type V1Volume,
} from '@kubernetes/client-node';
import { dump, load } from 'js-yaml';
import { freePort } from '../../testbed/ports.js';
import { startProcess, type ManagedProcess } from '../../testbed/processes.js';
import { httpGet, waitFor } from '../../testbed/readiness.js';
import { tailOf } from '../../testbed/log-tail.js';
import { REPO_ROOT, type ManifestObject, type Rendered } from '../../testbed/tools.js';
import { serviceAccountToken } from './identities.js';
import { renderedObject } from './install.js';

export const NODE = process.execPath;
export const BIN = {
  webhook: join(REPO_ROOT, 'webhook', 'bin', 'dilu-webhook.js'),
  dilu: join(REPO_ROOT, 'autoscaler', 'bin', 'dilu.js'),
  devicePlugin: join(REPO_ROOT, 'device-plugin', 'bin', 'dilu-device-plugin.js'),
} as const;

export function podSpecOf(o: ManifestObject): V1PodSpec {
  const spec = (o['spec'] ?? {}) as {
    template?: { spec?: V1PodSpec };
    jobTemplate?: { spec?: { template?: { spec?: V1PodSpec } } };
  };
  const pod = spec.template?.spec ?? spec.jobTemplate?.spec?.template?.spec;
  if (pod === undefined) throw new Error(`${o.kind}/${o.metadata?.name ?? ''} has no pod template`);
  return pod;
}

export function containerOf(o: ManifestObject, name?: string): V1Container {
  const containers = podSpecOf(o).containers;
  const c = name === undefined ? containers[0] : containers.find(x => x.name === name);
  if (c === undefined)
    throw new Error(`${o.kind}/${o.metadata?.name ?? ''} has no container ${name ?? ''}`);
  return c;
}

/** The kubelet's default service-account mount. */
export const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

/**
 * Writes the volumes a container mounts into `dir` (one folder per mount, one file per key),
 * as the kubelet does: Secrets, ConfigMaps, projected service-account tokens (with their
 * audience) and the default service-account mount. Returns mountPath -> local folder.
 */
export async function materializeVolumes(
  admin: KubeConfig,
  namespace: string,
  pod: V1PodSpec,
  container: V1Container,
  dir: string,
): Promise<Map<string, string>> {
  const core = admin.makeApiClient(CoreV1Api);
  const out = new Map<string, string>();
  const sa = pod.serviceAccountName ?? 'default';
  const saDir = join(dir, 'serviceaccount');
  mkdirSync(saDir, { recursive: true });
  writeFileSync(join(saDir, 'token'), await serviceAccountToken(admin, namespace, sa));
  writeFileSync(join(saDir, 'namespace'), namespace);
  out.set(SERVICE_ACCOUNT_DIR, saDir);
  for (const m of container.volumeMounts ?? []) {
    const v = pod.volumes?.find(x => x.name === m.name);
    const local = join(dir, m.name);
    mkdirSync(local, { recursive: true });
    if (v !== undefined) await writeVolume({ admin, core, namespace, sa }, v, local);
    out.set(m.mountPath, local);
  }
  return out;
}

/** One volume's files, as the kubelet writes them: Secret, projected token or ConfigMap. */
async function writeVolume(
  ctx: { admin: KubeConfig; core: CoreV1Api; namespace: string; sa: string },
  v: V1Volume,
  local: string,
): Promise<void> {
  const { admin, core, namespace, sa } = ctx;
  if (v.secret?.secretName !== undefined) {
    const s = await core.readNamespacedSecret({ name: v.secret.secretName, namespace });
    for (const [k, b64] of Object.entries(s.data ?? {})) {
      writeFileSync(join(local, k), Buffer.from(b64, 'base64'), { mode: 0o600 });
    }
  } else if (v.projected !== undefined) {
    for (const source of v.projected.sources ?? []) {
      const t = source.serviceAccountToken;
      if (t === undefined) continue;
      const audiences = t.audience === undefined ? [] : [t.audience];
      writeFileSync(
        join(local, t.path),
        await serviceAccountToken(admin, namespace, sa, audiences),
      );
    }
  } else if (v.configMap?.name !== undefined) {
    await writeConfigMap(core, namespace, v.configMap.name, v.configMap.optional === true, local);
  }
}

async function writeConfigMap(
  core: CoreV1Api,
  namespace: string,
  name: string,
  optional: boolean,
  local: string,
): Promise<void> {
  try {
    const cm = await core.readNamespacedConfigMap({ name, namespace });
    for (const [k, text] of Object.entries(cm.data ?? {})) writeFileSync(join(local, k), text);
  } catch (err) {
    if (!optional) throw err;
  }
}

/** Rewrites every argument or value that lies under a mount path to the local folder. */
export function underMounts(value: string, mounts: ReadonlyMap<string, string>): string {
  for (const [mountPath, local] of [...mounts].sort((a, b) => b[0].length - a[0].length)) {
    const at = value.indexOf(mountPath);
    if (
      at >= 0 &&
      (value.length === at + mountPath.length || value[at + mountPath.length] === '/')
    ) {
      return value.slice(0, at) + local + value.slice(at + mountPath.length);
    }
  }
  return value;
}

/** `--name=value` flags replaced (or added) in an argument list. */
export function withFlags(
  args: readonly string[],
  flags: Readonly<Record<string, string>>,
): string[] {
  const out = args.filter(
    a => !Object.keys(flags).some(f => a === `--${f}` || a.startsWith(`--${f}=`)),
  );
  for (const [f, v] of Object.entries(flags)) out.push(`--${f}=${v}`);
  return out;
}

function plainEnv(c: V1Container): Record<string, string> {
  const env: Record<string, string> = {};
  for (const e of c.env ?? []) if (e.value !== undefined) env[e.name] = e.value;
  return env;
}

function baseEnv(): Record<string, string> {
  return { PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? '/tmp' };
}

// ---- webhook -----------------------------------------------------------------------------

export interface WebhookProcess {
  readonly port: number;
  readonly caPem: string;
  readonly process: () => ManagedProcess;
  /** Starts the server (again) on the same port; resolves once /readyz answers 200. */
  start(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * The certificate Job (dilu-webhook certs, as the dilu-webhook-certs ServiceAccount), then
 * the server (dilu-webhook serve with the Deployment's arguments, as dilu-webhook).
 */
export async function startWebhookComponent(opts: {
  readonly admin: KubeConfig;
  readonly rendered: Rendered;
  readonly dir: string;
  readonly port: number;
  readonly placementUrl: string;
  readonly certsKubeconfig: string;
  readonly serverKubeconfig: string;
}): Promise<WebhookProcess> {
  mkdirSync(opts.dir, { recursive: true });
  const job = renderedObject(opts.rendered, 'Job', 'dilu-webhook-certs');
  const jobArgs = containerOf(job).args ?? [];
  const certs = startProcess({
    name: 'dilu-webhook certs',
    command: NODE,
    args: [
      BIN.webhook,
      ...withFlags(jobArgs, { kubeconfig: opts.certsKubeconfig, 'ip-address': '127.0.0.1' }),
    ],
    logFile: join(opts.dir, 'certs.log'),
    env: { ...baseEnv(), ...plainEnv(containerOf(job)) },
  });
  const done = await certs.exited;
  if (done.code !== 0) throw new Error(`dilu-webhook certs failed: ${tailOf(certs.logFile, 20)}`);

  const deployment = renderedObject(opts.rendered, 'Deployment', 'dilu-webhook');
  const pod = podSpecOf(deployment);
  const c = containerOf(deployment);
  const mounts = await materializeVolumes(
    opts.admin,
    'dilu-system',
    pod,
    c,
    join(opts.dir, 'volumes'),
  );
  const caPem = (
    await opts.admin
      .makeApiClient(CoreV1Api)
      .readNamespacedSecret({ name: 'dilu-webhook-tls', namespace: 'dilu-system' })
  ).data?.['ca.crt'];
  if (caPem === undefined) throw new Error('Secret dilu-webhook-tls has no ca.crt');
  const args = withFlags(
    (c.args ?? []).map(a => underMounts(a, mounts)),
    {
      port: String(opts.port),
      host: '127.0.0.1',
      'placement-url': opts.placementUrl,
      kubeconfig: opts.serverKubeconfig,
    },
  );
  let proc: ManagedProcess | undefined;
  const start = async (): Promise<void> => {
    const p = startProcess({
      name: 'dilu-webhook',
      command: NODE,
      args: [BIN.webhook, ...args],
      logFile: join(opts.dir, 'webhook.log'),
      env: { ...baseEnv(), ...plainEnv(c) },
    });
    proc = p;
    const ca = Buffer.from(caPem, 'base64').toString();
    await waitFor(
      'dilu-webhook /readyz',
      async () => (await httpGet(`https://127.0.0.1:${opts.port}/readyz`, { ca })).status === 200,
      {
        timeoutMs: 30_000,
        abortIf: () =>
          p.exitStatus() === undefined ? undefined : `exited: ${tailOf(p.logFile, 20)}`,
      },
    );
  };
  await start();
  return {
    port: opts.port,
    caPem: Buffer.from(caPem, 'base64').toString(),
    process: () => {
      if (proc === undefined) throw new Error('webhook not started');
      return proc;
    },
    start,
    async stop() {
      await proc?.stop(10_000);
    },
  };
}

// ---- device plugin -----------------------------------------------------------------------

export interface DevicePluginProcess {
  readonly node: string;
  readonly agentUrl: string;
  readonly opsUrl: string;
  readonly stateDir: string;
  process(): ManagedProcess;
  stop(): Promise<void>;
}

export interface FakeGpuSpec {
  readonly uuid: string;
  readonly name?: string;
  readonly memoryMiB?: number;
}

/**
 * One device plugin per node with the DaemonSet's arguments and ConfigMap, the kubelet paths
 * of the emulated node, nvidia-smi emulated from a fake GPU file (the plugin's own fake mode),
 * and the node agent on the node's InternalIP with the dilu-node-agent-tls Secret.
 */
export async function startDevicePluginComponent(opts: {
  readonly admin: KubeConfig;
  readonly rendered: Rendered;
  readonly dir: string;
  readonly node: {
    name: string;
    internalIp: string;
    devicePluginDir: string;
    podResourcesSocket: string;
  };
  readonly gpus: readonly FakeGpuSpec[];
  readonly kubeconfig: string;
}): Promise<DevicePluginProcess> {
  mkdirSync(opts.dir, { recursive: true });
  const ds = renderedObject(opts.rendered, 'DaemonSet', 'dilu-device-plugin');
  const pod = podSpecOf(ds);
  const c = containerOf(ds);
  const mounts = await materializeVolumes(
    opts.admin,
    'dilu-system',
    pod,
    c,
    join(opts.dir, 'volumes'),
  );
  const configArg = (c.args ?? []).findIndex(a => a === '--config');
  const configPath = configArg >= 0 ? (c.args ?? [])[configArg + 1] : undefined;
  if (configPath === undefined) throw new Error('the DaemonSet passes no --config');
  const config = (load(readFileSync(underMounts(configPath, mounts), 'utf8')) ?? {}) as Record<
    string,
    unknown
  >;
  const tlsDir = mounts.get('/etc/dilu/node-agent-tls');
  if (tlsDir === undefined) throw new Error('the DaemonSet mounts no node agent TLS Secret');
  const agent = (config['agent'] ?? {}) as Record<string, unknown>;
  const tls = (agent['tls'] ?? {}) as Record<string, string>;
  const gpusFile = join(opts.dir, 'gpus.yaml');
  writeFileSync(
    gpusFile,
    dump({ gpus: opts.gpus.map(g => ({ ...g, migMode: 'Disabled', condition: 'healthy' })) }),
  );
  const ops = (config['ops'] ?? {}) as Record<string, unknown>;
  const local = {
    ...config,
    devicePluginDir: opts.node.devicePluginDir,
    podResourcesSocket: opts.node.podResourcesSocket,
    stateDir: join(opts.dir, 'state'),
    fakeGpus: gpusFile,
    mps: { ...(config['mps'] as object), root: join(opts.dir, 'mps') },
    // Faster than the defaults, so a kubelet restart is noticed within the suite's patience.
    kubelet: { checkIntervalSeconds: 0.5, retrySeconds: 0.5 },
    agent: {
      ...agent,
      host: opts.node.internalIp,
      tls: {
        ...tls,
        certFile: underMounts(tls['certFile'] ?? '', mounts),
        keyFile: underMounts(tls['keyFile'] ?? '', mounts),
      },
    },
    ops: { ...ops, host: opts.node.internalIp },
  };
  const file = join(opts.dir, 'config.yaml');
  writeFileSync(file, dump(local));
  const agentPort = Number(agent['port'] ?? 9450);
  const opsPort = Number(ops['port'] ?? 9451);
  const p = startProcess({
    name: `dilu-device-plugin ${opts.node.name}`,
    command: NODE,
    args: [BIN.devicePlugin, ...(c.args ?? []).map(a => (a === configPath ? file : a))],
    logFile: join(opts.dir, 'device-plugin.log'),
    env: { ...baseEnv(), ...plainEnv(c), NODE_NAME: opts.node.name, KUBECONFIG: opts.kubeconfig },
  });
  const opsUrl = `http://${opts.node.internalIp}:${opsPort}`;
  await waitFor(
    'device plugin /readyz',
    async () => (await httpGet(`${opsUrl}/readyz`)).status === 200,
    {
      timeoutMs: 30_000,
      abortIf: () =>
        p.exitStatus() === undefined ? undefined : `exited: ${tailOf(p.logFile, 20)}`,
    },
  );
  return {
    node: opts.node.name,
    agentUrl: `https://${opts.node.internalIp}:${agentPort}`,
    opsUrl,
    stateDir: join(opts.dir, 'state'),
    process: () => p,
    stop: async () => {
      await p.stop(10_000);
    },
  };
}

/** `over` on top of `base`, nested objects merged key by key. */
export function mergeSettings(
  base: Readonly<Record<string, unknown>>,
  over: Readonly<Record<string, unknown>>,
): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(over)) {
    const b = out[k];
    const bothObjects =
      typeof v === 'object' &&
      v !== null &&
      !Array.isArray(v) &&
      typeof b === 'object' &&
      b !== null &&
      !Array.isArray(b);
    out[k] = bothObjects
      ? mergeSettings(b as Record<string, unknown>, v as Record<string, unknown>)
      : v;
  }
  return out;
}

// ---- autoscaler --------------------------------------------------------------------------

export interface AutoscalerReplica {
  readonly identity: string;
  readonly port: number;
  readonly url: string;
  process(): ManagedProcess | undefined;
  /** Starts the replica (again, after kill()). */
  start(): Promise<void>;
  /** SIGKILL: the replica dies without handing its Lease over. */
  kill(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * One replica of `dilu autoscaler` with the Deployment's arguments and ConfigMap, the config
 * file's in-cluster addresses replaced by this machine's (`overrides`), and the mounted CA
 * and tokens written as the kubelet writes them.
 */
export async function autoscalerReplica(opts: {
  readonly admin: KubeConfig;
  readonly rendered: Rendered;
  readonly dir: string;
  readonly identity: string;
  readonly port: number;
  readonly kubeconfig: string;
  readonly overrides: Readonly<Record<string, unknown>>;
}): Promise<AutoscalerReplica> {
  mkdirSync(opts.dir, { recursive: true });
  const deployment = renderedObject(opts.rendered, 'Deployment', 'dilu-autoscaler');
  const pod = podSpecOf(deployment);
  const c = containerOf(deployment);
  const mounts = await materializeVolumes(
    opts.admin,
    'dilu-system',
    pod,
    c,
    join(opts.dir, 'volumes'),
  );
  const args = (c.args ?? []).map(a => underMounts(a, mounts));
  const configArg = args.find(a => a.startsWith('--config='));
  if (configArg === undefined) throw new Error('the autoscaler Deployment passes no --config=');
  const fromManifest = (load(readFileSync(configArg.slice('--config='.length), 'utf8')) ??
    {}) as Record<string, unknown>;
  const rewritten = Object.fromEntries(
    Object.entries(fromManifest).map(([k, v]) => [
      k,
      typeof v === 'string' ? underMounts(v, mounts) : v,
    ]),
  );
  const config: Record<string, unknown> = {
    ...mergeSettings(rewritten, opts.overrides),
    identity: opts.identity,
    httpHost: '127.0.0.1',
    httpPort: opts.port,
  };
  // The token file defaults to the in-pod path; point it at the materialized one.
  const tokenFile = config['nodeAgentTokenFile'];
  config['nodeAgentTokenFile'] =
    typeof tokenFile === 'string'
      ? underMounts(tokenFile, mounts)
      : join(mounts.get(SERVICE_ACCOUNT_DIR) ?? '', 'token');
  const file = join(opts.dir, 'config.yaml');
  writeFileSync(file, dump(config));
  const finalArgs = withFlags(
    args.filter(a => !a.startsWith('--config=')),
    { config: file, kubeconfig: opts.kubeconfig },
  );
  let proc: ManagedProcess | undefined;
  const url = `http://127.0.0.1:${opts.port}`;
  const start = async (): Promise<void> => {
    const p = startProcess({
      name: `dilu autoscaler ${opts.identity}`,
      command: NODE,
      args: [BIN.dilu, ...finalArgs],
      logFile: join(opts.dir, 'autoscaler.log'),
      env: { ...baseEnv(), ...plainEnv(c), POD_NAME: opts.identity },
    });
    proc = p;
    await waitFor(
      'autoscaler /healthz',
      async () => (await httpGet(`${url}/healthz`)).status === 200,
      {
        timeoutMs: 30_000,
        abortIf: () =>
          p.exitStatus() === undefined ? undefined : `exited: ${tailOf(p.logFile, 20)}`,
      },
    );
  };
  await start();
  return {
    identity: opts.identity,
    port: opts.port,
    url,
    process: () => proc,
    start,
    async kill() {
      const p = proc;
      if (p === undefined || p.exitStatus() !== undefined) return;
      process.kill(p.pid, 'SIGKILL');
      await p.exited;
    },
    async stop() {
      await proc?.stop(10_000);
    },
  };
}

export { freePort };

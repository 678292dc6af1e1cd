// One Dilu install on the test bed, end to end: the overlay applied with kubectl, two emulated
// GPU nodes (two A100s each) with the real device plugin, the webhook and its certificate job,
// two autoscaler replicas behind a Service stand-in, a real Prometheus, and one GPU function
// from the templates deployed the platform's way. Everything is torn down by stop(), which
// also uninstalls the overlay with kubectl as docs/operations.md describes.
import { randomBytes, randomInt } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CoreV1Api,
  PatchStrategy,
  setHeaderOptions,
  type KubeConfig,
} from '@kubernetes/client-node';
import { loadProfile, toFunctionProfileResource } from '@dilu/autoscaler';
import type { TestbedConnection } from '../../testbed/control-plane.js';
import { applyObjects } from '../../testbed/crds.js';
import { waitFor } from '../../testbed/readiness.js';
import {
  REPO_ROOT,
  type ManifestObject,
  type OverlayName,
  type Rendered,
} from '../../testbed/tools.js';
import {
  autoscalerReplica,
  freePort,
  startDevicePluginComponent,
  startWebhookComponent,
  type AutoscalerReplica,
  type DevicePluginProcess,
  type WebhookProcess,
} from './components.js';
import { startEmulatedNode, type EmulatedNode } from './emulated-node.js';
import { instantiateFunctions, PYTHON, templateExamples } from './functions.js';
import {
  startKnativeIngress,
  startOpenFaasGateway,
  type KnativeIngress,
  type OpenFaasGateway,
} from './gateways.js';
import { serviceAccountIdentity, serviceAccountToken } from './identities.js';
import {
  installOverlay,
  installPrerequisites,
  uninstallOverlay,
  type Installed,
} from './install.js';
import {
  deployKnativeService,
  deployOpenFaasFunction,
  startSksReconciler,
  type KnativeFunction,
} from './platforms.js';
import {
  prometheusAvailable,
  startPrometheus,
  type Prometheus,
  type ScrapeJob,
} from './prometheus.js';
import { createE2eRuntime } from './runtimes.js';
import { startServiceProxy, type ServiceProxy } from './service-proxy.js';

export const PROFILE_CSV = join(
  REPO_ROOT,
  'autoscaler',
  'data',
  'profiles',
  'dilu-a100',
  'bs_sm_resnet152.csv',
);
export const FUNCTION = 'classify';
export const KNATIVE_CLASS = 'ie.autoscaling.dilu.dev';

/**
 * Settings over the templates' example spec (which asks 40 ms of ResNet152 on an A100, a
 * budget that the delays a busy two-core machine adds to the emulated data path would eat).
 * 300 ms keeps the latency alarm (90 % of the SLO) clear of those delays. Batch 1 keeps an
 * instance's throughput within what that path carries.
 */
export const FUNCTION_SETTINGS: Readonly<Record<string, string>> = {
  'dilu.dev/slo-ms': '300',
  'dilu.dev/batch': '1',
  // The remembered peak fades in seconds, not minutes, so a suite sees the scale-in.
  'dilu.dev/burst-half-life': '5',
};
const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

export interface Scenario {
  readonly overlay: OverlayName;
  readonly kc: KubeConfig;
  readonly connection: TestbedConnection;
  readonly dir: string;
  readonly installed: Installed;
  readonly namespace: string;
  readonly nodes: readonly EmulatedNode[];
  readonly plugins: readonly DevicePluginProcess[];
  readonly webhook: WebhookProcess;
  readonly autoscalers: readonly AutoscalerReplica[];
  readonly placement: ServiceProxy;
  readonly prometheus: Prometheus;
  /** What reading the node agents takes: a token they accept and the CA of their certificate. */
  readonly agentAuth: { readonly token: string; readonly caPem: string };
  /** Where load goes: the function's URL and the Host header it needs. */
  readonly target: { url: string; headers: Record<string, string> };
  readonly knative?: KnativeFunction;
  readonly gateway?: OpenFaasGateway;
  readonly ingress?: KnativeIngress;
  /** Label selector of the function's pods. */
  readonly podSelector: string;
  /** Seconds each step took, for the report. */
  readonly timings: Record<string, number>;
  log(line: string): void;
  stop(): Promise<void>;
}

const A100 = (i: number) => ({
  uuid: `GPU-${randomBytes(4).toString('hex')}-0000-4000-8000-00000000000${i}`,
  name: 'NVIDIA A100-SXM4-80GB',
  memoryMiB: 81920,
});

/** Two emulated GPU nodes (two A100s each), each with the install's device plugin. */
async function startGpuNodes(o: {
  kc: KubeConfig;
  overlay: OverlayName;
  dir: string;
  runtime: Parameters<typeof startEmulatedNode>[0]['runtime'];
  log: (line: string) => void;
  rendered: Rendered;
  pluginKubeconfig: string;
  stoppers: (() => Promise<void>)[];
  /** Names the nodes apart from other runs' on the same control plane. */
  suffix: string;
}): Promise<{ nodes: EmulatedNode[]; plugins: DevicePluginProcess[] }> {
  const { kc, overlay, dir, runtime, log, stoppers, suffix } = o;
  // Each node's pods get addresses in their own 127.x.y.0/24.
  const a = randomInt(64, 250);
  const b = randomInt(1, 120) * 2;
  const nodes: EmulatedNode[] = [];
  const plugins: DevicePluginProcess[] = [];
  for (const [i, prefix] of [`127.${a}.${b}`, `127.${a}.${b + 1}`].entries()) {
    const name = `gpu-${overlay}-${suffix}-${i}`;
    const node = await startEmulatedNode({
      kc,
      name,
      prefix,
      dir: join(dir, `n${i}`),
      runtime,
      labels: { 'dilu.dev/e2e': overlay },
      log,
    });
    nodes.push(node);
    stoppers.push(() => node.stop());
    const plugin = await startDevicePluginComponent({
      admin: kc,
      rendered: o.rendered,
      dir: join(dir, `p${i}`),
      node,
      gpus: [A100(0), A100(1)],
      kubeconfig: o.pluginKubeconfig,
    });
    plugins.push(plugin);
    stoppers.push(() => plugin.stop());
  }
  const core = kc.makeApiClient(CoreV1Api);
  await waitFor(
    'nodes advertise what the device plugins registered',
    async () => {
      for (const n of nodes) {
        const node = await core.readNode({ name: n.name });
        const alloc = node.status?.allocatable ?? {};
        if (alloc['dilu.dev/gpu0-sm'] !== '100' || alloc['dilu.dev/gpu1-mem'] !== '320')
          return false;
        if (node.metadata?.annotations?.['dilu.dev/memory-unit-mib'] !== '256') return false;
      }
      return true;
    },
    { timeoutMs: 60_000 },
  );
  return { nodes, plugins };
}

/** The function, deployed the platform's way; where its requests go and how its pods are found. */
async function deployFunction(o: {
  kc: KubeConfig;
  overlay: OverlayName;
  namespace: string;
  image: string;
  examples: ReturnType<typeof templateExamples>;
  gatewayUrl: string | undefined;
  functionAnnotations: Readonly<Record<string, string>> | undefined;
  functionLabels: Readonly<Record<string, string>> | undefined;
  stoppers: (() => Promise<void>)[];
}): Promise<{
  knative: KnativeFunction | undefined;
  ingress: KnativeIngress | undefined;
  target: Scenario['target'];
  podSelector: string;
}> {
  const { kc, overlay, namespace, image } = o;
  const stack = o.examples.stack[FUNCTION];
  if (stack === undefined) throw new Error(`templates/README.md's stack.yaml has no ${FUNCTION}`);
  let knative: KnativeFunction | undefined;
  let ingress: KnativeIngress | undefined;
  let target: Scenario['target'];
  let podSelector: string;
  if (overlay === 'knative') {
    const sks = startSksReconciler(kc, namespace);
    o.stoppers.push(() => sks.stop());
    knative = await deployKnativeService(kc, {
      namespace,
      service: FUNCTION,
      image,
      annotations: {
        ...o.examples.func.deploy.annotations,
        'autoscaling.knative.dev/class': KNATIVE_CLASS,
        'autoscaling.knative.dev/min-scale': '1',
        ...o.functionAnnotations,
      },
    });
    const k = knative;
    ingress = await startKnativeIngress({
      kc,
      services: [{ service: FUNCTION, namespace, revision: k.revision }],
    });
    const ing = ingress;
    o.stoppers.push(() => ing.close());
    target = { url: `${ing.url}/`, headers: { host: ing.host(FUNCTION, namespace) } };
    podSelector = `serving.knative.dev/revision=${k.revision}`;
  } else {
    await deployOpenFaasFunction(kc, {
      namespace,
      name: FUNCTION,
      fn: {
        ...stack,
        labels: { ...stack.labels, ...o.functionLabels },
        annotations: { ...stack.annotations, ...o.functionAnnotations },
      },
    });
    target = { url: `${o.gatewayUrl ?? ''}/function/${FUNCTION}`, headers: {} };
    podSelector = `faas_function=${FUNCTION}`;
  }
  return { knative, ingress, target, podSelector };
}

/** A real Prometheus scraping the jobs and evaluating the install's PrometheusRules. */
async function startScenarioPrometheus(o: {
  dir: string;
  rendered: Rendered;
  jobs: ScrapeJob[];
}): Promise<Awaited<ReturnType<typeof startPrometheus>>> {
  if (!prometheusAvailable())
    throw new Error("prometheus not found: install Debian's prometheus package");
  const ruleGroups = o.rendered.objects
    .filter(x => x.kind === 'PrometheusRule')
    .flatMap(x => (x['spec'] as { groups?: unknown[] } | undefined)?.groups ?? []);
  return startPrometheus({ dir: join(o.dir, 'prometheus'), jobs: o.jobs, ruleGroups });
}

/** What the scenario's Prometheus scrapes: the autoscaler replicas, device plugins, gateway. */
function scrapeJobs(
  autoscalerPorts: readonly number[],
  plugins: readonly DevicePluginProcess[],
  gatewayTarget: string | undefined,
): ScrapeJob[] {
  return [
    { job: 'dilu-autoscaler', targets: autoscalerPorts.map(p => `127.0.0.1:${p}`) },
    {
      job: 'dilu-device-plugin',
      targets: plugins.map(p => p.opsUrl.replace(/^http:\/\//, '')),
    },
    ...(gatewayTarget === undefined ? [] : [{ job: 'openfaas-gateway', targets: [gatewayTarget] }]),
  ];
}

/** FunctionProfile `classify` from the bundled ResNet152 A100 measurements (Dilu authors). */
export function classifyProfile(namespace: string): ManifestObject {
  const profile = loadProfile(PROFILE_CSV);
  const resource = toFunctionProfileResource({
    ...profile,
    name: FUNCTION,
    memoryMiB: 3300,
    modelLoadSeconds: 2,
  });
  return {
    ...resource,
    metadata: { ...resource.metadata, namespace },
  };
}

export async function startScenario(opts: {
  readonly kc: KubeConfig;
  readonly connection: TestbedConnection;
  readonly overlay: OverlayName;
  readonly verbose?: boolean;
  /**
   * Settings over the templates' example spec: annotations (Knative: revision template;
   * OpenFaaS: the function's) and labels (OpenFaaS).
   */
  readonly functionAnnotations?: Readonly<Record<string, string>>;
  readonly functionLabels?: Readonly<Record<string, string>>;
}): Promise<Scenario> {
  const { kc, connection, overlay } = opts;
  const t0 = Date.now();
  const timings: Record<string, number> = {};
  const mark = (step: string, from: number): void => {
    timings[step] = Math.round((Date.now() - from) / 100) / 10;
  };
  // Short: unix socket paths (kubelet, device plugin, MPS pipes) must stay under 108 bytes.
  const dir = mkdtempSync(join(tmpdir(), `de2e-${overlay.slice(0, 2)}-`));
  const lines: string[] = [];
  const log = (line: string): void => {
    const stamped = `${((Date.now() - t0) / 1000).toFixed(1).padStart(6)}s ${line}`;
    lines.push(stamped);
    if (opts.verbose === true) console.log(`e2e: ${stamped}`);
  };
  const stoppers: (() => Promise<void>)[] = [];
  const stopAll = async (): Promise<void> => {
    for (const s of stoppers.reverse())
      await s().catch((err: unknown) => log(`stop: ${String(err)}`));
    writeFileSync(join(dir, 'scenario.log'), `${lines.join('\n')}\n`);
    if (process.env['DILU_E2E_KEEP'] !== '1') rmSync(dir, { recursive: true, force: true });
  };

  try {
    // 1. What the platform brings and the user prepares; then the install itself.
    let t = Date.now();
    const agentTls = await installPrerequisites(kc, overlay);
    const webhookPort = await freePort();
    const installed = installOverlay({
      connection,
      overlay,
      dir: join(dir, 'install'),
      webhookUrl: `https://127.0.0.1:${webhookPort}/mutate`,
    });
    stoppers.push(() => {
      log(`uninstall: ${uninstallOverlay(connection, installed).length} objects deleted`);
      return Promise.resolve();
    });
    mark('install', t);
    log(`installed ${installed.overlay}: ${installed.applied.length} objects`);

    // 2. Identities of the install's ServiceAccounts.
    const ids = join(dir, 'identities');
    mkdirSync(ids);
    const as = (name: string) => serviceAccountIdentity(kc, connection, 'dilu-system', name, ids);
    const [webhookId, certsId, autoscalerId, pluginId] = await Promise.all([
      as('dilu-webhook'),
      as('dilu-webhook-certs'),
      as('dilu-autoscaler'),
      as('dilu-device-plugin'),
    ]);

    // 3. Functions, as users make them from the templates.
    const examples = templateExamples();
    const stack = examples.stack[FUNCTION];
    if (stack === undefined) throw new Error(`templates/README.md's stack.yaml has no ${FUNCTION}`);
    const made = instantiateFunctions(join(dir, 'functions'), FUNCTION);
    const image = stack.image;
    const runtime = createE2eRuntime({
      python: PYTHON,
      functions: [
        {
          image,
          kind: overlay,
          dir: overlay === 'openfaas' ? made.openfaasContext : made.knativeDir,
          profileFile: PROFILE_CSV,
        },
      ],
    });

    // 4. Two GPU nodes, each with the real device plugin.
    t = Date.now();
    const suffix = randomBytes(2).toString('hex');
    const { nodes, plugins } = await startGpuNodes({
      suffix,
      kc,
      overlay,
      dir,
      runtime,
      log,
      rendered: installed.rendered,
      pluginKubeconfig: pluginId.kubeconfigFile,
      stoppers,
    });
    mark('nodes', t);
    log('nodes Ready with GPU resources from the device plugins');

    // 5. Prometheus, the autoscaler replicas behind their Service, the webhook.
    t = Date.now();
    const ports = [await freePort(), await freePort()];
    const gateway =
      overlay === 'openfaas'
        ? await startOpenFaasGateway({ kc, namespace: 'openfaas-fn', functions: [FUNCTION] })
        : undefined;
    if (gateway !== undefined) stoppers.push(() => gateway.close());
    const prometheus = await startScenarioPrometheus({
      dir,
      rendered: installed.rendered,
      jobs: scrapeJobs(ports, plugins, gateway?.metricsTarget),
    });
    stoppers.push(() => prometheus.stop());

    const autoscalers: AutoscalerReplica[] = [];
    for (const [i, port] of ports.entries()) {
      const replica = await autoscalerReplica({
        admin: kc,
        rendered: installed.rendered,
        dir: join(dir, `autoscaler-${i}`),
        identity: `dilu-autoscaler-${i}`,
        port,
        kubeconfig: autoscalerId.kubeconfigFile,
        overrides: overlay === 'openfaas' ? { openfaas: { prometheusUrl: prometheus.url } } : {},
      });
      autoscalers.push(replica);
      stoppers.push(() => replica.stop());
    }
    const placement = await startServiceProxy({
      backends: () => ports.map(p => `127.0.0.1:${p}`),
      readinessPath: '/readyz',
    });
    stoppers.push(() => placement.close());
    await waitFor(
      'one autoscaler replica leads and is Ready',
      () => Promise.resolve(placement.ready().length === 1),
      {
        timeoutMs: 60_000,
      },
    );

    const webhook = await startWebhookComponent({
      admin: kc,
      rendered: installed.rendered,
      dir: join(dir, 'webhook'),
      port: webhookPort,
      placementUrl: placement.url,
      certsKubeconfig: certsId.kubeconfigFile,
      serverKubeconfig: webhookId.kubeconfigFile,
    });
    stoppers.push(() => webhook.stop());
    mark('components', t);
    log(`components up: leader ${placement.ready().join(',')}, webhook on ${webhookPort}`);

    // 6. The function's namespace and profile, then the function, the platform's way.
    t = Date.now();
    const core = kc.makeApiClient(CoreV1Api);
    const namespace = overlay === 'openfaas' ? 'openfaas-fn' : `fns-${suffix}`;
    await applyObjects(kc, [
      {
        apiVersion: 'v1',
        kind: 'Namespace',
        metadata: { name: namespace, labels: { 'dilu.dev/injection': 'enabled' } },
      },
    ]);
    await core.patchNamespace(
      { name: namespace, body: { metadata: { labels: { 'dilu.dev/injection': 'enabled' } } } },
      mergePatch,
    );
    await applyObjects(kc, [classifyProfile(namespace)]);
    const { knative, ingress, target, podSelector } = await deployFunction({
      kc,
      overlay,
      namespace,
      image,
      examples,
      gatewayUrl: gateway?.url,
      functionAnnotations: opts.functionAnnotations,
      functionLabels: opts.functionLabels,
      stoppers,
    });
    mark('function', t);
    log(`function ${namespace}/${FUNCTION} deployed`);

    const scenario: Scenario = {
      overlay,
      kc,
      connection,
      dir,
      installed,
      namespace,
      nodes,
      plugins,
      webhook,
      autoscalers,
      placement,
      prometheus,
      agentAuth: {
        token: await serviceAccountToken(kc, 'dilu-system', 'dilu-autoscaler', ['dilu-node-agent']),
        caPem: agentTls.caPem,
      },
      target,
      ...(knative === undefined ? {} : { knative }),
      ...(gateway === undefined ? {} : { gateway }),
      ...(ingress === undefined ? {} : { ingress }),
      podSelector,
      timings,
      log,
      stop: stopAll,
    };
    // The function pods' runtimes, scraped as the cluster's Prometheus would find them.
    const scrapePods = setInterval(() => {
      const groups = nodes.flatMap(n =>
        [...n.pods()].map(([key, p]) => ({
          targets: [`${p.ip}:8080`],
          labels: { namespace: key.split('/')[0] ?? '', pod: key.split('/')[1] ?? '' },
        })),
      );
      prometheus.setPodTargets(groups);
    }, 1000);
    stoppers.push(() => {
      clearInterval(scrapePods);
      return Promise.resolve();
    });
    return scenario;
  } catch (err) {
    writeFileSync(join(dir, 'scenario.log'), `${lines.join('\n')}\n`);
    process.env['DILU_E2E_KEEP'] = process.env['DILU_E2E_KEEP'] ?? '1';
    await stopAll();
    throw new Error(`${(err as Error).message} (run folder kept: ${dir})`, { cause: err });
  }
}

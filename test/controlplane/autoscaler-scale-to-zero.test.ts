// Scale to zero and back for the Knative class on the real control plane: with
// min-scale 0, a revision whose queue-proxies report no requests goes to zero after the
// stable window and the grace period (the PA stays initialized, Active=False/NoTraffic, the
// SKS proxies through the activator); requests the activator holds bring it back.
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { AppsV1Api, CoreV1Api, CustomObjectsApi } from '@kubernetes/client-node';
import { pino } from 'pino';
import { loadProfile, toFunctionProfileResource } from '@dilu/autoscaler/model';
import {
  createAutoscaler,
  DILU_AUTOSCALER_CLASS,
  parseControllerConfig,
  type Autoscaler,
} from '@dilu/autoscaler/controller';
import { createNamespace, deleteNamespace } from '../testbed/client.js';
import { installKnativeServingCrds, installProjectCrds } from '../testbed/crds.js';
import { deleteNodes } from '../testbed/nodes.js';
import { waitFor } from '../testbed/readiness.js';
import { describeWithControlPlane } from '../testbed/suite.js';
import {
  autoscalerIdentity,
  BUNDLED_PROFILES,
  createLoopbackGpuNodes,
  emulateCluster,
  freePortAnyAddress,
  knativeRevision,
  startAgentFleet,
  type AgentFleet,
  type ClusterEmulation,
  type LoopbackNode,
} from './autoscaler-fixtures.js';

const REVISION = 'zero-00001';
const PA = {
  group: 'autoscaling.internal.knative.dev',
  version: 'v1alpha1',
  plural: 'podautoscalers',
};
const SKS = {
  group: 'networking.internal.knative.dev',
  version: 'v1alpha1',
  plural: 'serverlessservices',
};

describeWithControlPlane('autoscaler: Knative scale to zero and back', testbed => {
  let namespace = '';
  let fleet: AgentFleet | undefined;
  let emulation: ClusterEmulation | undefined;
  let autoscaler: Autoscaler | undefined;
  let activator: Server | undefined;
  let cleanupIdentity: (() => Promise<void>) | undefined;
  /** Requests the emulated activator holds for the revision. */
  let held = 0;
  const nodes: LoopbackNode[] = [
    {
      name: 'as-zero-0',
      gpus: [{ memoryUnits: 160 }],
      podCidr: '127.0.71.0/24',
      internalIp: '127.0.72.1',
    },
  ].map(n => ({ ...n, labels: { 'dilu.dev/test': 'autoscaler-zero' } }));

  beforeAll(async () => {
    const { kc, connection } = testbed();
    await installKnativeServingCrds(kc);
    await installProjectCrds(kc);
    namespace = await createNamespace(kc, 'as-zero');
    await createLoopbackGpuNodes(kc, connection, nodes);
    fleet = await startAgentFleet(nodes);
    const identity = await autoscalerIdentity(kc, connection, namespace);
    cleanupIdentity = identity.cleanup;
    await kc.makeApiClient(CoreV1Api).createNamespacedConfigMap({
      namespace,
      body: {
        metadata: { name: 'config-autoscaler' },
        data: { 'enable-scale-to-zero': 'true', 'scale-to-zero-grace-period': '2s' },
      },
    });
    const custom = kc.makeApiClient(CustomObjectsApi);
    const profile = {
      ...loadProfile(join(BUNDLED_PROFILES, 'bs_sm_resnet152.csv')),
      modelLoadSeconds: 1,
    };
    await custom.createNamespacedCustomObject({
      group: 'dilu.dev',
      version: 'v1alpha1',
      plural: 'functionprofiles',
      namespace,
      body: {
        ...toFunctionProfileResource({ ...profile, name: 'zero' }),
        metadata: { name: 'zero', namespace },
      },
    });
    const revision = knativeRevision({
      revision: REVISION,
      service: 'zero',
      nodeSelector: { 'dilu.dev/test': 'autoscaler-zero' },
      pinned: { batch: 16, smRequest: 6, smLimit: 12, sloMs: 400 },
      paClass: DILU_AUTOSCALER_CLASS,
      annotations: {
        'autoscaling.knative.dev/min-scale': '0',
        'autoscaling.knative.dev/scale-down-delay': '0s',
      },
    });
    await kc
      .makeApiClient(AppsV1Api)
      .createNamespacedDeployment({ namespace, body: revision.deployment });
    await custom.createNamespacedCustomObject({ ...PA, namespace, body: revision.pa });
    // The activator's Prometheus endpoint (config-observability metrics-protocol: prometheus).
    activator = createServer((_req, res) => {
      res
        .writeHead(200, { 'content-type': 'text/plain; version=0.0.4' })
        .end(
          '# TYPE kn_revision_request_concurrency gauge\n' +
            `kn_revision_request_concurrency{k8s_namespace_name="${namespace}",kn_revision_name="${REVISION}"} ${held}\n`,
        );
    });
    await new Promise<void>(resolve => activator!.listen(0, '127.0.0.1', resolve));
    const a = activator.address();
    const activatorPort = typeof a === 'object' && a !== null ? a.port : 0;
    const queueProxyPort = await freePortAnyAddress();
    emulation = emulateCluster({
      kc,
      namespace,
      fleet,
      queueProxyPort,
      podLabel: `serving.knative.dev/revision=${REVISION}`,
      sks: true,
    });
    emulation.setLoad(0);
    autoscaler = createAutoscaler({
      kc: identity.kc,
      log: pino({ level: process.env['DILU_TEST_LOG'] ?? 'silent' }),
      config: parseControllerConfig({
        mode: 'knative',
        namespace,
        knativeNamespace: namespace,
        identity: 'zero-e2e',
        tickIntervalMs: 500,
        httpPort: 0,
        httpHost: '127.0.0.1',
        servePlacement: false,
        queueProxyStatsPort: queueProxyPort,
        activatorMetricsUrls: [`http://127.0.0.1:${activatorPort}/metrics`],
        nodeAgentPort: fleet.port,
        nodeAgentCaFile: fleet.caFile,
        nodeAgentTokenFile: fleet.tokenFile,
        leaseDurationS: 6,
        renewDeadlineS: 4,
        retryPeriodS: 1,
      }),
    });
    await autoscaler.start();
  }, 120_000);

  afterAll(async () => {
    await autoscaler?.stop();
    await emulation?.stop();
    await fleet?.stop();
    if (activator !== undefined) {
      const s = activator;
      await new Promise<void>(resolve => s.close(() => resolve()));
    }
    await cleanupIdentity?.();
    const { kc } = testbed();
    await deleteNamespace(kc, namespace);
    await deleteNodes(
      kc,
      nodes.map(n => n.name),
    );
  }, 60_000);

  const pa = async () =>
    (await testbed()
      .kc.makeApiClient(CustomObjectsApi)
      .getNamespacedCustomObject({ ...PA, namespace, name: REVISION })) as {
      status?: {
        desiredScale?: number;
        actualScale?: number;
        serviceName?: string;
        conditions?: { type: string; status: string; reason?: string }[];
      };
    };
  const cond = (p: Awaited<ReturnType<typeof pa>>, type: string) =>
    p.status?.conditions?.find(c => c.type === type);
  const replicas = async () =>
    (
      await testbed()
        .kc.makeApiClient(AppsV1Api)
        .readNamespacedDeployment({ namespace, name: `${REVISION}-deployment` })
    ).spec?.replicas;
  const sksMode = async () =>
    (
      (await testbed()
        .kc.makeApiClient(CustomObjectsApi)
        .getNamespacedCustomObject({ ...SKS, namespace, name: REVISION })) as {
        spec: { mode: string };
      }
    ).spec.mode;

  it('initializes at the initial scale, then scales an idle revision to zero', async () => {
    await waitFor(
      'PA initialized',
      async () => cond(await pa(), 'ScaleTargetInitialized')?.status === 'True',
      {
        timeoutMs: 30_000,
        intervalMs: 250,
      },
    );
    const t0 = Date.now();
    await waitFor('replicas 0', async () => (await replicas()) === 0, {
      timeoutMs: 60_000,
      intervalMs: 250,
    });
    // Not before the stable window (6 s) plus the grace period (2 s) of zero load.
    expect(Date.now() - t0).toBeGreaterThanOrEqual(6_000);
    await waitFor(
      'PA at zero: inactive, still initialized, SKS proxying',
      async () => {
        const p = await pa();
        return (
          p.status?.desiredScale === 0 &&
          p.status.actualScale === 0 &&
          cond(p, 'Active')?.reason === 'NoTraffic' &&
          (await sksMode()) === 'Proxy'
        );
      },
      { timeoutMs: 30_000, intervalMs: 250 },
    );
    const p = await pa();
    expect(cond(p, 'Active')?.status).toBe('False');
    // What keeps the Revision Ready at zero: initialized and a service name.
    expect(cond(p, 'ScaleTargetInitialized')?.status).toBe('True');
    expect(p.status?.serviceName).toBe(REVISION);
  }, 90_000);

  it('activates when the activator holds requests, and serves again', async () => {
    held = 3;
    await waitFor('replicas back to 1 or more', async () => ((await replicas()) ?? 0) >= 1, {
      timeoutMs: 30_000,
      intervalMs: 250,
    });
    held = 0;
    emulation!.setLoad(20);
    await waitFor(
      'PA Active and Ready again, SKS serving',
      async () => {
        const p = await pa();
        return (
          cond(p, 'Active')?.status === 'True' &&
          cond(p, 'Ready')?.status === 'True' &&
          (await sksMode()) === 'Serve'
        );
      },
      { timeoutMs: 30_000, intervalMs: 250 },
    );
  }, 60_000);
});

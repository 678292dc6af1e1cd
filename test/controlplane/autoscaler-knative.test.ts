// End to end on the real control plane: a PodAutoscaler of our class, its revision Deployment
// on fake GPU nodes, emulated queue-proxies on the pods' (loopback) IPs and the real device
// plugin's node agent on each node (HTTPS, tokens reviewed by the API server). The
// autoscaler runs in-process with the service account and RBAC of manifests/base/autoscaler.
// Load rises: quotas first, then replicas; load falls: quotas, then replicas; the PA carries
// the status Knative needs.
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import { readFileSync } from 'node:fs';
import { AppsV1Api, CoreV1Api, CustomObjectsApi } from '@kubernetes/client-node';
import { pino } from 'pino';
import {
  createPredictor,
  instanceCapacityRps,
  loadProfile,
  toFunctionProfileResource,
} from '@dilu/autoscaler/model';
import {
  createAutoscaler,
  DILU_AUTOSCALER_CLASS,
  parseControllerConfig,
  type Allocation,
  type Autoscaler,
} from '@dilu/autoscaler/controller';
import { createNamespace, deleteNamespace } from '../testbed/client.js';
import { installKnativeServingCrds, installProjectCrds } from '../testbed/crds.js';
import { deleteNodes } from '../testbed/nodes.js';
import { waitFor } from '../testbed/readiness.js';
import { describeWithControlPlane } from '../testbed/suite.js';
import { startDevicePluginFleet } from './device-plugin-fleet.js';
import {
  autoscalerIdentity,
  BUNDLED_PROFILES,
  createLoopbackGpuNodes,
  emulateCluster,
  freePortAnyAddress,
  knativeRevision,
  pollReplicas,
  type ReplicaChange,
  sleep,
  type NodeAgentFleet,
  type ClusterEmulation,
  type LoopbackNode,
} from './autoscaler-fixtures.js';

const REVISION = 'fn-00001';
const BATCH = 16;
const SM_REQUEST = 6;
const SM_LIMIT = 12;
const SLO_MS = 400;
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

const profile = {
  ...loadProfile(join(BUNDLED_PROFILES, 'bs_sm_resnet152.csv')),
  modelLoadSeconds: 1,
};
const predictor = createPredictor(profile);
/** One instance's capacity at quota q (the duty-cycled model the policy plans with). */
const capAt = (quota: number): number =>
  instanceCapacityRps(predictor, { batch: BATCH, smLimit: SM_LIMIT, quota });

describeWithControlPlane('autoscaler: Knative class, end to end', testbed => {
  let namespace = '';
  let fleet: NodeAgentFleet | undefined;
  let emulation: ClusterEmulation | undefined;
  let autoscaler: Autoscaler | undefined;
  let cleanupIdentity: (() => Promise<void>) | undefined;
  let watchReplicas: (() => void) | undefined;
  const replicaChanges: ReplicaChange[] = [];
  const nodes: LoopbackNode[] = [
    {
      name: 'as-kn-0',
      gpus: [{ memoryUnits: 160 }],
      podCidr: '127.0.41.0/24',
      internalIp: '127.0.42.1',
    },
    {
      name: 'as-kn-1',
      gpus: [{ memoryUnits: 160 }],
      podCidr: '127.0.43.0/24',
      internalIp: '127.0.42.2',
    },
  ].map(n => ({ ...n, labels: { 'dilu.dev/test': 'autoscaler-knative' } }));

  beforeAll(async () => {
    const { kc, connection } = testbed();
    await installKnativeServingCrds(kc);
    await installProjectCrds(kc);
    namespace = await createNamespace(kc, 'as-knative');
    await createLoopbackGpuNodes(kc, connection, nodes);
    const identity = await autoscalerIdentity(kc, connection, namespace);
    // The real device plugin on each node: its node agent answers the autoscaler.
    fleet = await startDevicePluginFleet({ admin: kc, nodes, namespace });
    cleanupIdentity = identity.cleanup;
    const core = kc.makeApiClient(CoreV1Api);
    const custom = kc.makeApiClient(CustomObjectsApi);
    // config-autoscaler as Knative ships it, in this suite's stand-in for knative-serving.
    await core.createNamespacedConfigMap({
      namespace,
      body: {
        metadata: { name: 'config-autoscaler' },
        data: { 'enable-scale-to-zero': 'true', 'max-scale-up-rate': '1000.0' },
      },
    });
    const fp = toFunctionProfileResource({ ...profile, name: 'fn' });
    await custom.createNamespacedCustomObject({
      group: 'dilu.dev',
      version: 'v1alpha1',
      plural: 'functionprofiles',
      namespace,
      body: { ...fp, metadata: { name: 'fn', namespace } },
    });
    const revision = knativeRevision({
      revision: REVISION,
      service: 'fn',
      nodeSelector: { 'dilu.dev/test': 'autoscaler-knative' },
      pinned: { batch: BATCH, smRequest: SM_REQUEST, smLimit: SM_LIMIT, sloMs: SLO_MS },
      paClass: DILU_AUTOSCALER_CLASS,
    });
    await kc
      .makeApiClient(AppsV1Api)
      .createNamespacedDeployment({ namespace, body: revision.deployment });
    await custom.createNamespacedCustomObject({ ...PA, namespace, body: revision.pa });

    const queueProxyPort = await freePortAnyAddress();
    const runtimePort = await freePortAnyAddress();
    emulation = emulateCluster({
      kc,
      namespace,
      fleet,
      queueProxyPort,
      runtimePort,
      latencyMs: 180,
      podLabel: `serving.knative.dev/revision=${REVISION}`,
      sks: true,
    });
    emulation.setLoad(0.3 * capAt(SM_LIMIT));
    watchReplicas = pollReplicas(
      kc.makeApiClient(AppsV1Api),
      namespace,
      `${REVISION}-deployment`,
      replicaChanges,
    );
    autoscaler = createAutoscaler({
      kc: identity.kc,
      log: pino({ level: process.env['DILU_TEST_LOG'] ?? 'silent' }),
      config: parseControllerConfig({
        mode: 'knative',
        namespace,
        knativeNamespace: namespace,
        identity: 'knative-e2e',
        tickIntervalMs: 500,
        httpPort: 0,
        httpHost: '127.0.0.1',
        queueProxyStatsPort: queueProxyPort,
        runtimeMetricsPort: runtimePort,
        latencyEveryTicks: 2,
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
    watchReplicas?.();
    await autoscaler?.stop();
    await emulation?.stop();
    await fleet?.stop();
    await cleanupIdentity?.();
    const { kc } = testbed();
    await deleteNamespace(kc, namespace);
    await deleteNodes(
      kc,
      nodes.map(n => n.name),
    );
  }, 60_000);

  const readPa = async () =>
    (await testbed()
      .kc.makeApiClient(CustomObjectsApi)
      .getNamespacedCustomObject({ ...PA, namespace, name: REVISION })) as {
      metadata: { generation: number };
      status?: {
        observedGeneration?: number;
        serviceName?: string;
        metricsServiceName?: string;
        desiredScale?: number;
        actualScale?: number;
        conditions?: { type: string; status: string }[];
      };
    };
  const condition = (pa: Awaited<ReturnType<typeof readPa>>, type: string) =>
    pa.status?.conditions?.find(c => c.type === type)?.status;

  /** The allocations as a client of the node agents sees them: HTTPS, bearer token. */
  const agentAllocations = async (): Promise<Allocation[]> => {
    const f = fleet!;
    const dispatcher = new Agent({
      connect: { ca: readFileSync(f.caFile, 'utf8'), servername: 'dilu-node-agent' },
    });
    try {
      const all: Allocation[] = [];
      for (const n of nodes) {
        const res = await request(`https://${n.internalIp}:${f.port}/v1/allocations`, {
          headers: { authorization: `Bearer ${f.token}` },
          dispatcher,
        });
        all.push(...((await res.body.json()) as Allocation[]));
      }
      return all;
    } finally {
      await dispatcher.close();
    }
  };
  const quotaWrites = () => fleet!.quotaChanges();

  it('reaches Ready with the status fields the revision reconciler reads', async () => {
    await waitFor('PA Ready', async () => condition(await readPa(), 'Ready') === 'True', {
      timeoutMs: 60_000,
      intervalMs: 250,
    });
    const pa = await readPa();
    expect(pa.status).toMatchObject({
      observedGeneration: pa.metadata.generation,
      serviceName: REVISION,
      metricsServiceName: `${REVISION}-private`,
      desiredScale: 1,
      actualScale: 1,
    });
    for (const type of ['Active', 'ScaleTargetInitialized', 'SKSReady', 'Ready']) {
      expect(condition(pa, type)).toBe('True');
    }
    const sks = (await testbed()
      .kc.makeApiClient(CustomObjectsApi)
      .getNamespacedCustomObject({ ...SKS, namespace, name: REVISION })) as {
      metadata: { ownerReferences?: { kind: string; name: string; controller?: boolean }[] };
      spec: { mode: string; objectRef: { name: string } };
    };
    expect(sks.spec.mode).toBe('Serve');
    expect(sks.spec.objectRef.name).toBe(`${REVISION}-deployment`);
    expect(sks.metadata.ownerReferences).toEqual([
      expect.objectContaining({ kind: 'PodAutoscaler', name: REVISION, controller: true }),
    ]);
    const d = await testbed()
      .kc.makeApiClient(AppsV1Api)
      .readNamespacedDeployment({ namespace, name: `${REVISION}-deployment` });
    expect(
      JSON.parse(d.metadata?.annotations?.['dilu.dev/instance-decision'] ?? '{}'),
    ).toMatchObject({
      batch: BATCH,
      smRequest: SM_REQUEST,
      smLimit: SM_LIMIT,
      sloMs: SLO_MS,
    });
  }, 90_000);

  it('serves the placement API the webhook calls (placement-api.md)', async () => {
    const base = `http://127.0.0.1:${autoscaler!.port()}`;
    const body = {
      namespace,
      generateName: `${REVISION}-deployment-`,
      function: `knative.${namespace}.${REVISION}`,
      class: 'latency-critical',
      smRequest: 10,
      smLimit: 20,
      memoryMiB: 1024,
    };
    let res: Response | undefined;
    await waitFor(
      'placement service synced',
      async () => {
        res = await fetch(`${base}/v1/placements`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(body),
        });
        return res.status !== 503;
      },
      { timeoutMs: 30_000, intervalMs: 250 },
    );
    expect(res?.status).toBe(200);
    const placement = (await res!.json()) as {
      reservation: string;
      node: string;
      gpuIndex: number;
    };
    expect(nodes.map(n => n.name)).toContain(placement.node);
    expect(placement.gpuIndex).toBe(0);
    const bad = await fetch(`${base}/v1/placements`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ ...body, smLimit: 5 }),
    });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: string }).error).toMatch(/^smLimit/);
    const del = await fetch(`${base}/v1/placements/${placement.reservation}`, { method: 'DELETE' });
    expect(del.status).toBe(204);
    expect(await (await fetch(`${base}/metrics`)).text()).toMatch(/dilu_placement_requests_total/);
  }, 60_000);

  it("raises the running instance's quota before adding replicas when load rises", async () => {
    const e = emulation!;
    // A gentle ramp to ~0.65 of one instance's capacity at its limit: more than its quota
    // serves at the request (r/l = 0.5), less than its limit does.
    for (const f of [0.4, 0.5, 0.58, 0.65]) {
      e.setLoad(f * capAt(SM_LIMIT));
      await sleep(1500);
    }
    await waitFor(
      'a quota raised through the node agent',
      async () => (await agentAllocations()).some(a => a.quota > a.smRequest),
      { timeoutMs: 30_000, intervalMs: 250 },
    );
    const raisedAt = Math.min(
      ...quotaWrites()
        .filter(w => w.to > w.from)
        .map(w => w.atMs),
    );
    expect(replicaChanges.filter(c => c.to > c.from && c.atMs <= raisedAt)).toEqual([]);

    // Far beyond what one instance can reach: replicas grow.
    e.setLoad(3 * capAt(SM_LIMIT));
    await waitFor(
      'replicas grown to 3 or more',
      () => Promise.resolve(replicaChanges.some(c => c.to >= 3)),
      {
        timeoutMs: 45_000,
        intervalMs: 250,
      },
    );
    const grewAt = Math.min(...replicaChanges.filter(c => c.to > c.from).map(c => c.atMs));
    expect(raisedAt).toBeLessThan(grewAt);
    await waitFor(
      'the new instances ready',
      async () => (await readPa()).status?.actualScale === (await readPa()).status?.desiredScale,
      { timeoutMs: 30_000, intervalMs: 250 },
    );
  }, 120_000);

  it("reads the runtimes' latency for introspection and exports predicted vs observed", async () => {
    // The runtimes' histograms are read every few ticks, and a read can time out on a busy
    // machine: wait for the first window with finished requests rather than read once.
    const scrape = async (): Promise<string> =>
      (await fetch(`http://127.0.0.1:${autoscaler!.port()}/metrics`)).text();
    let text = await scrape();
    await waitFor(
      'the observed p95 exported',
      async () => (text = await scrape()).includes('dilu_autoscaler_observed_latency_p95_seconds{'),
      { timeoutMs: 30_000, intervalMs: 500 },
    );
    const value = (name: string): number =>
      Number(
        new RegExp(
          `${name}\\{namespace="${namespace}",function="${REVISION}"\\} ([0-9.e+-]+)`,
        ).exec(text)?.[1],
      );
    // Every request takes 180 ms: the p95 lies in the (0.15, 0.2] s bucket.
    expect(value('dilu_autoscaler_observed_latency_p95_seconds')).toBeGreaterThan(0.15);
    expect(value('dilu_autoscaler_observed_latency_p95_seconds')).toBeLessThanOrEqual(0.2);
    expect(value('dilu_autoscaler_slo_seconds')).toBe(0.4);
    expect(value('dilu_autoscaler_predicted_latency_bound_seconds')).toBeGreaterThan(0);
    expect(value('dilu_autoscaler_observed_load_rps')).toBeGreaterThan(0);
    expect(value('dilu_autoscaler_predicted_load_rps')).toBeGreaterThan(0);
  });

  it('lowers quotas before removing replicas when load falls, down to min-scale', async () => {
    const e = emulation!;
    const since = Date.now();
    e.setLoad(0.2 * capAt(SM_LIMIT));
    await waitFor(
      'replicas back to min-scale 1',
      async () => {
        const d = await testbed()
          .kc.makeApiClient(AppsV1Api)
          .readNamespacedDeployment({ namespace, name: `${REVISION}-deployment` });
        return d.spec?.replicas === 1;
      },
      { timeoutMs: 90_000, intervalMs: 500 },
    );
    const lowered = quotaWrites().filter(w => w.to < w.from && w.atMs >= since);
    const shrank = replicaChanges.filter(c => c.to < c.from && c.atMs >= since);
    expect(lowered.length).toBeGreaterThan(0);
    expect(shrank.length).toBeGreaterThan(0);
    expect(Math.min(...lowered.map(w => w.atMs))).toBeLessThan(
      Math.min(...shrank.map(c => c.atMs)),
    );
    await waitFor(
      'PA Ready at one replica',
      async () => {
        const pa = await readPa();
        return (
          condition(pa, 'Ready') === 'True' &&
          pa.status?.desiredScale === 1 &&
          pa.status.actualScale === 1
        );
      },
      { timeoutMs: 30_000, intervalMs: 250 },
    );
    // Every quota the agents hold stays inside [request, limit] and each GPU under 100.
    const allocations = await agentAllocations();
    for (const a of allocations) {
      expect(a.quota).toBeGreaterThanOrEqual(a.smRequest);
      expect(a.quota).toBeLessThanOrEqual(a.smLimit);
    }
  }, 150_000);
});

// End to end on the real control plane, OpenFaaS mode: a function's Deployment (faas-netes
// labels) on fake GPU nodes, an emulated CE gateway's metrics scraped by a real Prometheus
// (Debian's package) on 127.0.0.1, the real device plugin's node agent on each node.
// Load rises: quotas first, then replicas; a Prometheus that loses the gateway holds the
// scale; load falls: quotas, then replicas. The Alertmanager receiver answers as the gateway's.
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { join } from 'node:path';
import { AppsV1Api, CustomObjectsApi, type V1Deployment } from '@kubernetes/client-node';
import { pino } from 'pino';
import {
  createPredictor,
  instanceCapacityRps,
  loadProfile,
  toFunctionProfileResource,
} from '@dilu/autoscaler/model';
import {
  createAutoscaler,
  parseControllerConfig,
  type Autoscaler,
} from '@dilu/autoscaler/controller';
import {
  findPrometheus,
  startEmulatedGateway,
  startPrometheus,
  type EmulatedGateway,
  type PrometheusServer,
} from '@dilu/autoscaler/controller/testing';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createNamespace, deleteNamespace } from '../testbed/client.js';
import { installProjectCrds } from '../testbed/crds.js';
import { deleteNodes } from '../testbed/nodes.js';
import { waitFor } from '../testbed/readiness.js';
import { describeWithControlPlane } from '../testbed/suite.js';
import { startDevicePluginFleet } from './device-plugin-fleet.js';
import {
  autoscalerIdentity,
  BUNDLED_PROFILES,
  createLoopbackGpuNodes,
  emulateCluster,
  gpuPodTemplate,
  pollReplicas,
  type ReplicaChange,
  sleep,
  type NodeAgentFleet,
  type ClusterEmulation,
  type LoopbackNode,
} from './autoscaler-fixtures.js';

const FN = 'ofn';
const BATCH = 16;
const SM_REQUEST = 6;
const SM_LIMIT = 12;
const SLO_MS = 400;
const profile = {
  ...loadProfile(join(BUNDLED_PROFILES, 'bs_sm_resnet152.csv')),
  modelLoadSeconds: 1,
};
const predictor = createPredictor(profile);
const capAt = (quota: number): number =>
  instanceCapacityRps(predictor, { batch: BATCH, smLimit: SM_LIMIT, quota });

describeWithControlPlane(
  'autoscaler: OpenFaaS mode with a real Prometheus, end to end',
  testbed => {
    let namespace = '';
    let fleet: NodeAgentFleet | undefined;
    let emulation: ClusterEmulation | undefined;
    let gateway: EmulatedGateway | undefined;
    let prometheus: PrometheusServer | undefined;
    let autoscaler: Autoscaler | undefined;
    let cleanupIdentity: (() => Promise<void>) | undefined;
    let stopPolling: (() => void) | undefined;
    let secretsDir = '';
    const replicaChanges: ReplicaChange[] = [];
    const nodes: LoopbackNode[] = [
      {
        name: 'as-of-0',
        gpus: [{ memoryUnits: 160 }],
        podCidr: '127.0.51.0/24',
        internalIp: '127.0.52.1',
      },
      {
        name: 'as-of-1',
        gpus: [{ memoryUnits: 160 }],
        podCidr: '127.0.53.0/24',
        internalIp: '127.0.52.2',
      },
    ].map(n => ({ ...n, labels: { 'dilu.dev/test': 'autoscaler-openfaas' } }));
    /** function_name as the gateway labels it: <fn>.<namespace>. */
    const fnLabel = () => `${FN}.${namespace}`;

    beforeAll(async () => {
      if (findPrometheus() === null) {
        throw new Error("prometheus not installed: .ci/run installs Debian's prometheus package");
      }
      const { kc, connection } = testbed();
      await installProjectCrds(kc);
      namespace = await createNamespace(kc, 'as-openfaas');
      await createLoopbackGpuNodes(kc, connection, nodes);
      const identity = await autoscalerIdentity(kc, connection, namespace);
      // The real device plugin on each node: its node agent answers the autoscaler.
      fleet = await startDevicePluginFleet({ admin: kc, nodes, namespace });
      cleanupIdentity = identity.cleanup;
      const custom = kc.makeApiClient(CustomObjectsApi);
      await custom.createNamespacedCustomObject({
        group: 'dilu.dev',
        version: 'v1alpha1',
        plural: 'functionprofiles',
        namespace,
        body: {
          ...toFunctionProfileResource({ ...profile, name: FN }),
          metadata: { name: FN, namespace },
        },
      });
      await kc
        .makeApiClient(AppsV1Api)
        .createNamespacedDeployment({ namespace, body: functionDeployment() });
      emulation = emulateCluster({ kc, namespace, fleet, podLabel: `faas_function=${FN}` });
      gateway = await startEmulatedGateway({});
      gateway.setLoad(fnLabel(), 0.3 * capAt(SM_LIMIT), 60);
      prometheus = await startPrometheus({
        job: 'openfaas-gateway',
        targets: [`127.0.0.1:${gateway.port}`],
        scrapeIntervalS: 1,
      });
      stopPolling = pollReplicas(kc.makeApiClient(AppsV1Api), namespace, FN, replicaChanges);
      secretsDir = mkdtempSync(join(tmpdir(), 'dilu-alert-auth-'));
      writeFileSync(join(secretsDir, 'password'), 'alert-secret\n');
      autoscaler = createAutoscaler({
        kc: identity.kc,
        log: pino({ level: process.env['DILU_TEST_LOG'] ?? 'silent' }),
        config: parseControllerConfig({
          mode: 'openfaas',
          namespace,
          identity: 'openfaas-e2e',
          tickIntervalMs: 500,
          httpPort: 0,
          httpHost: '127.0.0.1',
          nodeAgentPort: fleet.port,
          nodeAgentCaFile: fleet.caFile,
          nodeAgentTokenFile: fleet.tokenFile,
          leaseDurationS: 6,
          renewDeadlineS: 4,
          retryPeriodS: 1,
          openfaas: {
            functionNamespace: namespace,
            prometheusUrl: prometheus.url,
            rateWindow: '5s',
            alertUser: 'admin',
            alertPasswordFile: join(secretsDir, 'password'),
          },
        }),
      });
      await autoscaler.start();
    }, 120_000);

    afterAll(async () => {
      stopPolling?.();
      await autoscaler?.stop();
      await prometheus?.stop();
      await gateway?.close();
      await emulation?.stop();
      await fleet?.stop();
      await cleanupIdentity?.();
      if (secretsDir !== '') rmSync(secretsDir, { recursive: true, force: true });
      const { kc } = testbed();
      await deleteNamespace(kc, namespace);
      await deleteNodes(
        kc,
        nodes.map(n => n.name),
      );
    }, 60_000);

    const quotaWrites = () => fleet!.quotaChanges();
    const replicas = async (): Promise<number> =>
      (
        await testbed()
          .kc.makeApiClient(AppsV1Api)
          .readNamespacedDeployment({ namespace, name: FN })
      ).spec?.replicas ?? -1;
    /** The autoscaler's own count of failed Prometheus reads, from its /metrics. */
    const prometheusErrors = async (): Promise<number> => {
      const text = await (await fetch(`http://127.0.0.1:${autoscaler!.port()}/metrics`)).text();
      const m = /dilu_autoscaler_scrape_errors_total\{source="prometheus"\} (\d+)/.exec(text);
      return Number(m?.[1] ?? 0);
    };
    const alert = (body: unknown, auth?: string) =>
      fetch(`http://127.0.0.1:${autoscaler!.port()}/system/alert`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          ...(auth === undefined
            ? {}
            : { authorization: `Basic ${Buffer.from(auth).toString('base64')}` }),
        },
        body: typeof body === 'string' ? body : JSON.stringify(body),
      });

    it('publishes the instance decision on the function Deployment', async () => {
      await waitFor(
        'instance decision published',
        async () => {
          const d = await testbed()
            .kc.makeApiClient(AppsV1Api)
            .readNamespacedDeployment({ namespace, name: FN });
          return d.metadata?.annotations?.['dilu.dev/instance-decision'] !== undefined;
        },
        { timeoutMs: 30_000, intervalMs: 250 },
      );
      const d = await testbed()
        .kc.makeApiClient(AppsV1Api)
        .readNamespacedDeployment({ namespace, name: FN });
      expect(
        JSON.parse(d.metadata?.annotations?.['dilu.dev/instance-decision'] ?? '{}'),
      ).toMatchObject({
        batch: BATCH,
        smRequest: SM_REQUEST,
        smLimit: SM_LIMIT,
        sloMs: SLO_MS,
      });
    }, 60_000);

    it('raises quotas from Prometheus rates first, then replicas', async () => {
      for (const f of [0.4, 0.5, 0.58, 0.65]) {
        gateway!.setLoad(fnLabel(), f * capAt(SM_LIMIT), 60);
        await sleep(2000);
      }
      await waitFor(
        'a quota raised through the node agent',
        () => Promise.resolve(quotaWrites().some(w => w.to > w.from)),
        { timeoutMs: 30_000, intervalMs: 250 },
      );
      const raisedAt = Math.min(
        ...quotaWrites()
          .filter(w => w.to > w.from)
          .map(w => w.atMs),
      );
      expect(replicaChanges.filter(c => c.to > c.from && c.atMs <= raisedAt)).toEqual([]);
      gateway!.setLoad(fnLabel(), 3 * capAt(SM_LIMIT), 60);
      await waitFor(
        'replicas grown to 3 or more',
        () => Promise.resolve(replicaChanges.some(c => c.to >= 3)),
        { timeoutMs: 45_000, intervalMs: 250 },
      );
      const grewAt = Math.min(...replicaChanges.filter(c => c.to > c.from).map(c => c.atMs));
      expect(raisedAt).toBeLessThan(grewAt);
      // More than the CE gateway's API would ever allow (it clamps to 5): the Deployment is ours.
      expect(await replicas()).toBeGreaterThanOrEqual(3);
    }, 120_000);

    it('holds replicas and quotas while Prometheus cannot scrape the gateway', async () => {
      const port = gateway!.port;
      await gateway!.close();
      // up{job="openfaas-gateway"} turns 0 after the next failed scrape and the invocation
      // series go stale; from the first tick that sees it, nothing may change.
      const errorsBefore = await prometheusErrors();
      await waitFor(
        'the autoscaler sees the gateway unscraped',
        async () => (await prometheusErrors()) > errorsBefore,
        { timeoutMs: 15_000, intervalMs: 100 },
      );
      // Reconciles already requested finish first.
      await sleep(1000);
      const before = await replicas();
      const writesBefore = quotaWrites().length;
      await sleep(8000);
      expect(await replicas()).toBe(before);
      expect(quotaWrites().length).toBe(writesBefore);
      expect(await prometheusErrors()).toBeGreaterThan(errorsBefore + 10);
      gateway = await startEmulatedGateway({ port });
      gateway.setLoad(fnLabel(), 3 * capAt(SM_LIMIT), 60);
    }, 60_000);

    it('lowers quotas before removing replicas when the load falls', async () => {
      const since = Date.now();
      gateway!.setLoad(fnLabel(), 0.2 * capAt(SM_LIMIT), 60);
      await waitFor(
        'replicas back to com.openfaas.scale.min',
        async () => (await replicas()) === 1,
        {
          timeoutMs: 90_000,
          intervalMs: 500,
        },
      );
      const lowered = quotaWrites().filter(w => w.to < w.from && w.atMs >= since);
      const shrank = replicaChanges.filter(c => c.to < c.from && c.atMs >= since);
      expect(lowered.length).toBeGreaterThan(0);
      expect(shrank.length).toBeGreaterThan(0);
      expect(Math.min(...lowered.map(w => w.atMs))).toBeLessThan(
        Math.min(...shrank.map(c => c.atMs)),
      );
    }, 120_000);

    it('receives Alertmanager webhooks as the gateway does: auth, payload, summary', async () => {
      const payload = {
        status: 'firing',
        receiver: 'scale-up',
        alerts: [
          {
            status: 'firing',
            labels: { alertname: 'APIHighInvocationRate', function_name: fnLabel() },
          },
        ],
      };
      expect((await alert(payload)).status).toBe(401);
      expect((await alert(payload, 'admin:wrong')).status).toBe(401);
      const ok = await alert(payload, 'admin:alert-secret');
      expect(ok.status).toBe(200);
      expect(await ok.json()).toEqual({ firing: [`${namespace}/${FN}`], resolved: [], ignored: 0 });
      const bad = await alert(
        { alerts: [{ status: 'burning', labels: {} }] },
        'admin:alert-secret',
      );
      expect(bad.status).toBe(400);
      expect(await bad.json()).toMatchObject({ field: 'alerts.0.status' });
      const resolved = await alert(
        { ...payload, alerts: [{ ...payload.alerts[0], status: 'resolved' }] },
        'admin:alert-secret',
      );
      expect(await resolved.json()).toEqual({
        firing: [],
        resolved: [`${namespace}/${FN}`],
        ignored: 0,
      });
    }, 30_000);

    function functionDeployment(): V1Deployment {
      const labels = {
        faas_function: FN,
        'com.openfaas.scale.min': '1',
        'com.openfaas.scale.down.window': '5s',
      };
      const annotations = {
        // Forget a load burst within seconds, like the 5 s scale-down window above.
        'dilu.dev/burst-half-life': '5',
        'dilu.dev/slo-ms': String(SLO_MS),
        'dilu.dev/batch': String(BATCH),
        'dilu.dev/sm': String(SM_REQUEST),
        'dilu.dev/sm-limit': String(SM_LIMIT),
      };
      return {
        metadata: { name: FN, labels, annotations },
        spec: {
          replicas: 1,
          selector: { matchLabels: { faas_function: FN } },
          template: gpuPodTemplate(
            labels,
            { 'dilu.dev/test': 'autoscaler-openfaas' },
            { batch: BATCH, smRequest: SM_REQUEST, smLimit: SM_LIMIT, sloMs: SLO_MS },
            annotations,
          ),
        },
      };
    }
  },
);

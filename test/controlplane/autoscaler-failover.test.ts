// Two autoscaler processes (`dilu autoscaler`, the CLI a Deployment runs) against the real
// control plane, as the two replicas of manifests/base/autoscaler. The leader is killed with
// SIGKILL mid-run (no lease release, no goodbye): the standby must take over within the
// lease duration, continue from the cluster's state (no replica lost, none doubled) and act
// on the load from then on.
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AppsV1Api, CoordinationV1Api, CoreV1Api, CustomObjectsApi } from '@kubernetes/client-node';
import { dump } from 'js-yaml';
import {
  createPredictor,
  instanceCapacityRps,
  loadProfile,
  toFunctionProfileResource,
} from '@dilu/autoscaler/model';
import { DILU_AUTOSCALER_CLASS } from '@dilu/autoscaler/controller';
import { createNamespace, deleteNamespace } from '../testbed/client.js';
import { TEST_PACKAGE_ROOT } from '../testbed/cache.js';
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
  pollReplicas,
  sleep,
  startAgentFleet,
  type AgentFleet,
  type ClusterEmulation,
  type LoopbackNode,
  type ReplicaChange,
} from './autoscaler-fixtures.js';

const REVISION = 'ha-00001';
const PINNED = { batch: 16, smRequest: 6, smLimit: 12, sloMs: 400 };
const LEASE_S = 6;
const RETRY_S = 1;
const DILU = join(TEST_PACKAGE_ROOT, '..', 'autoscaler', 'bin', 'dilu.js');
const profile = {
  ...loadProfile(join(BUNDLED_PROFILES, 'bs_sm_resnet152.csv')),
  modelLoadSeconds: 1,
};
const capAtLimit = instanceCapacityRps(createPredictor(profile), {
  batch: PINNED.batch,
  smLimit: PINNED.smLimit,
  quota: PINNED.smLimit,
});

interface Replica {
  readonly name: string;
  readonly child: ChildProcess;
  readonly output: string[];
}

describeWithControlPlane('autoscaler: two replicas, the leader killed mid-run', testbed => {
  let namespace = '';
  let dir = '';
  let fleet: AgentFleet | undefined;
  let emulation: ClusterEmulation | undefined;
  let cleanupIdentity: (() => Promise<void>) | undefined;
  let stopPolling: (() => void) | undefined;
  const replicas = new Map<string, Replica>();
  const changes: ReplicaChange[] = [];
  const nodes: LoopbackNode[] = [
    {
      name: 'as-ha-0',
      gpus: [{ memoryUnits: 160 }],
      podCidr: '127.0.61.0/24',
      internalIp: '127.0.62.1',
    },
    {
      name: 'as-ha-1',
      gpus: [{ memoryUnits: 160 }],
      podCidr: '127.0.63.0/24',
      internalIp: '127.0.62.2',
    },
  ].map(n => ({ ...n, labels: { 'dilu.dev/test': 'autoscaler-failover' } }));

  const start = (name: string, kubeconfig: string, config: string): Replica => {
    const output: string[] = [];
    const child = spawn(
      process.execPath,
      [
        DILU,
        'autoscaler',
        `--kubeconfig=${kubeconfig}`,
        `--config=${config}`,
        `--identity=${name}`,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const keep = (b: Buffer): void => {
      output.push(...b.toString('utf8').split('\n').filter(Boolean));
      if (output.length > 400) output.splice(0, output.length - 400);
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    const r = { name, child, output };
    replicas.set(name, r);
    return r;
  };
  const lease = async () =>
    (
      await testbed()
        .kc.makeApiClient(CoordinationV1Api)
        .readNamespacedLease({ namespace, name: 'dilu-autoscaler' })
    ).spec;
  const deploymentReplicas = async (): Promise<number> =>
    (
      await testbed()
        .kc.makeApiClient(AppsV1Api)
        .readNamespacedDeployment({ namespace, name: `${REVISION}-deployment` })
    ).spec?.replicas ?? -1;
  const paDesired = async (): Promise<number | undefined> =>
    (
      (await testbed().kc.makeApiClient(CustomObjectsApi).getNamespacedCustomObject({
        group: 'autoscaling.internal.knative.dev',
        version: 'v1alpha1',
        plural: 'podautoscalers',
        namespace,
        name: REVISION,
      })) as { status?: { desiredScale?: number } }
    ).status?.desiredScale;

  let kubeconfigFile = '';
  let configFile = '';

  beforeAll(async () => {
    const { kc, connection } = testbed();
    await installKnativeServingCrds(kc);
    await installProjectCrds(kc);
    namespace = await createNamespace(kc, 'as-failover');
    await createLoopbackGpuNodes(kc, connection, nodes);
    fleet = await startAgentFleet(nodes);
    const identity = await autoscalerIdentity(kc, connection, namespace);
    cleanupIdentity = identity.cleanup;
    kubeconfigFile = identity.kubeconfigFile;
    await kc.makeApiClient(CoreV1Api).createNamespacedConfigMap({
      namespace,
      body: { metadata: { name: 'config-autoscaler' }, data: {} },
    });
    const custom = kc.makeApiClient(CustomObjectsApi);
    await custom.createNamespacedCustomObject({
      group: 'dilu.dev',
      version: 'v1alpha1',
      plural: 'functionprofiles',
      namespace,
      body: {
        ...toFunctionProfileResource({ ...profile, name: 'ha' }),
        metadata: { name: 'ha', namespace },
      },
    });
    const revision = knativeRevision({
      revision: REVISION,
      service: 'ha',
      nodeSelector: { 'dilu.dev/test': 'autoscaler-failover' },
      pinned: PINNED,
      paClass: DILU_AUTOSCALER_CLASS,
    });
    await kc
      .makeApiClient(AppsV1Api)
      .createNamespacedDeployment({ namespace, body: revision.deployment });
    await custom.createNamespacedCustomObject({
      group: 'autoscaling.internal.knative.dev',
      version: 'v1alpha1',
      plural: 'podautoscalers',
      namespace,
      body: revision.pa,
    });
    const queueProxyPort = await freePortAnyAddress();
    emulation = emulateCluster({
      kc,
      namespace,
      fleet,
      queueProxyPort,
      podLabel: `serving.knative.dev/revision=${REVISION}`,
      sks: true,
    });
    emulation.setLoad(0.3 * capAtLimit);
    stopPolling = pollReplicas(
      kc.makeApiClient(AppsV1Api),
      namespace,
      `${REVISION}-deployment`,
      changes,
    );
    dir = mkdtempSync(join(tmpdir(), 'dilu-failover-'));
    configFile = join(dir, 'config.yaml');
    writeFileSync(
      configFile,
      dump({
        mode: 'knative',
        namespace,
        knativeNamespace: namespace,
        tickIntervalMs: 500,
        httpPort: 0,
        httpHost: '127.0.0.1',
        queueProxyStatsPort: queueProxyPort,
        nodeAgentPort: fleet.port,
        nodeAgentCaFile: fleet.caFile,
        nodeAgentTokenFile: fleet.tokenFile,
        leaseDurationS: LEASE_S,
        renewDeadlineS: 4,
        retryPeriodS: RETRY_S,
      }),
    );
  }, 120_000);

  afterAll(async () => {
    for (const r of replicas.values()) {
      if (r.child.exitCode === null && r.child.signalCode === null) r.child.kill('SIGKILL');
    }
    stopPolling?.();
    await emulation?.stop();
    await fleet?.stop();
    await cleanupIdentity?.();
    if (dir !== '') rmSync(dir, { recursive: true, force: true });
    const { kc } = testbed();
    await deleteNamespace(kc, namespace);
    await deleteNodes(
      kc,
      nodes.map(n => n.name),
    );
  }, 60_000);

  it('one replica leads and acts; the other stands by', async () => {
    start('replica-a', kubeconfigFile, configFile);
    await waitFor(
      'replica-a holds the lease',
      async () => (await lease())?.holderIdentity === 'replica-a',
      {
        timeoutMs: 30_000,
        intervalMs: 200,
      },
    );
    start('replica-b', kubeconfigFile, configFile);
    await sleep(2000);
    expect((await lease())?.holderIdentity).toBe('replica-a');
    // Load beyond one instance: the leader scales out.
    emulation!.setLoad(2.5 * capAtLimit);
    await waitFor('scaled out by the leader', async () => (await deploymentReplicas()) >= 3, {
      timeoutMs: 30_000,
      intervalMs: 200,
    });
    // Let the fleet settle at this load.
    await waitFor(
      'no replica change for 4 s',
      () => Promise.resolve((changes.at(-1)?.atMs ?? 0) < Date.now() - 4000),
      { timeoutMs: 40_000, intervalMs: 250 },
    );
  }, 90_000);

  it('the standby takes over within the lease duration and continues from the cluster', async () => {
    const a = replicas.get('replica-a')!;
    const before = await deploymentReplicas();
    const spec = await lease();
    const renewedMs = new Date(spec?.renewTime ?? 0).getTime();
    const transitions = spec?.leaseTransitions ?? 0;
    const killedAt = Date.now();
    a.child.kill('SIGKILL');
    let tookOverAt = 0;
    await waitFor(
      'replica-b holds the lease',
      async () => {
        if ((await lease())?.holderIdentity !== 'replica-b') return false;
        tookOverAt = Date.now();
        return true;
      },
      { timeoutMs: (LEASE_S + 10) * 1000, intervalMs: 100 },
    );
    const after = await lease();
    expect(after?.leaseTransitions).toBe(transitions + 1);
    // The standby may only take the lease once it has seen the record unchanged for a whole
    // lease duration, and must do so within one more retry period (plus scheduling slack).
    expect(tookOverAt - renewedMs).toBeGreaterThanOrEqual(LEASE_S * 1000 - 1000);
    expect(tookOverAt - renewedMs).toBeLessThanOrEqual((LEASE_S + 2 * RETRY_S) * 1000 + 1500);
    console.log(
      `takeover: ${tookOverAt - killedAt} ms after SIGKILL, ${tookOverAt - renewedMs} ms after ` +
        `the last renewal (lease ${LEASE_S} s)`,
    );
    // Restarting from the cluster: the new leader keeps the fleet it found (no reset to the
    // initial scale, no scale-in from an empty memory) while the load is unchanged.
    const changesAtTakeover = changes.length;
    await sleep(4000);
    expect(await deploymentReplicas()).toBe(before);
    expect(changes.slice(changesAtTakeover).filter(c => c.to < c.from)).toEqual([]);
    expect(await paDesired()).toBe(before);

    // ...and acts on new load: nothing decided after the kill is lost.
    emulation!.setLoad(5 * capAtLimit);
    await waitFor(
      'scaled out by the new leader',
      async () => (await deploymentReplicas()) > before,
      {
        timeoutMs: 30_000,
        intervalMs: 200,
      },
    );
    await waitFor(
      'PA status follows the new leader',
      async () => (await paDesired()) === (await deploymentReplicas()),
      { timeoutMs: 15_000, intervalMs: 200 },
    );
    // One writer at a time: while the load only rose, replicas only rose. Two leaders acting
    // at once (each adding to what it last saw, or one undoing the other) would show as a
    // decrease or a jump back.
    const rising = changes.filter(c => c.atMs >= killedAt);
    expect(rising.every(c => c.to > c.from)).toBe(true);
    expect(replicas.get('replica-b')!.child.exitCode).toBeNull();
  }, 90_000);

  it('hands the lease over at once on SIGTERM (graceful shutdown)', async () => {
    start('replica-c', kubeconfigFile, configFile);
    await sleep(2000);
    const b = replicas.get('replica-b')!;
    const exited = new Promise<number | null>(resolve =>
      b.child.once('exit', code => resolve(code)),
    );
    const t0 = Date.now();
    b.child.kill('SIGTERM');
    expect(await exited).toBe(0);
    await waitFor(
      'replica-c holds the lease',
      async () => (await lease())?.holderIdentity === 'replica-c',
      {
        timeoutMs: (LEASE_S + 5) * 1000,
        intervalMs: 100,
      },
    );
    // Released, not expired: well under a lease duration.
    expect(Date.now() - t0).toBeLessThan(LEASE_S * 1000);
  }, 60_000);
});

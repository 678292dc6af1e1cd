// End to end on the real control plane, Knative flavour, with the fault tests in the same run:
// manifests/overlays/knative applied with kubectl; the webhook, two autoscaler replicas and a
// device plugin per GPU node running as processes with the install's identities; the `classify`
// function from the func template (templates/README.md's func.yaml) deployed as Knative does,
// served by the real Python runtime on the emulated GPU and driven with real HTTP through an
// ingress and queue-proxies; scraped by a real Prometheus. See test/e2e/README.md.
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { CoreV1Api } from '@kubernetes/client-node';
import { waitFor } from '../testbed/readiness.js';
import { describeWithControlPlane } from '../testbed/suite.js';
import {
  describe as describeInstances,
  placedInstances,
  runtimesFollowQuotas,
  untilInstances,
  type QuotaWatch,
} from './harness/checks.js';
import type { LoadGenerator } from './harness/load.js';
import {
  expectFirstInstance,
  expectQuotasThenReplicasDown,
  expectQuotaThenReplicas,
} from './harness/steps.js';
import { finishRun, HIGH_RPS, LOW_RPS, startDriving, type Drive } from './harness/run.js';
import {
  decisionOf,
  functionPods,
  isReady,
  leaseHolder,
  replicas,
  scrapeText,
} from './harness/observe.js';
import { FUNCTION_SETTINGS, startScenario, type Scenario } from './harness/scenario.js';

describeWithControlPlane('e2e: Dilu on Knative, with faults', testbed => {
  let s: Scenario;
  let load: LoadGenerator;
  let quotas: QuotaWatch | undefined;
  let drive: Drive | undefined;
  const started = Date.now();
  const seconds = (): string => `${((Date.now() - started) / 1000).toFixed(0)} s`;

  beforeAll(async () => {
    const { kc, connection } = testbed();
    s = await startScenario({
      kc,
      connection,
      overlay: 'knative',
      verbose: process.env['DILU_E2E_VERBOSE'] === '1',
      functionAnnotations: {
        ...FUNCTION_SETTINGS,
        // Shorter than the defaults so the suite sees a scale-down within minutes, yet longer
        // than the quota takes to come down after a fall (measured 6-12 s here), so the suite
        // checks the order the policy gives, not a race between the two delays.
        'autoscaling.knative.dev/scale-down-delay': '20s',
        'autoscaling.knative.dev/window': '10s',
      },
    });
    drive = startDriving(s);
    ({ load, quotas } = drive);
  }, 240_000);

  afterAll(() => finishRun('e2e knative', s, drive, started));

  it('places the first instance on a GPU index, allocates it there, and its runtime follows the quota', () =>
    expectFirstInstance(s, load));

  it('raises the running instance quota first, then adds instances, as load rises', async () => {
    await expectQuotaThenReplicas(s, load, () =>
      replicas(s.kc, s.namespace, s.knative!.deployment),
    );
  });

  it('fault: the webhook restarts while pods are created; creation fails closed, then resumes mutated', async () => {
    // More than one instance reaches: the autoscaler keeps two or more through the fault, so
    // the ReplicaSet must replace the deleted pod (at HIGH_RPS the keep-alive may end during
    // the fault and the function shrink to one instance, and nothing would be created).
    load.setRate(2 * HIGH_RPS);
    const core = s.kc.makeApiClient(CoreV1Api);
    const before = (await functionPods(s.kc, s.namespace, s.podSelector)).filter(isReady);
    expect(before.length).toBeGreaterThan(1);
    await s.webhook.stop();
    const victim = before[before.length - 1]!;
    await core.deleteNamespacedPod({ name: victim.metadata!.name!, namespace: s.namespace });
    // The ReplicaSet tries to replace it; failurePolicy Fail refuses every try while down.
    await waitFor(
      'the ReplicaSet reports the refusal',
      async () => {
        const events = await core.listNamespacedEvent({ namespace: s.namespace });
        return events.items.some(
          e => e.reason === 'FailedCreate' && (e.message ?? '').includes('dilu'),
        );
      },
      { timeoutMs: 30_000 },
    );
    const unmutated = (await functionPods(s.kc, s.namespace, s.podSelector)).filter(
      p => decisionOf(p) === undefined,
    );
    expect(unmutated.map(p => p.metadata?.name)).toEqual([]);
    await s.webhook.start();
    await untilInstances(
      s,
      'the replacement created, mutated and ready',
      i =>
        i.length >= before.length &&
        !i.some(x => x.pod === victim.metadata!.name) &&
        runtimesFollowQuotas(i),
      60_000,
    );
  });

  it('lowers quotas first, then removes instances, as load falls; nothing is left Pending that fits', async () => {
    const fnReplicas = (): Promise<number> => replicas(s.kc, s.namespace, s.knative!.deployment);
    expect(await fnReplicas()).toBeGreaterThan(1);
    const fellAt = Date.now();
    load.setRate(LOW_RPS / 2);
    await expectQuotasThenReplicasDown(s, quotas!, fellAt, fnReplicas);
  });

  it('fault: a kubelet restart makes the device plugin register again; running pods keep serving', async () => {
    const node = s.nodes[0]!;
    const before = node.registrations();
    const answeredBefore = load.report().answered['200'] ?? 0;
    await node.restartKubelet();
    await waitFor(
      'the device plugin registers its four resources again',
      () =>
        Promise.resolve(
          node.registrations() >= before + 4 && node.resources()['dilu.dev/gpu0-sm'] === 100,
        ),
      { timeoutMs: 30_000 },
    );
    const core = s.kc.makeApiClient(CoreV1Api);
    await waitFor(
      'the node advertises the GPUs again',
      async () =>
        (await core.readNode({ name: node.name })).status?.allocatable?.['dilu.dev/gpu0-sm'] ===
        '100',
      { timeoutMs: 30_000 },
    );
    // The load is low here (a few requests a second) and the restart takes well under a
    // second: wait for the next answers rather than expect one already.
    await waitFor(
      'requests still answered after the restart',
      () => Promise.resolve((load.report().answered['200'] ?? 0) > answeredBefore),
      { timeoutMs: 10_000 },
    );
  });

  it('fault: the autoscaler leader is killed; the standby takes over within the lease and keeps deciding', async () => {
    const holder = await leaseHolder(s.kc);
    const leader = s.autoscalers.find(a => a.identity === holder);
    expect(leader).toBeDefined();
    const killedAt = Date.now();
    await leader!.kill();
    await waitFor(
      'another replica holds the lease',
      async () => {
        const h = await leaseHolder(s.kc);
        return h !== undefined && h !== holder && s.placement.ready().length === 1;
      },
      { timeoutMs: 40_000 },
    );
    const takeoverS = (Date.now() - killedAt) / 1000;
    s.log(`leader ${holder ?? '?'} killed; new leader after ${takeoverS.toFixed(1)} s`);
    // Lease 15 s: the standby acquires it once the dead leader's renewal has expired.
    expect(takeoverS).toBeLessThan(30);
    const nextHolder = await leaseHolder(s.kc);
    const next = s.autoscalers.find(a => a.identity === nextHolder);
    expect(/^dilu_autoscaler_leader 1$/m.test(await scrapeText(`${next!.url}/metrics`))).toBe(true);
    // The new leader decides: the load rises, and it raises quotas or adds instances.
    const before = await placedInstances(s);
    const maxQuota = Math.max(...before.map(i => i.allocation.quota));
    load.setRate(HIGH_RPS);
    const acted = await untilInstances(
      s,
      'the new leader raises a quota or adds an instance',
      i =>
        (i.length > before.length || i.some(x => x.allocation.quota > maxQuota)) &&
        runtimesFollowQuotas(i),
      30_000,
    );
    s.log(`new leader ${nextHolder ?? '?'}: ${describeInstances(acted)}`);
    load.setRate(LOW_RPS);
    await leader!.start();
  });

  it('every request sent was answered, and Prometheus scraped the components and evaluated the rules', async () => {
    const report = await load.stop();
    expect(report.inFlight).toBe(0);
    expect(report.failed).toEqual({});
    expect(Object.keys(report.answered)).toEqual(['200']);
    expect(report.answered['200']).toBe(report.sent);
    const stats = s.ingress!.router.stats(`classify.${s.namespace}`);
    expect(stats.accepted).toBe(report.sent);

    const up = await s.prometheus.query('up');
    const jobs = new Set(up.filter(x => x.value === 1).map(x => x.metric['job']));
    expect([...jobs].sort()).toEqual(['dilu-autoscaler', 'dilu-device-plugin', 'dilu-functions']);
    const served = await s.prometheus.query(`sum(dilu_requests_total{namespace="${s.namespace}"})`);
    expect(served[0]?.value ?? 0).toBeGreaterThan(0);
    const rules = await s.prometheus.rules();
    expect(rules.length).toBeGreaterThan(0);
    expect(rules.flatMap(g => g.rules).filter(r => r.health !== 'ok')).toEqual([]);
    console.log(
      `e2e knative: final replicas ${await replicas(s.kc, s.namespace, s.knative!.deployment)} at ${seconds()}`,
    );
  });
});

// End to end on the real control plane, OpenFaaS flavour: manifests/overlays/openfaas applied
// with kubectl; the autoscaler in OpenFaaS mode reading the gateway's invocation rates from a
// real Prometheus; the `classify` function from the OpenFaaS template (templates/README.md's
// stack.yaml) deployed as faas-netes does and driven through a gateway. The fault here is the
// one this mode depends on: Prometheus down, during which the autoscaler must hold.
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { waitFor } from '../testbed/readiness.js';
import { describeWithControlPlane } from '../testbed/suite.js';
import { placedInstances, type QuotaWatch } from './harness/checks.js';
import type { LoadGenerator } from './harness/load.js';
import { finishRun, LOW_RPS, startDriving, type Drive } from './harness/run.js';
import {
  expectFirstInstance,
  expectQuotasThenReplicasDown,
  expectQuotaThenReplicas,
} from './harness/steps.js';
import { leaseHolder, replicas, scrapeText } from './harness/observe.js';
import { FUNCTION, FUNCTION_SETTINGS, startScenario, type Scenario } from './harness/scenario.js';

describeWithControlPlane('e2e: Dilu on OpenFaaS, with Prometheus down', testbed => {
  let s: Scenario;
  let load: LoadGenerator;
  let quotas: QuotaWatch | undefined;
  let drive: Drive | undefined;
  const started = Date.now();
  const seconds = (): string => `${((Date.now() - started) / 1000).toFixed(0)} s`;
  const fnReplicas = (): Promise<number> => replicas(s.kc, s.namespace, FUNCTION);

  beforeAll(async () => {
    const { kc, connection } = testbed();
    s = await startScenario({
      kc,
      connection,
      overlay: 'openfaas',
      verbose: process.env['DILU_E2E_VERBOSE'] === '1',
      // A short scale-down window, so the suite sees the function shrink, yet longer than the
      // quota takes to come down (measured 5-7 s here), so the order is the policy's.
      functionAnnotations: FUNCTION_SETTINGS,
      functionLabels: { 'com.openfaas.scale.down.window': '15s' },
    });
    drive = startDriving(s);
    ({ load, quotas } = drive);
  }, 240_000);

  afterAll(() => finishRun('e2e openfaas', s, drive, started));

  it('places the first instance through the OpenFaaS webhook entry; its runtime follows the quota', () =>
    expectFirstInstance(s, load));

  it('raises the quota first, then adds instances, from the rates Prometheus reports', async () => {
    await expectQuotaThenReplicas(s, load, fnReplicas);
  });

  it('fault: with Prometheus down the autoscaler holds replicas and quotas while load falls', async () => {
    const holder = await leaseHolder(s.kc);
    const leader = s.autoscalers.find(a => a.identity === holder)!;
    const held = await fnReplicas();
    const heldQuotas = (await placedInstances(s)).map(i => `${i.pod}:${i.allocation.quota}`).sort();
    await s.prometheus.stop();
    load.setRate(LOW_RPS / 2);
    // Longer than the scale-down window and the quota-down delay: with metrics the function
    // would shrink now; without them it must not.
    await new Promise(r => setTimeout(r, 20_000));
    expect(await fnReplicas()).toBe(held);
    expect((await placedInstances(s)).map(i => `${i.pod}:${i.allocation.quota}`).sort()).toEqual(
      heldQuotas,
    );
    const metrics = await scrapeText(`${leader.url}/metrics`);
    expect(metrics).toMatch(/^dilu_autoscaler_scrape_errors_total\{source="prometheus"\} [1-9]/m);
    s.log(`held ${held} replicas for 20 s without Prometheus`);
    await s.prometheus.start();
  });

  it('with Prometheus back, lowers quotas first, then removes instances; nothing is left Pending that fits', () =>
    expectQuotasThenReplicasDown(s, quotas!, Date.now(), fnReplicas));

  it('every request sent was answered, and Prometheus scraped the gateway and the components', async () => {
    const report = await load.stop();
    expect(report.inFlight).toBe(0);
    expect(report.failed).toEqual({});
    expect(Object.keys(report.answered)).toEqual(['200']);
    expect(report.answered['200']).toBe(report.sent);
    expect(s.gateway!.router.stats(`${FUNCTION}.${s.namespace}`).accepted).toBe(report.sent);

    await waitFor(
      'every job scraped again',
      async () => {
        const up = await s.prometheus.query('up == 1');
        const jobs = new Set(up.map(x => x.metric['job']));
        return [
          'dilu-autoscaler',
          'dilu-device-plugin',
          'dilu-functions',
          'openfaas-gateway',
        ].every(j => jobs.has(j));
      },
      { timeoutMs: 20_000 },
    );
    const invocations = await s.prometheus.query(
      `sum(gateway_function_invocation_total{function_name="${FUNCTION}.${s.namespace}",code="200"})`,
    );
    expect(invocations[0]?.value ?? 0).toBeGreaterThan(0);
    const rules = await s.prometheus.rules();
    expect(rules.flatMap(g => g.rules).filter(r => r.health !== 'ok')).toEqual([]);
    console.log(`e2e openfaas: final replicas ${await fnReplicas()} at ${seconds()}`);
  });
});

// The scaling both e2e suites walk through, whatever the platform: one placed instance whose
// runtime follows its quota; as the load rises, the quota raised while the function still runs
// one instance, then instances added, none overcommitting a GPU; as it falls, quotas lowered
// before any instance leaves, then back to one instance with nothing Pending that fits.
import { expect } from '@jest/globals';
import { waitFor } from '../../testbed/readiness.js';
import {
  describe as describeInstances,
  pendingThatFit,
  placedInstances,
  runtimesFollowQuotas,
  untilInstances,
  type PlacedInstance,
  type QuotaWatch,
} from './checks.js';
import type { LoadGenerator } from './load.js';
import { HIGH_RPS, LOW_RPS, MID_RPS } from './run.js';
import type { Scenario } from './scenario.js';

/** At LOW_RPS: one instance, sized by the webhook, its quota within [r, l] and applied. */
export async function expectFirstInstance(s: Scenario, load: LoadGenerator): Promise<void> {
  load.setRate(LOW_RPS);
  const instances = await untilInstances(
    s,
    'one placed instance',
    i => i.length === 1 && runtimesFollowQuotas(i),
    60_000,
  );
  const [first] = instances;
  s.log(`first instance: ${describeInstances(instances)}`);
  // Sized from the profile by the webhook, or from the autoscaler's published decision.
  expect(['profile', 'decision']).toContain(first!.decision.source);
  expect(first!.allocation.quota).toBeGreaterThanOrEqual(first!.allocation.smRequest);
}

/** MID_RPS raises the quota with one instance still running; HIGH_RPS adds instances. */
export async function expectQuotaThenReplicas(
  s: Scenario,
  load: LoadGenerator,
  replicas: () => Promise<number>,
): Promise<PlacedInstance[]> {
  const [first] = await placedInstances(s);
  const quotaBefore = first!.allocation.quota;
  load.setRate(MID_RPS);
  const raised = await untilInstances(
    s,
    'the instance quota raised by the autoscaler and applied by its runtime',
    i =>
      i.some(x => x.pod === first!.pod && x.allocation.quota > quotaBefore) &&
      runtimesFollowQuotas(i),
    60_000,
  );
  s.log(`vertical: ${describeInstances(raised)}`);
  // Vertical first: the quota moved while the function still ran one instance.
  expect(await replicas()).toBe(1);

  load.setRate(HIGH_RPS);
  await waitFor('replicas added', async () => (await replicas()) > 1, { timeoutMs: 60_000 });
  const grown = await untilInstances(
    s,
    'the new instances ready and placed',
    i => i.length > 1 && runtimesFollowQuotas(i),
    90_000,
  );
  s.log(`horizontal: ${describeInstances(grown)}`);
  // Placement per GPU index: no GPU holds more SM requests, or quotas, than it has.
  const perGpu = new Map<string, { r: number; q: number }>();
  for (const i of grown) {
    const key = `${i.decision.node}/${i.decision.gpuIndex}`;
    const sum = perGpu.get(key) ?? { r: 0, q: 0 };
    perGpu.set(key, { r: sum.r + i.allocation.smRequest, q: sum.q + i.allocation.quota });
  }
  expect([...perGpu.values()].filter(x => x.r > 100 || x.q > 100)).toEqual([]);
  return grown;
}

/**
 * After the load has fallen (at `fellAt`): a quota lowered while every instance is still
 * there, then replicas back to one, and no pod left Pending that some GPU could take.
 */
export async function expectQuotasThenReplicasDown(
  s: Scenario,
  quotas: QuotaWatch,
  fellAt: number,
  replicas: () => Promise<number>,
): Promise<void> {
  const before = await replicas();
  await waitFor('a quota lowered', () => Promise.resolve(quotas.loweredSince(fellAt).length > 0), {
    timeoutMs: 60_000,
  });
  // Vertical first: quotas came down while every instance was still there.
  expect(await replicas()).toBe(before);
  await waitFor('replicas back to the minimum', async () => (await replicas()) === 1, {
    timeoutMs: 90_000,
    intervalMs: 1000,
  });
  const calm = await untilInstances(
    s,
    'one instance left',
    i => i.length === 1 && runtimesFollowQuotas(i),
    60_000,
  );
  s.log(`calm: ${describeInstances(calm)}; lowered: ${quotas.loweredSince(fellAt).join(', ')}`);
  expect(await pendingThatFit(s)).toEqual([]);
}

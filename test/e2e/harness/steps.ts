// The scale-up both e2e suites walk through, whatever the platform: one placed instance whose
// runtime follows its quota, then, as the load rises, the quota raised while the function
// still runs one instance, then instances added, none overcommitting a GPU.
import { expect } from '@jest/globals';
import { waitFor } from '../../testbed/readiness.js';
import {
  describe as describeInstances,
  placedInstances,
  runtimesFollowQuotas,
  untilInstances,
  type PlacedInstance,
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

// The scaling both e2e suites walk through, whatever the platform: one placed instance whose
// runtime follows its quota; as the load rises, the quota raised while the function still runs
// one instance, then instances added, none overcommitting a GPU; as it falls, quotas lowered
// before any instance leaves, then back to one instance with nothing Pending that fits.
import { expect } from '@jest/globals';
import { waitFor } from '../../testbed/readiness.js';
import { functionPods } from './observe.js';
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

/** Reads a flag another closure sets (a loop's stop signal), unnarrowed. */
const flag = (read: () => boolean): boolean => read();

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
 * An instance the policy replaces by a resize (horizontal.ts isStale): its configuration is
 * not the newer instance's. Such instances leave as soon as the rest carry the load, with no
 * scale-down delay, so they may go before any quota is lowered.
 */
function staleBeside(x: PlacedInstance, newer: PlacedInstance): boolean {
  return (
    x.decision.batch !== newer.decision.batch ||
    x.decision.smLimit !== newer.decision.smLimit ||
    x.decision.smRequest > newer.decision.smRequest
  );
}

/**
 * After the load has fallen (at `fellAt`): a quota lowered while every instance is still
 * there (or only instances replaced by a resize have left), then replicas back to one, and no
 * pod left Pending that some GPU could take.
 */
export async function expectQuotasThenReplicasDown(
  s: Scenario,
  quotas: QuotaWatch,
  fellAt: number,
  replicas: () => Promise<number>,
): Promise<void> {
  const start = await placedInstances(s);
  const before = await replicas();
  // The replica count is watched alongside the quotas, so the order of the two is judged by
  // when each was seen, not by one read after the quota wait returns (a slow poll would see a
  // removal that came long after the quota).
  let removed: { atMs: number; instances: PlacedInstance[]; kept: PlacedInstance[] } | undefined;
  let watching = true;
  const replicaWatch = (async () => {
    while (flag(() => watching) && removed === undefined) {
      if ((await replicas()) < before) {
        const atMs = Date.now();
        const left = new Set(
          (await functionPods(s.kc, s.namespace, s.podSelector)).map(p => p.metadata?.name),
        );
        removed = {
          atMs,
          instances: start.filter(i => !left.has(i.pod)),
          kept: start.filter(i => left.has(i.pod)),
        };
      } else await new Promise(r => setTimeout(r, 500));
    }
  })();
  try {
    await waitFor(
      'a quota lowered',
      () => Promise.resolve(quotas.firstLoweredAt(fellAt) !== undefined),
      { timeoutMs: 60_000 },
    );
  } finally {
    watching = false;
    await replicaWatch;
  }
  const loweredAt = quotas.firstLoweredAt(fellAt) ?? Infinity;
  const after = (t: number | undefined): string =>
    t === undefined ? 'not yet' : `${((t - fellAt) / 1000).toFixed(1)} s after the fall`;
  s.log(
    `scale-down from ${describeInstances(start)}: a quota lowered ${after(loweredAt)}, ` +
      `an instance removed ${after(removed?.atMs)}` +
      (removed === undefined ? '' : ` (${removed.instances.map(i => i.pod).join(', ')})`),
  );
  // Vertical first: a quota came down while every instance was still there, but for
  // instances a resize had replaced.
  const early = removed !== undefined && removed.atMs <= loweredAt ? removed : undefined;
  const notStale = (early?.instances ?? []).filter(x => !early?.kept.some(k => staleBeside(x, k)));
  expect({ removedBeforeAQuotaAndNotStale: notStale.map(i => i.pod), loweredAt }).toMatchObject({
    removedBeforeAQuotaAndNotStale: [],
  });
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

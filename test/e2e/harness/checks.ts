// What the e2e scenario asserts, shared by the Knative and the OpenFaaS suites. Each check
// reads the real state (API server, node agents, runtimes, Prometheus) and either returns what
// it saw or throws saying what was wrong.
import { CoreV1Api, type V1Pod } from '@kubernetes/client-node';
import { waitFor } from '../../testbed/readiness.js';
import {
  decisionOf,
  functionPods,
  isReady,
  nodeAgentAllocations,
  runtimeMetrics,
  type Allocation,
  type Decision,
} from './observe.js';
import type { Scenario } from './scenario.js';

/** Reads a flag another closure sets (a loop's stop signal), unnarrowed. */
const flag = (read: () => boolean): boolean => read();

export interface PlacedInstance {
  readonly pod: string;
  readonly ip: string;
  readonly decision: Decision;
  readonly allocation: Allocation;
  /** What the instance's runtime says it applies (its /metrics). */
  readonly runtimeQuota: number;
  readonly runtimeSmLimit: number;
  readonly runtimeGeneration: number;
}

/**
 * Every ready pod of the function: mutated by the webhook (decision annotation, per-GPU
 * resources of the decided GPU index, pinned to the decided node), bound to that node, holding
 * an allocation on that GPU at the node's agent (matched to the pod), and its runtime applying
 * that allocation's quota and the MPS limit the webhook set.
 */
export async function placedInstances(s: Scenario): Promise<PlacedInstance[]> {
  const pods = (await functionPods(s.kc, s.namespace, s.podSelector)).filter(isReady);
  const byNode = new Map<string, Allocation[]>();
  for (const p of s.plugins)
    byNode.set(p.node, await nodeAgentAllocations(p.agentUrl, s.agentAuth));
  const out: PlacedInstance[] = [];
  for (const pod of pods) out.push(await placedInstance(pod, byNode));
  return out;
}

async function placedInstance(
  pod: V1Pod,
  byNode: Map<string, Allocation[]>,
): Promise<PlacedInstance> {
  const name = pod.metadata?.name ?? '';
  const d = decisionOf(pod);
  if (d === undefined) throw new Error(`${name}: no dilu.dev/decision (not mutated)`);
  checkPodMatchesDecision(name, pod, d);
  const allocation = (byNode.get(d.node) ?? []).find(a => a.pod?.name === name);
  if (allocation === undefined)
    throw new Error(`${name}: the node agent on ${d.node} has no allocation for it`);
  checkAllocationMatchesDecision(name, allocation, d);
  const ip = pod.status?.podIP ?? '';
  const m = await runtimeMetrics(ip);
  return {
    pod: name,
    ip,
    decision: d,
    allocation,
    runtimeQuota: m.get('dilu_quota_percent') ?? NaN,
    runtimeSmLimit: m.get('dilu_sm_limit_percent') ?? NaN,
    runtimeGeneration: m.get('dilu_quota_generation') ?? NaN,
  };
}

type Decided = NonNullable<ReturnType<typeof decisionOf>>;

/** Bound where decided, asking exactly the decided GPU's SM and memory devices. */
function checkPodMatchesDecision(name: string, pod: V1Pod, d: Decided): void {
  if (pod.spec?.nodeName !== d.node)
    throw new Error(`${name}: decided for ${d.node}, bound to ${pod.spec?.nodeName ?? '-'}`);
  const limits = pod.spec.containers[0]?.resources?.limits ?? {};
  const gpuKeys = Object.keys(limits).filter(k => k.startsWith('dilu.dev/gpu'));
  const want = [`dilu.dev/gpu${d.gpuIndex}-mem`, `dilu.dev/gpu${d.gpuIndex}-sm`];
  if (JSON.stringify(gpuKeys.sort()) !== JSON.stringify(want)) {
    throw new Error(`${name}: GPU resources ${gpuKeys.join(',')}, want ${want.join(',')}`);
  }
  const sm = limits[`dilu.dev/gpu${d.gpuIndex}-sm`];
  if (sm !== String(d.smRequest)) {
    throw new Error(`${name}: SM devices ${sm ?? '-'} != decision ${d.smRequest}`);
  }
}

/** The device plugin granted what the webhook decided: the GPU, r and l. */
function checkAllocationMatchesDecision(name: string, a: Allocation, d: Decided): void {
  if (a.gpuIndex !== d.gpuIndex) {
    throw new Error(`${name}: allocated on GPU ${a.gpuIndex}, decided GPU ${d.gpuIndex}`);
  }
  if (a.smRequest !== d.smRequest || a.smLimit !== d.smLimit) {
    throw new Error(
      `${name}: allocation r/l ${a.smRequest}/${a.smLimit} != decision ${d.smRequest}/${d.smLimit}`,
    );
  }
}

/** Waits until `check` holds on the placed instances; returns the instances that satisfied it. */
export async function untilInstances(
  s: Scenario,
  what: string,
  check: (instances: PlacedInstance[]) => boolean,
  timeoutMs: number,
): Promise<PlacedInstance[]> {
  let last: PlacedInstance[] = [];
  await waitFor(
    what,
    async () => {
      last = await placedInstances(s);
      if (check(last)) return true;
      throw new Error(`not yet: ${describe(last)}`);
    },
    { timeoutMs, intervalMs: 1000 },
  );
  return last;
}

export function describe(instances: readonly PlacedInstance[]): string {
  return instances
    .map(
      i =>
        `${i.pod.slice(-5)}@${i.decision.node.slice(-1)}/gpu${i.decision.gpuIndex} ` +
        `r${i.allocation.smRequest} l${i.allocation.smLimit} q${i.allocation.quota} ` +
        `runtime q${i.runtimeQuota} gen${i.runtimeGeneration}`,
    )
    .join('; ');
}

/** Each runtime applies its allocation's current quota (read from the quota file). */
export function runtimesFollowQuotas(instances: readonly PlacedInstance[]): boolean {
  return instances.every(
    i => i.runtimeQuota === i.allocation.quota && i.runtimeSmLimit === i.allocation.smLimit,
  );
}

/** Per node: allocatable devices minus what the pods bound there (and not finished) hold. */
async function freeDevices(
  core: CoreV1Api,
  s: Scenario,
  pods: readonly V1Pod[],
): Promise<Map<string, Map<string, number>>> {
  const free = new Map<string, Map<string, number>>();
  for (const n of s.nodes) {
    const node = await core.readNode({ name: n.name });
    free.set(
      n.name,
      new Map(Object.entries(node.status?.allocatable ?? {}).map(([k, v]) => [k, Number(v)])),
    );
  }
  const holding = pods.filter(
    x =>
      x.spec?.nodeName !== undefined &&
      x.status?.phase !== 'Succeeded' &&
      x.status?.phase !== 'Failed',
  );
  for (const p of holding) {
    const f = free.get(p.spec?.nodeName ?? '');
    for (const [k, v] of Object.entries(p.spec?.containers[0]?.resources?.limits ?? {})) {
      if (f?.has(k) === true) f.set(k, (f.get(k) ?? 0) - Number(v));
    }
  }
  return free;
}

/**
 * No pod of the install is left Pending although a node could take it: for each Pending pod,
 * no node has, on one GPU, the SM and memory devices it asks for free (allocatable minus what
 * bound pods hold).
 */
export async function pendingThatFit(s: Scenario): Promise<string[]> {
  const core = s.kc.makeApiClient(CoreV1Api);
  const pods = (await core.listNamespacedPod({ namespace: s.namespace })).items;
  const pending = pods.filter(p => p.status?.phase === 'Pending' && p.spec?.nodeName === undefined);
  if (pending.length === 0) return [];
  const free = await freeDevices(core, s, pods);
  return pending
    .filter(p => {
      const d = decisionOf(p);
      const want = Object.entries(p.spec?.containers[0]?.resources?.limits ?? {}).filter(([k]) =>
        k.startsWith('dilu.dev/'),
      );
      const sm = Number(want.find(([k]) => k.endsWith('-sm'))?.[1] ?? 0);
      const mem = Number(want.find(([k]) => k.endsWith('-mem'))?.[1] ?? 0);
      return (
        [...free.values()].some(f =>
          [0, 1, 2, 3, 4, 5, 6, 7].some(
            i =>
              (f.get(`dilu.dev/gpu${i}-sm`) ?? -1) >= sm &&
              (f.get(`dilu.dev/gpu${i}-mem`) ?? -1) >= mem,
          ),
        ) && d !== undefined
      );
    })
    .map(p => p.metadata?.name ?? '');
}

export interface QuotaSample {
  readonly atMs: number;
  readonly pod: string;
  readonly quota: number;
}

export interface QuotaWatch {
  samples(): readonly QuotaSample[];
  /** Pods whose quota went down at some point after `sinceMs`. */
  loweredSince(sinceMs: number): string[];
  /** When a reading first showed a quota lowered after `sinceMs`; undefined if none did. */
  firstLoweredAt(sinceMs: number): number | undefined;
  stop(): Promise<void>;
}

/** One reading of every node agent: the quota of each of the scenario's pods, now. */
async function sampleQuotas(s: Scenario, samples: QuotaSample[]): Promise<void> {
  const atMs = Date.now();
  for (const p of s.plugins) {
    try {
      for (const a of await nodeAgentAllocations(p.agentUrl, s.agentAuth)) {
        if (a.pod !== null && a.pod.namespace === s.namespace)
          samples.push({ atMs, pod: a.pod.name, quota: a.quota });
      }
    } catch {
      // An agent restarting or busy: the next second reads it again.
    }
  }
}

/**
 * Each reading after `sinceMs` that shows a pod's quota below its previous reading, oldest
 * first. The previous reading may be from before `sinceMs`: a quota lowered within a second of
 * it is counted too.
 */
function lowerings(
  samples: readonly QuotaSample[],
  sinceMs: number,
): { pod: string; atMs: number }[] {
  const last = new Map<string, number>();
  const out: { pod: string; atMs: number }[] = [];
  for (const x of samples) {
    const before = last.get(x.pod);
    if (x.atMs >= sinceMs && before !== undefined && x.quota < before) {
      out.push({ pod: x.pod, atMs: x.atMs });
    }
    last.set(x.pod, x.quota);
  }
  return out;
}

/** Reads every node agent once a second and keeps each allocation's quota over time. */
export function watchQuotas(s: Scenario): QuotaWatch {
  const samples: QuotaSample[] = [];
  let stopped = false;
  const loop = (async () => {
    // Set by stop() from outside this loop, so it is read through a call.
    while (!flag(() => stopped)) {
      await sampleQuotas(s, samples);
      await new Promise(r => setTimeout(r, 1000));
    }
  })();
  return {
    samples: () => samples,
    loweredSince: sinceMs => [...new Set(lowerings(samples, sinceMs).map(x => x.pod))],
    firstLoweredAt: sinceMs => lowerings(samples, sinceMs)[0]?.atMs,
    async stop() {
      stopped = true;
      await loop;
    },
  };
}

import type { Affinity, Container, EnvVar, NodeSelectorTerm, Pod } from '../pod/pod-types.js';
import type { Decision } from '../decision/decide.js';
import {
  LABELS,
  PER_GPU_RESOURCE,
  GENERIC_RESOURCES,
  WEBHOOK_ANNOTATIONS,
  WEBHOOK_ENV,
  gpuMemResource,
  gpuSmResource,
} from '../keys.js';
import type { Placement } from '../placement/placement-client.js';

export interface MutationInput {
  readonly pod: Pod;
  readonly gpuContainerIndex: number;
  readonly decision: Decision;
  readonly placement: Placement;
  readonly functionLabel: string;
  /** The pod carries an earlier admission's decision: its node pin is replaced, not added to. */
  readonly previouslyMutated: boolean;
}

/** JSON value of the `dilu.dev/decision` annotation (annotations.md). */
export function decisionAnnotation(decision: Decision, placement: Placement): string {
  return JSON.stringify({
    batch: decision.batch,
    smRequest: decision.smRequest,
    smLimit: decision.smLimit,
    memoryMiB: decision.memoryMiB,
    node: placement.node,
    gpuIndex: placement.gpuIndex,
    reservation: placement.reservation,
    source: decision.source,
  });
}

/**
 * Returns the mutated pod without touching the input. Copy-on-write: metadata, the GPU
 * container and the affinity are new objects; every other container, volume and field is the
 * very same object as in the input, which is what lets the patch check (json-patch.ts) prove
 * cheaply that nothing else changed.
 */
export function mutatePod(input: MutationInput): Pod {
  const { decision, placement, pod } = input;
  const spec = pod.spec;
  const original = spec?.containers[input.gpuContainerIndex];
  if (!spec || !original) throw new Error('GPU container vanished between checks and mutation');

  const others = Object.entries(pod.metadata?.labels ?? {}).filter(
    ([k]) => k !== LABELS.needsProfile,
  );
  const metadata = {
    ...pod.metadata,
    annotations: {
      ...pod.metadata?.annotations,
      [WEBHOOK_ANNOTATIONS.decision]: decisionAnnotation(decision, placement),
      [WEBHOOK_ANNOTATIONS.gpuIndex]: String(placement.gpuIndex),
      [WEBHOOK_ANNOTATIONS.reservation]: placement.reservation,
    },
    labels: {
      ...Object.fromEntries(others),
      [LABELS.function]: input.functionLabel,
      ...(decision.needsProfile ? { [LABELS.needsProfile]: 'true' } : {}),
    },
  };

  const container = structuredClone(original);
  setResources(container, placement.gpuIndex, decision.smRequest, placement.memoryUnits);
  container.env = [
    ...(container.env ?? []).filter(e => !OWN_ENV.has(e.name)),
    ...runtimeEnv(decision),
  ];
  const containers = spec.containers.map((c, i) => (i === input.gpuContainerIndex ? container : c));
  const affinity = pinToNode(
    spec.affinity === undefined ? undefined : structuredClone(spec.affinity),
    placement.node,
    input.previouslyMutated,
  );
  return { ...pod, metadata, spec: { ...spec, containers, affinity } };
}

const OWN_ENV: ReadonlySet<string> = new Set(Object.values(WEBHOOK_ENV));

/** The runtime's configuration (annotations.md, "Container environment"). */
export function runtimeEnv(decision: Decision): EnvVar[] {
  const env: EnvVar[] = [
    { name: WEBHOOK_ENV.mpsThreadPercentage, value: String(decision.smLimit) },
    { name: WEBHOOK_ENV.batch, value: String(decision.batch) },
  ];
  if (decision.sloMs !== undefined)
    env.push({ name: WEBHOOK_ENV.sloMs, value: String(decision.sloMs) });
  env.push(
    { name: WEBHOOK_ENV.smRequest, value: String(decision.smRequest) },
    { name: WEBHOOK_ENV.smLimit, value: String(decision.smLimit) },
    { name: WEBHOOK_ENV.gpuMemoryMiB, value: String(decision.memoryMiB) },
  );
  return env;
}

function isDiluDeviceResource(key: string): boolean {
  return (
    key === GENERIC_RESOURCES.sm ||
    key === GENERIC_RESOURCES.gpuMemory ||
    PER_GPU_RESOURCE.test(key)
  );
}

/**
 * Replaces the container's Dilu resources with one GPU index's: `gpu<i>-sm` = r (the request;
 * the limit l is the MPS cap, not a schedulable quantity) and `gpu<i>-mem` = memory units.
 * Extended resources must have requests equal to limits, so a requests map gets the same.
 */
function setResources(container: Container, gpuIndex: number, sm: number, units: number): void {
  const resources = (container.resources ??= {});
  const ours = { [gpuSmResource(gpuIndex)]: String(sm), [gpuMemResource(gpuIndex)]: String(units) };
  const strip = (m: Record<string, string> | undefined): Record<string, string> =>
    Object.fromEntries(Object.entries(m ?? {}).filter(([k]) => !isDiluDeviceResource(k)));
  resources.limits = { ...strip(resources.limits), ...ours };
  if (resources.requests !== undefined)
    resources.requests = { ...strip(resources.requests), ...ours };
}

const NODE_NAME_FIELD = 'metadata.name';

/**
 * Adds a required `metadata.name In [node]` field selector to every node selector term, so the
 * pod lands on the node whose GPU was reserved while the user's own terms still apply (terms
 * are ORed, requirements within a term ANDed). A previous admission's pin is replaced.
 */
function pinToNode(affinity: Affinity | undefined, node: string, replaceOld: boolean): Affinity {
  const a: Affinity = affinity ?? {};
  const nodeAffinity = (a.nodeAffinity ??= {});
  const required = (nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution ??= {
    nodeSelectorTerms: [],
  });
  const pin = { key: NODE_NAME_FIELD, operator: 'In', values: [node] };
  const terms: NodeSelectorTerm[] =
    required.nodeSelectorTerms.length > 0 ? required.nodeSelectorTerms : [{}];
  required.nodeSelectorTerms = terms.map(t => {
    const fields = (t.matchFields ?? []).filter(f => !(replaceOld && f.key === NODE_NAME_FIELD));
    return { ...t, matchFields: [...fields, pin] };
  });
  return a;
}

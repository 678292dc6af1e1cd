import type { V1Deployment, V1Pod } from '@kubernetes/client-node';
import type { KubeWriter } from '../kube/kube-writer.js';
import type { HorizontalDecision } from './types.js';

export const INSTANCE_DECISION_ANNOTATION = 'dilu.dev/instance-decision';
/** Kubernetes' hint to the ReplicaSet controller: lower cost is deleted first. */
export const POD_DELETION_COST = 'controller.kubernetes.io/pod-deletion-cost';

export interface InstanceDecisionValue {
  readonly batch: number;
  readonly smRequest: number;
  readonly smLimit: number;
  readonly memoryMiB?: number;
  readonly sloMs?: number;
  readonly updatedAt: string;
}

/** The instance-decision.md value for a decision (null fields dropped). */
export function instanceDecisionValue(d: HorizontalDecision): InstanceDecisionValue {
  const n = d.newInstance;
  return {
    batch: n.batch,
    smRequest: n.smRequest,
    smLimit: n.smLimit,
    ...(n.memoryMiB === undefined ? {} : { memoryMiB: Math.round(n.memoryMiB) }),
    ...(d.sloMs === undefined ? {} : { sloMs: d.sloMs }),
    updatedAt: new Date(d.atMs).toISOString(),
  };
}

function sameDecision(raw: string | undefined, want: InstanceDecisionValue): boolean {
  if (raw === undefined) return false;
  try {
    const have = JSON.parse(raw) as Partial<InstanceDecisionValue>;
    return (
      have.batch === want.batch &&
      have.smRequest === want.smRequest &&
      have.smLimit === want.smLimit &&
      have.memoryMiB === want.memoryMiB &&
      have.sloMs === want.sloMs
    );
  } catch {
    return false;
  }
}

export interface ActuationResult {
  readonly scaled: boolean;
  readonly published: boolean;
  readonly marked: number;
}

interface ActuationArgs {
  readonly deployment: V1Deployment;
  readonly pods: readonly V1Pod[];
  readonly want: number;
  readonly decision: HorizontalDecision | undefined;
  readonly isLeader: () => boolean;
}

/** Gives the pods the policy removes first the lowest deletion costs, in its order. */
async function markVictims(writer: KubeWriter, args: ActuationArgs): Promise<number> {
  const { deployment, want, decision } = args;
  const current = deployment.spec?.replicas ?? 0;
  if (decision === undefined || want >= current) return 0;
  const namespace = deployment.metadata?.namespace ?? '';
  const byName = new Map(args.pods.map(p => [p.metadata?.name ?? '', p]));
  let marked = 0;
  for (const [i, pod] of decision.remove.slice(0, current - want).entries()) {
    const cost = String(-1000 + i);
    const live = byName.get(pod);
    if (live === undefined || live.metadata?.annotations?.[POD_DELETION_COST] === cost) continue;
    if (!args.isLeader()) break;
    await writer.annotatePod(namespace, pod, { [POD_DELETION_COST]: cost });
    marked++;
  }
  return marked;
}

async function publishDecision(writer: KubeWriter, args: ActuationArgs): Promise<boolean> {
  if (args.decision === undefined) return false;
  const value = instanceDecisionValue(args.decision);
  const meta = args.deployment.metadata;
  if (sameDecision(meta?.annotations?.[INSTANCE_DECISION_ANNOTATION], value)) return false;
  if (!args.isLeader()) return false;
  await writer.annotateDeployment(meta?.namespace ?? '', meta?.name ?? '', {
    [INSTANCE_DECISION_ANNOTATION]: JSON.stringify(value),
  });
  return true;
}

/**
 * Applies a horizontal decision to a Deployment: marks the pods the policy chose to remove
 * with a low deletion cost (so the ReplicaSet removes those, not arbitrary ones), writes the
 * replica count through `/scale`, and publishes the instance decision on the Deployment's
 * metadata (never its template, so no rollout). Every write is skipped when already true,
 * which makes a repeated reconcile, or one by a new leader, a no-op.
 */
export async function actuateDeployment(
  writer: KubeWriter,
  args: ActuationArgs,
): Promise<ActuationResult> {
  const marked = await markVictims(writer, args);
  const meta = args.deployment.metadata;
  let scaled = false;
  if (args.want !== (args.deployment.spec?.replicas ?? 0) && args.isLeader()) {
    await writer.scaleDeployment(meta?.namespace ?? '', meta?.name ?? '', args.want);
    scaled = true;
  }
  const published = await publishDecision(writer, args);
  return { scaled, published, marked };
}

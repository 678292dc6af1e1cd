import { z } from 'zod';
import type { InstanceClass, InstanceRequest } from '../placement/index.js';
import type { PodObject } from './kube-objects.js';

export const DECISION_ANNOTATION = 'dilu.dev/decision';
export const RESERVATION_ANNOTATION = 'dilu.dev/reservation';
export const CLASS_ANNOTATION = 'dilu.dev/class';
export const FUNCTION_LABEL = 'dilu.dev/function';

const decisionSchema = z.object({
  batch: z.number().int().min(1),
  smRequest: z.number().min(0).max(100),
  smLimit: z.number().gt(0).max(100),
  memoryMiB: z.number().positive(),
  node: z.string().min(1),
  gpuIndex: z.number().int().min(0),
  reservation: z.string().min(1).optional(),
});

/** Where a pod sits and what it holds there, as its `dilu.dev/decision` says. */
export interface PodPlacement {
  /** Instance id in the placement model: `pod/<uid>`. */
  readonly key: string;
  readonly reservation: string | undefined;
  readonly nodeId: string;
  readonly gpuIndex: number;
  readonly request: InstanceRequest;
}

export type PodReading =
  | { readonly kind: 'holds'; readonly placement: PodPlacement }
  /** The pod holds nothing: gone, finished, or never placed by the webhook. */
  | { readonly kind: 'none'; readonly key: string | undefined }
  | { readonly kind: 'invalid'; readonly key: string; readonly reason: string };

export function podKey(pod: PodObject): string | undefined {
  const uid = pod.metadata?.uid;
  return uid ? `pod/${uid}` : undefined;
}

/**
 * Reads what a pod holds. A pod holds its GPU share from the moment it exists (bound or not)
 * until it is deleted or finishes; the node is the one it is bound to, else the one its
 * decision names (the webhook pinned it there with node affinity).
 */
export function readPod(pod: PodObject): PodReading {
  const key = podKey(pod);
  const annotations = pod.metadata?.annotations ?? {};
  const raw = annotations[DECISION_ANNOTATION];
  if (!key || raw === undefined || finished(pod)) return { kind: 'none', key };
  const parsed = parseDecision(raw);
  if (typeof parsed === 'string') return { kind: 'invalid', key, reason: parsed };
  const instanceClass: InstanceClass =
    annotations[CLASS_ANNOTATION] === 'best-effort' ? 'best-effort' : 'latency-critical';
  return {
    kind: 'holds',
    placement: {
      key,
      reservation: annotations[RESERVATION_ANNOTATION] ?? parsed.reservation,
      nodeId: pod.spec?.nodeName ?? parsed.node,
      gpuIndex: parsed.gpuIndex,
      request: {
        functionId: functionOf(pod),
        class: instanceClass,
        smRequest: parsed.smRequest,
        smLimit: Math.max(parsed.smLimit, parsed.smRequest),
        memoryMiB: parsed.memoryMiB,
      },
    },
  };
}

function finished(pod: PodObject): boolean {
  const phase = pod.status?.phase;
  return phase === 'Succeeded' || phase === 'Failed';
}

function functionOf(pod: PodObject): string {
  return pod.metadata?.labels?.[FUNCTION_LABEL] ?? `pod.${pod.metadata?.namespace ?? ''}`;
}

/** The decision, or what is wrong with it. */
function parseDecision(raw: string): z.infer<typeof decisionSchema> | string {
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch (err) {
    return `${DECISION_ANNOTATION}: not JSON: ${(err as Error).message}`;
  }
  const parsed = decisionSchema.safeParse(json);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const path = issue?.path.map(String).join('.') ?? '';
  return `${DECISION_ANNOTATION}: ${path}: ${issue?.message ?? 'invalid'}`;
}

import { createHash } from 'node:crypto';
import type { Pod } from './pod-types.js';
import { LABELS, PLATFORM_LABELS, USER_ANNOTATIONS } from '../keys.js';

export type PodKind = 'knative' | 'openfaas' | 'pod';

/** Which function a pod is an instance of, and where its per-function state lives. */
export interface FunctionIdentity {
  readonly kind: PodKind;
  readonly namespace: string;
  /** Default FunctionProfile name: the Knative service, the OpenFaaS function, the pod's name. */
  readonly profileName: string;
  /** Value of the `dilu.dev/function` label (annotations.md), a valid label value. */
  readonly functionLabel: string;
  /** Deployment that carries the autoscaler's instance decision (instance-decision.md). */
  readonly deployment?: string | undefined;
}

export type Targeting =
  | { readonly targeted: true; readonly identity: FunctionIdentity }
  | { readonly targeted: false; readonly reason: string };

/**
 * Decides whether the webhook sizes this pod. The MutatingWebhookConfiguration's selectors
 * already narrow what the API server sends; this is the same rule applied to the object, so a
 * broader configuration (or a call outside any selector) cannot mutate an unrelated pod.
 * `dilu.dev/enabled: "false"` (label or annotation) opts a function out of an opted-in namespace.
 */
export function targetPod(pod: Pod, namespace: string): Targeting {
  const labels = pod.metadata?.labels ?? {};
  const annotations = pod.metadata?.annotations ?? {};
  const enabled = labels[LABELS.enabled] ?? annotations[USER_ANNOTATIONS.enabled];
  if (enabled === 'false') return { targeted: false, reason: 'opted out (dilu.dev/enabled=false)' };

  const revision = labels[PLATFORM_LABELS.knativeRevision];
  if (revision) {
    const service =
      labels[PLATFORM_LABELS.knativeService] ??
      labels[PLATFORM_LABELS.knativeConfiguration] ??
      revision;
    return targeted('knative', namespace, service, revision, `${revision}-deployment`);
  }
  const faasFunction = labels[PLATFORM_LABELS.openfaasFunction];
  if (faasFunction) {
    return targeted('openfaas', namespace, faasFunction, faasFunction, faasFunction);
  }
  if (enabled === 'true') {
    const name = podBaseName(pod);
    return targeted('pod', namespace, name, name, undefined);
  }
  return { targeted: false, reason: 'neither a Knative nor an OpenFaaS pod, nor opted in' };
}

function targeted(
  kind: PodKind,
  namespace: string,
  profileName: string,
  instanceOf: string,
  deployment: string | undefined,
): Targeting {
  return {
    targeted: true,
    identity: {
      kind,
      namespace,
      profileName,
      functionLabel: labelValue(`${kind}.${namespace}.${instanceOf}`),
      deployment,
    },
  };
}

/**
 * At admission a pod made by a controller has no name yet, only `generateName` ("web-7d9f-"),
 * because the API server generates the name after the admission chain.
 */
function podBaseName(pod: Pod): string {
  const name = pod.metadata?.name;
  if (name) return name;
  const generated = (pod.metadata?.generateName ?? '').replace(/[-.]+$/, '');
  return generated || 'unnamed';
}

const LABEL_VALUE_MAX = 63;

/**
 * Label values are at most 63 characters. A longer id keeps a readable prefix and ends with a
 * hash of the whole id, so two long ids stay distinct.
 */
export function labelValue(id: string): string {
  if (id.length <= LABEL_VALUE_MAX) return id;
  const hash = createHash('sha256').update(id).digest('hex').slice(0, 10);
  const head = id.slice(0, LABEL_VALUE_MAX - hash.length - 1).replace(/[^A-Za-z0-9]+$/, '');
  return `${head}.${hash}`;
}

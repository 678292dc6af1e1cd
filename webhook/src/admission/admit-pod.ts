import type { Pod } from '../pod/pod-types.js';
import type { Logger } from 'pino';
import type { Decision, DecisionDefaults } from '../decision/decide.js';
import { decide } from '../decision/decide.js';
import type { SizeInstance } from '../decision/sizing.js';
import type { InstanceDecisionSource } from '../instance-decisions/instance-decision.js';
import { WEBHOOK_ANNOTATIONS } from '../keys.js';
import type { WebhookMetrics } from '../metrics.js';
import { buildVerifiedPatch } from '../mutation/json-patch.js';
import { mutatePod } from '../mutation/mutate-pod.js';
import type { PlacementClient, PlacementOutcome } from '../placement/placement-client.js';
import type { FieldError } from '../pod/field-error.js';
import { formatFieldErrors } from '../pod/field-error.js';
import type { FunctionIdentity } from '../pod/function-identity.js';
import { targetPod } from '../pod/function-identity.js';
import { chooseGpuContainer } from '../pod/gpu-container.js';
import { parseUserSettings } from '../pod/user-settings.js';
import type { UserSettings } from '../pod/user-settings.js';
import type { PodRules, RequestedResources } from '../pod/validate-pod.js';
import { checkPod } from '../pod/validate-pod.js';
import type { ProfileSource } from '../profiles/profile-store.js';
import type { AdmissionRequest, AdmissionResponse } from './review.js';
import { allow, allowWithPatch, deny } from './review.js';

export interface AdmitDeps {
  readonly profiles: ProfileSource;
  readonly decisions: InstanceDecisionSource;
  readonly placement: PlacementClient;
  readonly sizing: SizeInstance;
  readonly defaults: DecisionDefaults;
  readonly rules: PodRules;
  readonly sidecars: ReadonlySet<string>;
  readonly metrics: WebhookMetrics;
  readonly log: Logger;
}

export interface AdmitResult {
  readonly response: AdmissionResponse;
  readonly outcome: 'mutated' | 'skipped' | 'denied';
  readonly source?: string;
}

/** One pod CREATE: target -> validate -> decide -> place -> patch. */
export type AdmitPod = (request: AdmissionRequest, signal: AbortSignal) => Promise<AdmitResult>;

export function createAdmitPod(deps: AdmitDeps): AdmitPod {
  return async (request, signal) => {
    const screened = screen(request, deps);
    if ('response' in screened) return screened;
    const { uid, pod, namespace, identity, checked } = screened;

    const profileName = checked.settings.profile?.name ?? identity.profileName;
    const decided = decideFor(deps, namespace, identity, checked);
    if (!decided.ok) return denied(uid, 400, formatFieldErrors([decided.error]));
    const decision = decided.decision;

    if (request.dryRun === true) {
      // Reserving GPU capacity is this webhook's side effect; a dry run must not have one.
      const note = `dry run: GPU placement skipped; an instance would get ${describe(decision)}`;
      return { response: allow(uid, [note]), outcome: 'skipped', source: decision.source };
    }
    const placed = await place(deps, { pod, namespace, identity, decision, signal });
    if (placed.kind !== 'placed') return placementDenied(deps, uid, placed);
    if (signal.aborted) {
      // The answer came after the admission deadline: nobody will create this pod.
      void deps.placement.release(placed.placement.reservation);
      return denied(uid, 504, 'placement answered after the admission deadline');
    }

    try {
      const mutated = mutatePod({
        pod,
        gpuContainerIndex: checked.gpuIndex,
        decision,
        placement: placed.placement,
        functionLabel: identity.functionLabel,
        previouslyMutated: isPreviouslyMutated(pod),
      });
      const patch = buildVerifiedPatch(pod, mutated, checked.gpuIndex);
      deps.log.info(
        {
          uid,
          namespace,
          function: identity.functionLabel,
          node: placed.placement.node,
          gpu: placed.placement.gpuIndex,
          reservation: placed.placement.reservation,
          decision: describe(decision),
          basis: decision.basis,
        },
        'pod placed',
      );
      const warnings = decision.needsProfile
        ? [
            `no FunctionProfile "${profileName}" found; sized with defaults (${describe(decision)}) and labelled dilu.dev/needs-profile=true`,
          ]
        : undefined;
      return {
        response: allowWithPatch(uid, patch, warnings),
        outcome: 'mutated',
        source: decision.source,
      };
    } catch (err) {
      // The slot was reserved for a pod that will not exist; give it back now.
      void deps.placement.release(placed.placement.reservation);
      throw err;
    }
  };
}

interface Screened {
  readonly uid: string;
  readonly pod: Pod;
  readonly namespace: string;
  readonly identity: FunctionIdentity;
  readonly checked: Valid;
}

/** Everything before any lookup: is this a pod CREATE we size, and is the pod acceptable? */
function screen(request: AdmissionRequest, deps: AdmitDeps): Screened | AdmitResult {
  const { uid, kind } = request;
  const isPodCreate =
    kind.group === '' &&
    kind.version === 'v1' &&
    kind.kind === 'Pod' &&
    request.operation === 'CREATE';
  if (!isPodCreate) return { response: allow(uid), outcome: 'skipped' };
  const pod = asPod(request.object);
  if (!pod) {
    return denied(
      uid,
      400,
      'request.object: must be a Pod with spec.containers (a non-empty list)',
    );
  }
  const namespace = request.namespace ?? pod.metadata?.namespace ?? 'default';
  const target = targetPod(pod, namespace);
  if (!target.targeted) return { response: allow(uid), outcome: 'skipped' };
  const checked = checkAll(pod, deps);
  if (!checked.ok) return denied(uid, 400, formatFieldErrors(checked.errors));
  return { uid, pod, namespace, identity: target.identity, checked };
}

function decideFor(
  deps: AdmitDeps,
  namespace: string,
  identity: FunctionIdentity,
  checked: Valid,
): ReturnType<typeof decide> {
  const { settings, requested } = checked;
  const ref = settings.profile ?? { namespace: undefined, name: identity.profileName };
  const profile = deps.profiles.lookup(ref.namespace ?? namespace, ref.name);
  const instanceDecision =
    identity.deployment === undefined
      ? undefined
      : deps.decisions.get(namespace, identity.deployment);
  return decide({
    settings,
    requested,
    profile,
    instanceDecision,
    defaults: deps.defaults,
    sizing: deps.sizing,
  });
}

interface Valid {
  readonly ok: true;
  readonly settings: UserSettings;
  readonly gpuIndex: number;
  readonly requested: RequestedResources;
}

type Checked = Valid | { readonly ok: false; readonly errors: readonly FieldError[] };

function checkAll(pod: Pod, deps: AdmitDeps): Checked {
  const parsed = parseUserSettings(pod.metadata?.annotations ?? {});
  const errors: FieldError[] = [...parsed.errors];
  const choice = chooseGpuContainer(
    pod.spec?.containers ?? [],
    parsed.settings.gpuContainer,
    deps.sidecars,
  );
  if (!choice.ok) return { ok: false, errors: [...errors, choice.error] };
  const podCheck = checkPod(
    pod,
    choice.index,
    parsed.settings,
    isPreviouslyMutated(pod),
    deps.rules,
  );
  errors.push(...podCheck.errors);
  if (errors.length > 0) return { ok: false, errors };
  return {
    ok: true,
    settings: parsed.settings,
    gpuIndex: choice.index,
    requested: podCheck.requested,
  };
}

function isPreviouslyMutated(pod: Pod): boolean {
  return pod.metadata?.annotations?.[WEBHOOK_ANNOTATIONS.decision] !== undefined;
}

function asPod(object: unknown): Pod | undefined {
  if (typeof object !== 'object' || object === null) return undefined;
  const pod = object as Pod;
  const containers: unknown = pod.spec?.containers;
  if (!Array.isArray(containers) || containers.length === 0) return undefined;
  const wellFormed = containers.every(
    (c: unknown) =>
      typeof c === 'object' && c !== null && typeof (c as { name?: unknown }).name === 'string',
  );
  return wellFormed ? pod : undefined;
}

async function place(
  deps: AdmitDeps,
  a: {
    pod: Pod;
    namespace: string;
    identity: FunctionIdentity;
    decision: Decision;
    signal: AbortSignal;
  },
): Promise<PlacementOutcome> {
  const started = process.hrtime.bigint();
  const meta = a.pod.metadata;
  try {
    return await deps.placement.place(
      {
        namespace: a.namespace,
        ...(meta?.name ? { podName: meta.name } : {}),
        ...(meta?.generateName ? { generateName: meta.generateName } : {}),
        function: a.identity.functionLabel,
        class: a.decision.class,
        smRequest: a.decision.smRequest,
        smLimit: a.decision.smLimit,
        memoryMiB: a.decision.memoryMiB,
      },
      a.signal,
    );
  } finally {
    deps.metrics.observePlacement(started);
  }
}

/**
 * Decision 0201: with no placement there is no right pod to create, so the admission is
 * refused with the reason. The ReplicaSet controller retries pod creation with backoff, and the
 * reason shows in its events and in the Knative Revision / OpenFaaS function status.
 */
function placementDenied(
  deps: AdmitDeps,
  uid: string,
  outcome: Exclude<PlacementOutcome, { kind: 'placed' }>,
): AdmitResult {
  deps.metrics.placementFallback(outcome.kind);
  deps.log.warn(
    { uid, outcome: outcome.kind, reason: outcome.message },
    'placement failed; pod denied',
  );
  const message =
    outcome.kind === 'no-fit'
      ? `no GPU has room for this instance now: ${outcome.message}; the controller retries creating the pod`
      : outcome.kind === 'rejected'
        ? `placement service refused the request: ${outcome.message}`
        : `${outcome.message}; GPU pods cannot be placed until it is back (the controller retries)`;
  return denied(uid, outcome.kind === 'rejected' ? 500 : 503, message);
}

function denied(uid: string, code: number, message: string): AdmitResult {
  return { response: deny(uid, code, message), outcome: 'denied' };
}

function describe(d: Decision): string {
  return `batch ${d.batch}, SM request ${d.smRequest} %, SM limit ${d.smLimit} %, GPU memory ${d.memoryMiB} MiB (source ${d.source})`;
}

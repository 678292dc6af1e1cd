/**
 * Knative duck-typed conditions with the living-condition-set rules of knative/pkg
 * (`apis/condition_set.go`): `Ready` is True only when every dependent is True, False when any
 * is False (with its reason and message), Unknown otherwise; a condition's
 * `lastTransitionTime` moves only when its status, reason or message changes.
 */
export interface KnativeCondition {
  readonly type: string;
  readonly status: 'True' | 'False' | 'Unknown';
  readonly reason?: string;
  readonly message?: string;
  readonly severity?: string;
  readonly lastTransitionTime?: string;
}

export type ConditionStatus = KnativeCondition['status'];

export interface ConditionChange {
  readonly type: string;
  readonly status: ConditionStatus;
  readonly reason?: string | undefined;
  readonly message?: string | undefined;
}

/** Sets one condition, keeping its transition time when nothing about it changed. */
export function setCondition(
  conditions: readonly KnativeCondition[],
  change: ConditionChange,
  nowIso: string,
): KnativeCondition[] {
  const old = conditions.find(c => c.type === change.type);
  const same =
    old !== undefined &&
    old.status === change.status &&
    (old.reason ?? '') === (change.reason ?? '') &&
    (old.message ?? '') === (change.message ?? '');
  const next: KnativeCondition = {
    type: change.type,
    status: change.status,
    ...(change.reason ? { reason: change.reason } : {}),
    ...(change.message ? { message: change.message } : {}),
    lastTransitionTime: same ? (old.lastTransitionTime ?? nowIso) : nowIso,
  };
  const rest = conditions.filter(c => c.type !== change.type);
  return [...rest, next].sort((a, b) => a.type.localeCompare(b.type));
}

/** Recomputes the happy condition (`Ready`) from its dependents, in dependency order. */
export function deriveReady(
  conditions: readonly KnativeCondition[],
  dependents: readonly string[],
  nowIso: string,
): KnativeCondition[] {
  const deps = dependents.map(
    t => conditions.find(c => c.type === t) ?? { type: t, status: 'Unknown' as const },
  );
  const failed = deps.find(c => c.status === 'False');
  const unknown = deps.find(c => c.status === 'Unknown');
  const change: ConditionChange =
    failed !== undefined
      ? { type: 'Ready', status: 'False', reason: failed.reason, message: failed.message }
      : unknown !== undefined
        ? { type: 'Ready', status: 'Unknown', reason: unknown.reason, message: unknown.message }
        : { type: 'Ready', status: 'True' };
  return setCondition(conditions, change, nowIso);
}

export function conditionStatus(
  conditions: readonly KnativeCondition[] | undefined,
  type: string,
): ConditionStatus | undefined {
  return conditions?.find(c => c.type === type)?.status;
}

import type { KnativeCondition } from './conditions.js';
import { conditionStatus, deriveReady, setCondition } from './conditions.js';
import type { PodAutoscaler, PodAutoscalerStatus, ServerlessService } from './types.js';

export const PA_DEPENDENTS = ['Active', 'ScaleTargetInitialized', 'SKSReady'] as const;

export interface PaStatusInput {
  readonly pa: PodAutoscaler;
  readonly sks: ServerlessService | undefined;
  /** The SKS exists but another object controls it. */
  readonly sksNotOwned: boolean;
  /** Replicas the autoscaler wants (written to /scale); -1 when not known yet. */
  readonly want: number;
  /** Ready pods of the revision. */
  readonly ready: number;
  /** max(min-scale, initial-scale) before initialization (Knative's activeThreshold). */
  readonly initialThreshold: number;
  /** min-scale as Knative applies it (0 when unreachable). */
  readonly minScale: number;
  readonly nowIso: string;
}

/**
 * The PA status Knative's revision reconciler reads (notes/knative-openfaas.md §A1):
 * service names copied from the SKS, SKSReady mirroring it, ScaleTargetInitialized latched
 * once enough pods were ready, Active as KPA computes it, Ready derived, observedGeneration.
 */
export function computePaStatus(input: PaStatusInput): PodAutoscalerStatus {
  const { pa, sks, nowIso } = input;
  const old = pa.status ?? {};
  let conds: KnativeCondition[] = [...(old.conditions ?? [])];
  const serviceName = sks?.status?.serviceName ?? '';
  const privateName = sks?.status?.privateServiceName ?? '';

  conds = setCondition(conds, sksReadyChange(input, privateName), nowIso);

  const initialized = conditionStatus(conds, 'ScaleTargetInitialized') === 'True';
  const threshold = initialized ? Math.max(input.minScale, 1) : input.initialThreshold;
  if (!initialized) {
    const reached = input.ready >= threshold && serviceName !== '';
    conds = setCondition(
      conds,
      reached
        ? { type: 'ScaleTargetInitialized', status: 'True' }
        : {
            type: 'ScaleTargetInitialized',
            status: 'Unknown',
            reason: 'Queued',
            message: 'Waiting for the initial scale to be ready.',
          },
      nowIso,
    );
  }
  const active = activeChange(conds, input.want, input.ready, threshold);
  if (active !== undefined) conds = setCondition(conds, active, nowIso);
  conds = deriveReady(conds, PA_DEPENDENTS, nowIso);
  return {
    observedGeneration: pa.metadata.generation ?? 0,
    conditions: conds,
    serviceName,
    metricsServiceName: privateName,
    desiredScale: input.want,
    actualScale: input.ready,
  };
}

function sksReadyChange(input: PaStatusInput, privateName: string): KnativeCondition {
  if (input.sksNotOwned) {
    return {
      type: 'SKSReady',
      status: 'False',
      reason: 'NotOwned',
      message: `There is an existing ServerlessService ${input.pa.metadata.name} that we do not own.`,
    };
  }
  if (input.sks === undefined || privateName === '') {
    return {
      type: 'SKSReady',
      status: 'Unknown',
      reason: 'NoPrivateServiceName',
      message: 'No Private Service Name',
    };
  }
  const ready = input.sks.status?.conditions?.find(c => c.type === 'Ready');
  if (ready?.status === 'True') return { type: 'SKSReady', status: 'True' };
  return {
    type: 'SKSReady',
    status: 'Unknown',
    reason: ready?.reason ?? 'SKSNotReady',
    message: ready?.message ?? 'The ServerlessService is not ready yet.',
  };
}

/** KPA's computeActiveCondition. */
function activeChange(
  conds: readonly KnativeCondition[],
  want: number,
  ready: number,
  threshold: number,
): KnativeCondition | undefined {
  const inactive = conditionStatus(conds, 'Active') === 'False';
  if (want === 0 || threshold === 0) {
    return {
      type: 'Active',
      status: 'False',
      reason: 'NoTraffic',
      message: 'The target is not receiving traffic.',
    };
  }
  if (want < 0 && inactive) return undefined;
  if (ready < threshold) {
    return want > 0 || !inactive
      ? {
          type: 'Active',
          status: 'Unknown',
          reason: 'Queued',
          message: 'Requests to the target are being buffered as resources are provisioned.',
        }
      : undefined;
  }
  return want > 0 || !inactive ? { type: 'Active', status: 'True' } : undefined;
}

/** Status equality for "does it need a write": ignores key order, compares values. */
export function sameStatus(a: PodAutoscalerStatus | undefined, b: PodAutoscalerStatus): boolean {
  if (a === undefined) return false;
  const norm = (s: PodAutoscalerStatus): string =>
    JSON.stringify({
      o: s.observedGeneration ?? 0,
      s: s.serviceName ?? '',
      m: s.metricsServiceName ?? '',
      d: s.desiredScale,
      a: s.actualScale,
      c: [...(s.conditions ?? [])]
        .sort((x, y) => x.type.localeCompare(y.type))
        .map(c => [c.type, c.status, c.reason ?? '', c.message ?? '', c.lastTransitionTime ?? '']),
    });
  return norm(a) === norm(b);
}

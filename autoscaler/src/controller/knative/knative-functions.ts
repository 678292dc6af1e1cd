import type { FunctionSpec } from '../../policy/index.js';
import type { SettingProblem } from '../core/dilu-annotations.js';
import { readDiluSettings } from '../core/dilu-annotations.js';
import { buildFunctionSpec, functionLabelValue } from '../core/function-spec.js';
import type { ManagedFunction } from '../core/types.js';
import type { KnativeAutoscalerDefaults } from './config-autoscaler.js';
import { CLASS_ANNOTATION, DILU_AUTOSCALER_CLASS } from './constants.js';
import { knativeScaleSettings } from './scale-settings.js';
import type { PodAutoscaler } from './types.js';

export function isOurClass(pa: PodAutoscaler): boolean {
  return pa.metadata.annotations?.[CLASS_ANNOTATION] === DILU_AUTOSCALER_CLASS;
}

export const knativeKey = (namespace: string, name: string): string =>
  `knative/${namespace}/${name}`;

export interface KnativeFunction extends ManagedFunction {
  readonly mode: 'knative';
  /** Bounds as Knative applies them (for status and the reconcile's clamp). */
  readonly bounds: { readonly min: number; readonly max: number; readonly initial: number };
  readonly targetBurstCapacity: number;
}

/** A PodAutoscaler of our class as the controller's function, with its settings validated. */
export function knativeFunction(
  pa: PodAutoscaler,
  defaults: KnativeAutoscalerDefaults,
): KnativeFunction {
  const problems: SettingProblem[] = [];
  const annotations = pa.metadata.annotations ?? {};
  const { namespace, name } = pa.metadata;
  const scale = knativeScaleSettings(
    annotations,
    defaults,
    { reachable: pa.spec.reachability !== 'Unreachable' },
    problems,
  );
  const dilu = readDiluSettings(annotations, problems);
  const spec: FunctionSpec | undefined = buildFunctionSpec(
    `${namespace}/${name}`,
    scale,
    dilu,
    problems,
  );
  const labels = pa.metadata.labels ?? {};
  const service =
    labels['serving.knative.dev/service'] ?? labels['serving.knative.dev/configuration'] ?? name;
  return {
    key: knativeKey(namespace, name),
    mode: 'knative',
    namespace,
    name,
    deployment: pa.spec.scaleTargetRef.name,
    spec,
    problems,
    profile: {
      namespace: dilu.profile?.namespace ?? namespace,
      name: dilu.profile?.name ?? service,
    },
    functionLabel: functionLabelValue('knative', namespace, name),
    bounds: { min: scale.minScale, max: scale.maxScale, initial: scale.initialScale },
    targetBurstCapacity: defaults.targetBurstCapacity,
  };
}

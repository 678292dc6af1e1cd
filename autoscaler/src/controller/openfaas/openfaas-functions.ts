import type { V1Deployment } from '@kubernetes/client-node';
import { V1ObjectMeta } from '@kubernetes/client-node';
import type { PolicyKnobOverrides } from '../../policy/index.js';
import type { SettingProblem } from '../core/dilu-annotations.js';
import { readDiluSettings } from '../core/dilu-annotations.js';
import { buildFunctionSpec, functionLabelValue } from '../core/function-spec.js';
import type { ManagedFunction } from '../core/types.js';
import { parseDurationSeconds } from '../knative/duration.js';

/** Label faas-netes puts on a function's Deployment and pods. */
export const FAAS_FUNCTION_LABEL = 'faas_function';

export const openfaasKey = (namespace: string, name: string): string =>
  `openfaas/${namespace}/${name}`;

export interface OpenFaasFunction extends ManagedFunction {
  readonly mode: 'openfaas';
  readonly bounds: { readonly min: number; readonly max: number };
}

function intLabel(
  labels: Readonly<Record<string, string>>,
  key: string,
  min: number,
  problems: SettingProblem[],
): number | undefined {
  const raw = labels[key];
  if (raw === undefined) return undefined;
  if (!/^\d+$/.test(raw.trim()) || Number(raw) < min) {
    problems.push({ key, message: `"${raw}" is not allowed; expected an integer >= ${min}` });
    return undefined;
  }
  return Number(raw);
}

function durationLabel(
  labels: Readonly<Record<string, string>>,
  key: string,
  problems: SettingProblem[],
): number | undefined {
  const raw = labels[key];
  if (raw === undefined) return undefined;
  const s = parseDurationSeconds(raw);
  if (s === undefined || s < 0 || s > 86_400) {
    problems.push({ key, message: `"${raw}" is not allowed; expected a duration such as 15m` });
    return undefined;
  }
  return s;
}

interface OpenFaasScale {
  readonly min: number;
  readonly max: number;
  readonly scaleToZero: boolean;
  readonly knobs: PolicyKnobOverrides;
}

function scaleLabels(
  labels: Readonly<Record<string, string>>,
  problems: SettingProblem[],
): OpenFaasScale {
  let min = intLabel(labels, 'com.openfaas.scale.min', 0, problems) ?? 1;
  const max = intLabel(labels, 'com.openfaas.scale.max', 1, problems) ?? 0;
  if (max > 0 && min > max) {
    problems.push({ key: 'com.openfaas.scale.min', message: `${min} is above max ${max}` });
    min = max;
  }
  const knobs: PolicyKnobOverrides = {};
  const zeroFor = durationLabel(labels, 'com.openfaas.scale.zero-duration', problems);
  if (zeroFor !== undefined) knobs.scaleToZeroGraceS = Math.max(1, zeroFor);
  const downWindow = durationLabel(labels, 'com.openfaas.scale.down.window', problems);
  if (downWindow !== undefined) {
    // The calm that ends panic is Knative's stable window; OpenFaaS's nearest setting is the
    // window a scale-down waits for, so it bounds both.
    knobs.scaleDownDelayS = downWindow;
    knobs.panicExitS = Math.max(1, downWindow);
  }
  const scaleToZero = labels['com.openfaas.scale.zero'] === 'true' && min === 0;
  return { min: scaleToZero ? 0 : Math.max(1, min), max, scaleToZero, knobs };
}

/**
 * An OpenFaaS function (its Deployment) with the scaling labels OpenFaaS defines
 * (notes §B1): `com.openfaas.scale.min` (default 1), `.max` (no default cap here: the
 * controller scales the Deployment itself, not through the CE gateway, whose API clamps to
 * 1..5), `.zero` with min 0 / `.zero-duration` (scale to zero after that idle time) and
 * `.down.window`. Labels are read from the Deployment over its pod template (faas-netes puts
 * user labels on the template); `dilu.dev/*` settings from the annotations.
 */
export function openfaasFunction(d: V1Deployment): OpenFaasFunction {
  const problems: SettingProblem[] = [];
  const meta = d.metadata ?? new V1ObjectMeta();
  const namespace = meta.namespace ?? '';
  const deployment = meta.name ?? '';
  const name = meta.labels?.[FAAS_FUNCTION_LABEL] ?? deployment;
  const template = d.spec?.template.metadata;
  const scale = scaleLabels({ ...template?.labels, ...meta.labels }, problems);
  const dilu = readDiluSettings({ ...template?.annotations, ...meta.annotations }, problems);
  const spec = buildFunctionSpec(
    `${namespace}/${name}`,
    {
      minScale: scale.min,
      maxScale: scale.max,
      initialScale: Math.max(1, scale.min),
      scaleToZero: scale.scaleToZero,
      knobs: scale.knobs,
    },
    dilu,
    problems,
  );
  return {
    key: openfaasKey(namespace, name),
    mode: 'openfaas',
    namespace,
    name,
    deployment,
    spec,
    problems,
    profile: { namespace: dilu.profile?.namespace ?? namespace, name: dilu.profile?.name ?? name },
    functionLabel: functionLabelValue('openfaas', namespace, name),
    bounds: { min: scale.min, max: scale.max },
  };
}

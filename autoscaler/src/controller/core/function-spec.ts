import type { FunctionSpec, PolicyKnobOverrides } from '../../policy/index.js';
import { parseFunctionSpec, PolicyInputError } from '../../policy/index.js';
import type { DiluSettings, SettingProblem } from './dilu-annotations.js';

/** The platform's replica bounds, mapped to the policy's terms. */
export interface PlatformScale {
  readonly minScale: number;
  readonly maxScale: number;
  readonly initialScale: number;
  readonly scaleToZero: boolean;
  readonly knobs: PolicyKnobOverrides;
}

/** Builds the policy spec; a spec the policy refuses is reported with the field it named. */
export function buildFunctionSpec(
  name: string,
  scale: PlatformScale,
  dilu: DiluSettings,
  problems: SettingProblem[],
): FunctionSpec | undefined {
  try {
    return parseFunctionSpec({
      name,
      ...(dilu.sloMs === undefined ? {} : { sloMs: dilu.sloMs }),
      class: dilu.class,
      minScale: scale.minScale,
      maxScale: scale.maxScale,
      initialScale: scale.initialScale,
      scaleToZero: scale.scaleToZero,
      fixed: dilu.fixed,
      knobs:
        dilu.burstHalfLifeS === undefined
          ? scale.knobs
          : { ...scale.knobs, burstHalfLifeS: dilu.burstHalfLifeS },
    });
  } catch (err) {
    if (!(err instanceof PolicyInputError)) throw err;
    const key = err.field === 'spec.sloMs' ? 'dilu.dev/slo-ms' : err.field;
    problems.push({ key, message: err.rule });
    return undefined;
  }
}

/** `dilu.dev/function` label value, as the webhook writes it (annotations.md). */
export function functionLabelValue(kind: string, namespace: string, name: string): string {
  const v = `${kind}.${namespace}.${name}`;
  return v.length <= 63 ? v : v.slice(0, 63).replace(/[^a-zA-Z0-9]+$/, '');
}

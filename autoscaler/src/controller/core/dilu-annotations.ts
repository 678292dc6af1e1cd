import type { FunctionSpecInput } from '../../policy/index.js';
import { FUNCTION_CLASSES } from '../../policy/index.js';

/**
 * The user-set `dilu.dev/*` keys the autoscaler reads (docs/contracts/annotations.md), from a
 * PodAutoscaler's annotations (Knative copies the revision template's onto it) or an OpenFaaS
 * function's Deployment. Errors name the key and what is allowed.
 */
export interface DiluSettings {
  readonly sloMs?: number | undefined;
  readonly class: (typeof FUNCTION_CLASSES)[number];
  readonly fixed: NonNullable<FunctionSpecInput['fixed']>;
  /** `dilu.dev/burst-half-life`: how long a remembered burst keeps its instances (seconds). */
  readonly burstHalfLifeS?: number | undefined;
  /** FunctionProfile reference: `<name>` (function's namespace) or `<namespace>/<name>`. */
  readonly profile?: { readonly namespace?: string; readonly name: string } | undefined;
}

export interface SettingProblem {
  readonly key: string;
  readonly message: string;
}

function intIn(
  annotations: Readonly<Record<string, string>>,
  key: string,
  lo: number,
  hi: number,
  problems: SettingProblem[],
): number | undefined {
  const raw = annotations[key];
  if (raw === undefined) return undefined;
  const v = raw.trim();
  if (!/^\d+$/.test(v) || Number(v) < lo || Number(v) > hi) {
    problems.push({ key, message: `"${raw}" is not allowed; expected an integer ${lo}..${hi}` });
    return undefined;
  }
  return Number(v);
}

export function readDiluSettings(
  annotations: Readonly<Record<string, string>>,
  problems: SettingProblem[],
): DiluSettings {
  const sloMs = intIn(annotations, 'dilu.dev/slo-ms', 1, 600000, problems);
  const rawClass = annotations['dilu.dev/class'];
  let cls: DiluSettings['class'] = 'latency-critical';
  if (rawClass !== undefined) {
    if ((FUNCTION_CLASSES as readonly string[]).includes(rawClass)) {
      cls = rawClass as DiluSettings['class'];
    } else {
      problems.push({
        key: 'dilu.dev/class',
        message: `"${rawClass}" is not allowed; expected ${FUNCTION_CLASSES.join(' or ')}`,
      });
    }
  }
  const smRequest = intIn(annotations, 'dilu.dev/sm', 1, 100, problems);
  const smLimit = intIn(annotations, 'dilu.dev/sm-limit', smRequest ?? 1, 100, problems);
  const memoryMiB = intIn(annotations, 'dilu.dev/gpu-memory', 1, Number.MAX_SAFE_INTEGER, problems);
  const batch = intIn(annotations, 'dilu.dev/batch', 1, 4096, problems);
  const burstHalfLifeS = intIn(annotations, 'dilu.dev/burst-half-life', 1, 86_400, problems);
  const fixed: NonNullable<FunctionSpecInput['fixed']> = {
    ...(batch === undefined ? {} : { batch }),
    ...(smRequest === undefined ? {} : { smRequest }),
    ...(smLimit === undefined ? {} : { smLimit }),
    ...(memoryMiB === undefined ? {} : { memoryMiB }),
  };
  return {
    sloMs,
    class: cls,
    fixed,
    burstHalfLifeS,
    profile: profileRef(annotations['dilu.dev/profile'], problems),
  };
}

function profileRef(raw: string | undefined, problems: SettingProblem[]): DiluSettings['profile'] {
  if (raw === undefined) return undefined;
  const name = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;
  const parts = raw.split('/');
  if (parts.length === 1 && name.test(raw)) return { name: raw };
  if (parts.length === 2 && name.test(parts[0] ?? '') && name.test(parts[1] ?? '')) {
    return { namespace: parts[0], name: parts[1] ?? '' };
  }
  problems.push({
    key: 'dilu.dev/profile',
    message: `"${raw}" is not allowed; expected <name> or <namespace>/<name>`,
  });
  return undefined;
}

import type { PolicyKnobOverrides } from '../../policy/index.js';
import type { SettingProblem } from '../core/dilu-annotations.js';
import type { KnativeAutoscalerDefaults } from './config-autoscaler.js';
import { parseDurationSeconds } from './duration.js';

const PREFIX = 'autoscaling.knative.dev/';

/** Current key and its legacy camelCase alias (Knative still reads both, current first). */
const ALIASES: Record<string, string> = {
  'min-scale': 'minScale',
  'max-scale': 'maxScale',
  'initial-scale': 'initialScale',
  'panic-window-percentage': 'panicWindowPercentage',
  'panic-threshold-percentage': 'panicThresholdPercentage',
  'scale-down-delay': 'scaleDownDelay',
  'scale-to-zero-pod-retention-period': 'scaleToZeroPodRetentionPeriod',
  'target-burst-capacity': 'targetBurstCapacity',
};

function read(annotations: Readonly<Record<string, string>>, key: string): [string, string] | [] {
  const current = annotations[PREFIX + key];
  if (current !== undefined) return [PREFIX + key, current];
  const alias = ALIASES[key];
  const legacy = alias === undefined ? undefined : annotations[PREFIX + alias];
  return legacy === undefined || alias === undefined ? [] : [PREFIX + alias, legacy];
}

interface Ctx {
  readonly annotations: Readonly<Record<string, string>>;
  readonly problems: SettingProblem[];
}

function intAnnotation(ctx: Ctx, key: string, min: number): number | undefined {
  const [name, raw] = read(ctx.annotations, key);
  if (name === undefined || raw === undefined) return undefined;
  if (!/^\d+$/.test(raw.trim()) || Number(raw) < min) {
    ctx.problems.push({
      key: name,
      message: `"${raw}" is not allowed; expected an integer >= ${min}`,
    });
    return undefined;
  }
  return Number(raw);
}

function numberAnnotation(ctx: Ctx, key: string, lo: number, hi: number): number | undefined {
  const [name, raw] = read(ctx.annotations, key);
  if (name === undefined || raw === undefined) return undefined;
  const n = Number(raw.trim());
  if (raw.trim() === '' || !Number.isFinite(n) || n < lo || n > hi) {
    ctx.problems.push({ key: name, message: `"${raw}" is not allowed; expected ${lo}..${hi}` });
    return undefined;
  }
  return n;
}

function durationAnnotation(ctx: Ctx, key: string, lo: number, hi: number): number | undefined {
  const [name, raw] = read(ctx.annotations, key);
  if (name === undefined || raw === undefined) return undefined;
  const s = parseDurationSeconds(raw);
  if (s === undefined || s < lo || s > hi || !Number.isInteger(s)) {
    ctx.problems.push({
      key: name,
      message: `"${raw}" is not allowed; expected whole seconds from ${lo}s to ${hi}s`,
    });
    return undefined;
  }
  return s;
}

/** What the Knative side of a function's spec comes to, before the dilu.dev keys. */
export interface KnativeScaleSettings {
  readonly minScale: number;
  readonly maxScale: number;
  readonly initialScale: number;
  readonly scaleToZero: boolean;
  readonly knobs: PolicyKnobOverrides;
}

function bounds(
  ctx: Ctx,
  defaults: KnativeAutoscalerDefaults,
  reachable: boolean,
): { minScale: number; maxScale: number; initialScale: number } {
  let minScale = intAnnotation(ctx, 'min-scale', 0) ?? defaults.minScale;
  let maxScale = intAnnotation(ctx, 'max-scale', 0) ?? defaults.maxScale;
  if (defaults.maxScaleLimit > 0 && (maxScale === 0 || maxScale > defaults.maxScaleLimit)) {
    maxScale = defaults.maxScaleLimit;
  }
  if (maxScale !== 0 && minScale > maxScale) {
    ctx.problems.push({
      key: `${PREFIX}min-scale`,
      message: `${minScale} is above max-scale ${maxScale}; using ${maxScale}`,
    });
    minScale = maxScale;
  }
  // Knative ignores min-scale for a revision no route sends traffic to (pa_lifecycle ScaleBounds).
  if (!reachable) minScale = 0;
  let initialScale = intAnnotation(ctx, 'initial-scale', 0) ?? defaults.initialScale;
  if (initialScale === 0 && !(defaults.allowZeroInitialScale && defaults.enableScaleToZero)) {
    ctx.problems.push({
      key: `${PREFIX}initial-scale`,
      message: '0 needs allow-zero-initial-scale and enable-scale-to-zero; using 1',
    });
    initialScale = 1;
  }
  if (maxScale !== 0 && initialScale > maxScale) initialScale = maxScale;
  return { minScale, maxScale, initialScale };
}

function knobs(ctx: Ctx, defaults: KnativeAutoscalerDefaults): PolicyKnobOverrides {
  const window = durationAnnotation(ctx, 'window', 6, 3600) ?? defaults.stableWindowS;
  const panicPct =
    numberAnnotation(ctx, 'panic-window-percentage', 1, 100) ?? defaults.panicWindowPercentage;
  const threshold =
    numberAnnotation(ctx, 'panic-threshold-percentage', 110, 1000) ??
    defaults.panicThresholdPercentage;
  const delay =
    durationAnnotation(ctx, 'scale-down-delay', 0, 3600) ??
    (defaults.scaleDownDelayS > 0 ? defaults.scaleDownDelayS : undefined);
  const retention =
    durationAnnotation(ctx, 'scale-to-zero-pod-retention-period', 0, 3600) ??
    defaults.scaleToZeroPodRetentionPeriodS;
  const activation = intAnnotation(ctx, 'activation-scale', 1);
  return {
    panicWindowS: Math.max(1, Math.round((window * panicPct) / 100)),
    panicThreshold: threshold / 100,
    panicExitS: window,
    // KPA: zero load over a stable window, then the grace period with the activator in path;
    // the retention period is a floor on the time at zero load.
    scaleToZeroGraceS: window + Math.max(defaults.scaleToZeroGracePeriodS, retention),
    maxScaleUpRate: defaults.maxScaleUpRate,
    maxScaleDownRate: defaults.maxScaleDownRate,
    // Dilu removes instances lazily (the policy's default); an explicit Knative delay wins.
    ...(delay === undefined ? {} : { scaleDownDelayS: delay }),
    ...(activation === undefined ? {} : { activationScale: activation }),
  };
}

/**
 * The autoscaling annotations of a PodAutoscaler over `config-autoscaler` defaults, as KPA
 * reads them (notes/knative-openfaas.md §A2–A3), mapped onto the policy's spec and knobs.
 * A bad annotation is reported and its default used, as Knative's webhook would have refused it.
 */
export function knativeScaleSettings(
  annotations: Readonly<Record<string, string>>,
  defaults: KnativeAutoscalerDefaults,
  opts: { readonly reachable: boolean },
  problems: SettingProblem[],
): KnativeScaleSettings {
  const ctx: Ctx = { annotations, problems };
  return {
    ...bounds(ctx, defaults, opts.reachable),
    scaleToZero: defaults.enableScaleToZero,
    knobs: knobs(ctx, defaults),
  };
}

import { parseDurationSeconds } from './duration.js';

/**
 * The `config-autoscaler` keys our class honours (notes/knative-openfaas.md §A2), with
 * Knative's own defaults. Values Knative would reject fall back to the default and are
 * reported, so one bad key does not stop every function.
 */
export interface KnativeAutoscalerDefaults {
  readonly enableScaleToZero: boolean;
  /** `min-scale` / `max-scale` (0 = unlimited) / `initial-scale`. */
  readonly minScale: number;
  readonly maxScale: number;
  readonly maxScaleLimit: number;
  readonly initialScale: number;
  readonly allowZeroInitialScale: boolean;
  readonly stableWindowS: number;
  readonly panicWindowPercentage: number;
  readonly panicThresholdPercentage: number;
  readonly scaleDownDelayS: number;
  readonly scaleToZeroGracePeriodS: number;
  readonly scaleToZeroPodRetentionPeriodS: number;
  readonly maxScaleUpRate: number;
  readonly maxScaleDownRate: number;
  readonly targetBurstCapacity: number;
}

export const KNATIVE_DEFAULTS: KnativeAutoscalerDefaults = Object.freeze({
  enableScaleToZero: true,
  minScale: 0,
  maxScale: 0,
  maxScaleLimit: 0,
  initialScale: 1,
  allowZeroInitialScale: false,
  stableWindowS: 60,
  panicWindowPercentage: 10,
  panicThresholdPercentage: 200,
  scaleDownDelayS: 0,
  scaleToZeroGracePeriodS: 30,
  scaleToZeroPodRetentionPeriodS: 0,
  maxScaleUpRate: 1000,
  maxScaleDownRate: 2,
  targetBurstCapacity: 211,
});

export interface ConfigProblem {
  readonly key: string;
  readonly message: string;
}

type Reader = (value: string) => number | boolean | undefined;

const int =
  (min: number): Reader =>
  v =>
    /^\d+$/.test(v.trim()) && Number(v) >= min ? Number(v) : undefined;
const float =
  (ok: (n: number) => boolean): Reader =>
  v => {
    const n = Number(v.trim());
    return v.trim() !== '' && Number.isFinite(n) && ok(n) ? n : undefined;
  };
const bool: Reader = v =>
  v.trim().toLowerCase() === 'true' ? true : v.trim().toLowerCase() === 'false' ? false : undefined;
const duration =
  (min: number, max: number): Reader =>
  v => {
    const s = parseDurationSeconds(v);
    return s !== undefined && s >= min && s <= max ? s : undefined;
  };

const KEYS: Record<string, [keyof KnativeAutoscalerDefaults, Reader, string]> = {
  'enable-scale-to-zero': ['enableScaleToZero', bool, 'true or false'],
  'min-scale': ['minScale', int(0), 'an integer >= 0'],
  'max-scale': ['maxScale', int(0), 'an integer >= 0 (0 = unlimited)'],
  'max-scale-limit': ['maxScaleLimit', int(0), 'an integer >= 0'],
  'initial-scale': ['initialScale', int(0), 'an integer >= 0'],
  'allow-zero-initial-scale': ['allowZeroInitialScale', bool, 'true or false'],
  'stable-window': ['stableWindowS', duration(6, 3600), 'a duration from 6s to 1h'],
  'panic-window-percentage': ['panicWindowPercentage', float(n => n >= 1 && n <= 100), '1..100'],
  'panic-threshold-percentage': [
    'panicThresholdPercentage',
    float(n => n >= 110 && n <= 1000),
    '110..1000',
  ],
  'scale-down-delay': ['scaleDownDelayS', duration(0, 3600), 'a duration from 0s to 1h'],
  'scale-to-zero-grace-period': [
    'scaleToZeroGracePeriodS',
    duration(1e-9, 3600),
    'a positive duration up to 1h',
  ],
  'scale-to-zero-pod-retention-period': [
    'scaleToZeroPodRetentionPeriodS',
    duration(0, 3600),
    'a duration from 0s to 1h',
  ],
  'max-scale-up-rate': ['maxScaleUpRate', float(n => n > 1), 'a number > 1'],
  'max-scale-down-rate': ['maxScaleDownRate', float(n => n > 1), 'a number > 1'],
  'target-burst-capacity': ['targetBurstCapacity', float(n => n >= 0 || n === -1), '>= 0 or -1'],
};

/** Reads `config-autoscaler`'s data; unknown keys (Knative has many more) are ignored. */
export function parseConfigAutoscaler(data: Readonly<Record<string, string>> | undefined): {
  defaults: KnativeAutoscalerDefaults;
  problems: ConfigProblem[];
} {
  const out: Record<string, number | boolean> = { ...KNATIVE_DEFAULTS };
  const problems: ConfigProblem[] = [];
  for (const [key, raw] of Object.entries(data ?? {})) {
    const known = KEYS[key];
    if (known === undefined) continue;
    const [field, read, allowed] = known;
    const value = read(raw);
    if (value === undefined) {
      problems.push({ key, message: `"${raw}" is not allowed; expected ${allowed}` });
    } else {
      out[field] = value;
    }
  }
  return { defaults: Object.freeze(out) as unknown as KnativeAutoscalerDefaults, problems };
}

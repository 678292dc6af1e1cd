import type { FunctionClass } from '../keys.js';
import { FUNCTION_CLASSES, PREFIX, USER_ANNOTATIONS, WEBHOOK_ANNOTATIONS } from '../keys.js';
import type { FieldError } from './field-error.js';
import { annotationField, fieldError } from './field-error.js';

/** What the user fixed through `dilu.dev/*` annotations (annotations.md, "Set by users"). */
export interface UserSettings {
  readonly profile?: { readonly namespace?: string | undefined; readonly name: string };
  readonly sloMs?: number;
  readonly class: FunctionClass;
  readonly smRequest?: number;
  readonly smLimit?: number;
  readonly memoryMiB?: number;
  readonly batch?: number;
  readonly gpuContainer?: string;
}

export interface ParsedSettings {
  readonly settings: UserSettings;
  readonly errors: readonly FieldError[];
}

const KNOWN_KEYS = new Set<string>([
  ...Object.values(USER_ANNOTATIONS),
  ...Object.values(WEBHOOK_ANNOTATIONS),
]);

/** DNS-1123 subdomain: the rule for object names, FunctionProfile names included. */
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
/** DNS-1123 label: the rule for namespaces and container names. */
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

interface IntRule {
  readonly min: number;
  readonly max: number;
  readonly what: string;
}

const INT_RULES = {
  sloMs: { min: 1, max: 600_000, what: 'an integer number of milliseconds in 1..600000' },
  sm: { min: 1, max: 100, what: 'an integer percentage in 1..100' },
  smLimit: { min: 1, max: 100, what: 'an integer percentage in 1..100' },
  gpuMemory: { min: 1, max: 16_777_216, what: 'an integer number of MiB >= 1' },
  batch: { min: 1, max: 4096, what: 'an integer in 1..4096' },
  burstHalfLife: { min: 1, max: 86_400, what: 'an integer number of seconds in 1..86400' },
} as const satisfies Record<string, IntRule>;

/**
 * Reads and checks every `dilu.dev/*` annotation. Unknown keys are errors: a misspelt
 * `dilu.dev/slo_ms` must not silently fall back to defaults. The keys the webhook itself writes
 * are accepted (a re-created pod carries them) and replaced by the new decision.
 */
export function parseUserSettings(annotations: Readonly<Record<string, string>>): ParsedSettings {
  const errors: FieldError[] = [];
  for (const key of Object.keys(annotations)) {
    if (key.startsWith(PREFIX) && !KNOWN_KEYS.has(key)) {
      errors.push(
        fieldError(
          annotationField(key),
          `unknown dilu.dev annotation (allowed: ${[...Object.values(USER_ANNOTATIONS)].join(', ')})`,
        ),
      );
    }
  }
  const int = (key: string, rule: IntRule): number | undefined => {
    const raw = annotations[key];
    if (raw === undefined) return undefined;
    const ok = /^\d{1,9}$/.test(raw) ? Number(raw) : NaN;
    if (!(ok >= rule.min && ok <= rule.max)) {
      errors.push(fieldError(annotationField(key), `must be ${rule.what}, got "${raw}"`));
      return undefined;
    }
    return ok;
  };

  const settings: {
    -readonly [K in keyof UserSettings]: UserSettings[K];
  } = { class: parseClass(annotations[USER_ANNOTATIONS.class], errors) };
  assign(settings, 'sloMs', int(USER_ANNOTATIONS.sloMs, INT_RULES.sloMs));
  assign(settings, 'smRequest', int(USER_ANNOTATIONS.sm, INT_RULES.sm));
  assign(settings, 'smLimit', int(USER_ANNOTATIONS.smLimit, INT_RULES.smLimit));
  assign(settings, 'memoryMiB', int(USER_ANNOTATIONS.gpuMemory, INT_RULES.gpuMemory));
  assign(settings, 'batch', int(USER_ANNOTATIONS.batch, INT_RULES.batch));
  // Read by the autoscaler (keep-alive after bursts), not by sizing; checked here so a bad
  // value is refused at deploy time rather than ignored later.
  int(USER_ANNOTATIONS.burstHalfLife, INT_RULES.burstHalfLife);
  assign(settings, 'profile', parseProfileRef(annotations[USER_ANNOTATIONS.profile], errors));
  assign(
    settings,
    'gpuContainer',
    parseContainerName(annotations[USER_ANNOTATIONS.gpuContainer], errors),
  );
  checkEnabled(annotations[USER_ANNOTATIONS.enabled], errors);

  if (
    settings.smRequest !== undefined &&
    settings.smLimit !== undefined &&
    settings.smLimit < settings.smRequest
  ) {
    errors.push(
      fieldError(
        annotationField(USER_ANNOTATIONS.smLimit),
        `must be at least dilu.dev/sm (${settings.smRequest}), got "${settings.smLimit}"`,
      ),
    );
  }
  return { settings, errors };
}

function assign<K extends keyof UserSettings>(
  target: { -readonly [P in keyof UserSettings]: UserSettings[P] },
  key: K,
  value: UserSettings[K] | undefined,
): void {
  if (value !== undefined) target[key] = value;
}

function parseClass(raw: string | undefined, errors: FieldError[]): FunctionClass {
  if (raw === undefined) return 'latency-critical';
  if ((FUNCTION_CLASSES as readonly string[]).includes(raw)) return raw as FunctionClass;
  errors.push(
    fieldError(
      annotationField(USER_ANNOTATIONS.class),
      `must be one of ${FUNCTION_CLASSES.join(', ')}, got "${raw}"`,
    ),
  );
  return 'latency-critical';
}

function parseProfileRef(raw: string | undefined, errors: FieldError[]): UserSettings['profile'] {
  if (raw === undefined) return undefined;
  const parts = raw.split('/');
  const [first, second] = parts;
  const ns = parts.length === 2 ? first : undefined;
  const name = parts.length === 2 ? second : first;
  const valid =
    parts.length <= 2 &&
    name !== undefined &&
    name.length <= 253 &&
    DNS_SUBDOMAIN.test(name) &&
    (ns === undefined || (ns.length <= 63 && DNS_LABEL.test(ns)));
  if (!valid) {
    errors.push(
      fieldError(
        annotationField(USER_ANNOTATIONS.profile),
        `must be <name> or <namespace>/<name> (lower-case DNS names), got "${raw}"`,
      ),
    );
    return undefined;
  }
  return { namespace: ns, name };
}

function parseContainerName(raw: string | undefined, errors: FieldError[]): string | undefined {
  if (raw === undefined) return undefined;
  if (raw.length <= 63 && DNS_LABEL.test(raw)) return raw;
  errors.push(
    fieldError(
      annotationField(USER_ANNOTATIONS.gpuContainer),
      `must be a container name (lower-case DNS label), got "${raw}"`,
    ),
  );
  return undefined;
}

function checkEnabled(raw: string | undefined, errors: FieldError[]): void {
  if (raw === undefined || raw === 'true' || raw === 'false') return;
  errors.push(
    fieldError(
      annotationField(USER_ANNOTATIONS.enabled),
      `must be "true" or "false", got "${raw}"`,
    ),
  );
}

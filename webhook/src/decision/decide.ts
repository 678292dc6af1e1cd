import type { ProfileRecommendation } from '@dilu/autoscaler';
import type { InstanceDecision } from '../instance-decisions/instance-decision.js';
import type { FunctionClass } from '../keys.js';
import { USER_ANNOTATIONS } from '../keys.js';
import type { FieldError } from '../pod/field-error.js';
import { annotationField, fieldError } from '../pod/field-error.js';
import type { UserSettings } from '../pod/user-settings.js';
import type { RequestedResources } from '../pod/validate-pod.js';
import type { ProfileEntry } from '../profiles/profile-store.js';
import type { InstanceSize, SizeInstance, SizingResult } from './sizing.js';

/** `source` of the `dilu.dev/decision` annotation (annotations.md). */
export type DecisionSource = 'profile' | 'explicit' | 'decision' | 'default';

/** Conservative sizing for functions nobody has profiled yet (decision 0202). */
export interface DecisionDefaults {
  /** @default 25 */
  readonly smRequest: number;
  /** @default 50 */
  readonly smLimit: number;
  /** @default 4096 */
  readonly memoryMiB: number;
  /** @default 1 */
  readonly batch: number;
  /** SM limit for a user-fixed request: min(100, ceil(factor x r)). @default 1.5 */
  readonly limitFactor: number;
}

export interface Decision {
  readonly batch: number;
  readonly smRequest: number;
  readonly smLimit: number;
  readonly memoryMiB: number;
  readonly sloMs?: number | undefined;
  readonly class: FunctionClass;
  readonly source: DecisionSource;
  /** No FunctionProfile was found: the pod is labelled for profiling. */
  readonly needsProfile: boolean;
  /** Where each part came from, for the log line and the admission warning. */
  readonly basis: string;
}

export interface DecideInput {
  readonly settings: UserSettings;
  readonly requested: RequestedResources;
  readonly profile?: ProfileEntry | undefined;
  readonly instanceDecision?: InstanceDecision | undefined;
  readonly defaults: DecisionDefaults;
  readonly sizing: SizeInstance;
}

export type DecideResult =
  | { readonly ok: true; readonly decision: Decision }
  | { readonly ok: false; readonly error: FieldError };

interface Base {
  readonly size: InstanceSize;
  readonly source: Exclude<DecisionSource, 'explicit'>;
  readonly basis: string;
}

/**
 * Precedence (instance-decision.md): what the user fixed (annotations or generic resources)
 * field by field, over the autoscaler's published per-instance decision, over sizing from the
 * FunctionProfile for the SLO, over the conservative defaults.
 */
export function decide(input: DecideInput): DecideResult {
  const { settings, requested } = input;
  const explicitR = settings.smRequest ?? requested.smRequest;
  const sloMs = settings.sloMs ?? input.instanceDecision?.sloMs;

  const base = chooseBase(input, sloMs, explicitR !== undefined);
  if (!base.ok) return base;
  const { smRequest, smLimit } = reconcileSm(
    base.base.size,
    explicitR,
    settings.smLimit,
    input.defaults,
  );
  const batch = settings.batch ?? base.base.size.batch;
  return {
    ok: true,
    decision: {
      batch,
      smRequest,
      smLimit,
      memoryMiB: Math.ceil(memoryFor(input, base.base.size, batch)),
      sloMs,
      class: settings.class,
      source: explicitR !== undefined ? 'explicit' : base.base.source,
      needsProfile: input.profile === undefined,
      basis: base.base.basis,
    },
  };
}

/**
 * A user-fixed request r keeps the base limit if that is higher, else gets the default
 * overcommit over r; a user-fixed limit l caps the base request. Always 1 <= r <= l <= 100.
 */
function reconcileSm(
  size: InstanceSize,
  explicitR: number | undefined,
  explicitL: number | undefined,
  defaults: DecisionDefaults,
): { smRequest: number; smLimit: number } {
  const overcommitted = (r: number): number =>
    Math.max(size.smLimit, Math.min(100, Math.ceil(r * defaults.limitFactor)));
  const l = explicitL ?? (explicitR === undefined ? size.smLimit : overcommitted(explicitR));
  const r = explicitR ?? Math.min(size.smRequest, l);
  return { smRequest: r, smLimit: Math.max(l, r) };
}

/** Memory: user-fixed, else the base's, else the profile's figure for the batch, else default. */
function memoryFor(input: DecideInput, size: InstanceSize, batch: number): number {
  const explicit = input.settings.memoryMiB ?? input.requested.memoryMiB;
  if (explicit !== undefined) return explicit;
  if (size.memoryMiB !== undefined) return size.memoryMiB;
  const profile = input.profile;
  return (
    profile?.predictor().memoryMiB(batch) ?? profile?.profile.memoryMiB ?? input.defaults.memoryMiB
  );
}

function chooseBase(
  input: DecideInput,
  sloMs: number | undefined,
  userFixedRequest: boolean,
): { ok: true; base: Base } | { ok: false; error: FieldError } {
  const { settings, defaults, profile } = input;
  if (input.instanceDecision) {
    const d = input.instanceDecision;
    return {
      ok: true,
      base: { size: d, source: 'decision', basis: 'the autoscaler’s instance decision' },
    };
  }
  const fallback: Base = {
    size: {
      batch: defaults.batch,
      smRequest: defaults.smRequest,
      smLimit: defaults.smLimit,
      memoryMiB: undefined,
    },
    source: 'default',
    basis: profile
      ? `defaults (profile ${profile.key} but no SLO)`
      : 'defaults (no FunctionProfile)',
  };
  if (!profile) return { ok: true, base: fallback };

  if (settings.class === 'latency-critical' && sloMs !== undefined) {
    const rec = matchingRecommendation(profile.recommendations, sloMs, settings.batch);
    if (rec) {
      return {
        ok: true,
        base: {
          size: rec,
          source: 'profile',
          basis: `profile ${profile.key} recommendation for ${sloMs} ms`,
        },
      };
    }
  }
  if (settings.class === 'latency-critical' && sloMs === undefined) {
    return { ok: true, base: fallback };
  }
  const sized = memoSizing(profile, input, sloMs);
  if (sized.ok) {
    const what = settings.class === 'best-effort' ? 'best-effort knee' : `${sloMs} ms SLO`;
    return {
      ok: true,
      base: {
        size: sized.size,
        source: 'profile',
        basis: `profile ${profile.key} sized for ${what}`,
      },
    };
  }
  if (userFixedRequest) return { ok: true, base: fallback };
  return {
    ok: false,
    error: fieldError(annotationField(USER_ANNOTATIONS.sloMs), sized.reason),
  };
}

function matchingRecommendation(
  recs: readonly ProfileRecommendation[],
  sloMs: number,
  batch: number | undefined,
): InstanceSize | undefined {
  const rec = recs.find(r => r.sloMs === sloMs && (batch === undefined || r.batch === batch));
  if (!rec) return undefined;
  return {
    batch: rec.batch,
    smRequest: rec.smRequest,
    smLimit: Math.max(rec.smLimit, rec.smRequest),
    memoryMiB: rec.memoryMiB,
  };
}

/** Sizing costs a few hundred predictions; a function's pods share the answer. */
function memoSizing(
  entry: ProfileEntry,
  input: DecideInput,
  sloMs: number | undefined,
): SizingResult {
  const { settings, requested } = input;
  const fixed = {
    batch: settings.batch,
    smRequest: settings.smRequest ?? requested.smRequest,
    smLimit: settings.smLimit,
    memoryMiB: settings.memoryMiB ?? requested.memoryMiB,
  };
  const key = `sizing:${settings.class}:${String(sloMs)}:${JSON.stringify(fixed)}`;
  const hit = entry.memo.get(key) as SizingResult | undefined;
  if (hit) return hit;
  const result = input.sizing({
    predictor: entry.predictor(),
    class: settings.class,
    sloMs,
    fixed,
  });
  entry.memo.set(key, result);
  return result;
}

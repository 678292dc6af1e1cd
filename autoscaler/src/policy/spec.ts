import { z } from 'zod';
import { SM_PERCENT_MAX, SM_PERCENT_MIN } from '../model/index.js';
import type { PolicyKnobs } from './knobs.js';
import { policyKnobsSchema } from './knobs.js';
import { fromZodError } from './policy-error.js';

export const FUNCTION_CLASSES = ['latency-critical', 'best-effort'] as const;
export type FunctionClass = (typeof FUNCTION_CLASSES)[number];

const sm = z.number().int().min(SM_PERCENT_MIN).max(SM_PERCENT_MAX);
const replicas = z.number().int().min(0);

/**
 * What the user asked for, per function: the SLO and class (dilu.dev annotations), the
 * Knative/OpenFaaS scale bounds, values pinned by explicit annotations, and policy knobs.
 */
export const functionSpecSchema = z
  .strictObject({
    name: z.string().min(1),
    /** Latency SLO of one request (dilu.dev/slo-ms). Required for latency-critical. */
    sloMs: z.number().positive().max(600000).optional(),
    class: z.enum(FUNCTION_CLASSES).default('latency-critical'),
    /** Knative min-scale / max-scale (0 = unlimited) / initial-scale. */
    minScale: replicas.default(0),
    maxScale: replicas.default(0),
    initialScale: replicas.default(1),
    /** Whether the function may scale to zero (Knative enable-scale-to-zero with min-scale 0). */
    scaleToZero: z.boolean().default(true),
    /** Instance values pinned by explicit annotations (dilu.dev/batch, sm, sm-limit, gpu-memory). */
    fixed: z
      .strictObject({
        batch: z.number().int().min(1).max(4096).optional(),
        smRequest: sm.optional(),
        smLimit: sm.optional(),
        memoryMiB: z.number().positive().optional(),
      })
      .default({}),
    /** Instance GPU memory when neither the profile nor `fixed` says. */
    memoryMiB: z.number().positive().optional(),
    knobs: policyKnobsSchema.default(policyKnobsSchema.parse({})),
  })
  .superRefine((s, ctx) => {
    const issue = (path: string, message: string): void => {
      ctx.addIssue({ code: 'custom', path: [path], message });
    };
    if (s.class === 'latency-critical' && s.sloMs === undefined) {
      issue('sloMs', 'is required for a latency-critical function');
    }
    if (s.maxScale !== 0 && s.minScale > s.maxScale) {
      issue('minScale', `must be <= maxScale (${s.maxScale}), got ${s.minScale}`);
    }
    if (s.maxScale !== 0 && s.initialScale > s.maxScale) {
      issue('initialScale', `must be <= maxScale (${s.maxScale}), got ${s.initialScale}`);
    }
    if (s.initialScale === 0 && !s.scaleToZero) {
      issue('initialScale', 'may be 0 only when scaleToZero is allowed');
    }
    const { smRequest, smLimit } = s.fixed;
    if (smRequest !== undefined && smLimit !== undefined && smRequest > smLimit) {
      issue('fixed', `smRequest (${smRequest}) must be <= smLimit (${smLimit})`);
    }
  });

export type FunctionSpecInput = z.input<typeof functionSpecSchema>;

export interface FixedInstanceValues {
  readonly batch?: number | undefined;
  readonly smRequest?: number | undefined;
  readonly smLimit?: number | undefined;
  readonly memoryMiB?: number | undefined;
}

export interface FunctionSpec {
  readonly name: string;
  readonly sloMs?: number | undefined;
  readonly class: FunctionClass;
  readonly minScale: number;
  readonly maxScale: number;
  readonly initialScale: number;
  readonly scaleToZero: boolean;
  readonly fixed: FixedInstanceValues;
  readonly memoryMiB?: number | undefined;
  readonly knobs: PolicyKnobs;
}

/**
 * Validates a function's spec once (when the function appears or its annotations change),
 * so the per-tick decision does no schema work. Errors name the field and the rule.
 */
export function parseFunctionSpec(input: unknown, field = 'spec'): FunctionSpec {
  const r = functionSpecSchema.safeParse(input);
  if (!r.success) throw fromZodError(field, r.error);
  const s = r.data;
  return Object.freeze({
    ...s,
    fixed: Object.freeze({ ...s.fixed }),
    knobs: sharedKnobs(s.knobs),
  });
}

// Functions with the same knobs share one frozen object: every decision reads dozens of
// knobs, and one object for a fleet of 10,000 stays in the CPU cache where 10,000 copies
// do not. Bounded, so distinct per-function knobs cannot grow it without limit.
const KNOB_SETS_MAX = 256;
const knobSets = new Map<string, PolicyKnobs>();

function sharedKnobs(knobs: PolicyKnobs): PolicyKnobs {
  // Non-finite numbers would all print as null.
  const key = JSON.stringify(knobs, (_k, v: unknown) =>
    typeof v === 'number' && !Number.isFinite(v) ? String(v) : v,
  );
  const hit = knobSets.get(key);
  if (hit !== undefined) return hit;
  const frozen = Object.freeze({ ...knobs });
  if (knobSets.size < KNOB_SETS_MAX) knobSets.set(key, frozen);
  return frozen;
}

/** The scale bounds as the decision applies them (maxScale 0 means unlimited). */
export function scaleBounds(spec: FunctionSpec): { readonly lo: number; readonly hi: number } {
  const zeroAllowed = spec.scaleToZero && spec.minScale === 0;
  return {
    lo: zeroAllowed ? 0 : Math.max(1, spec.minScale),
    hi: spec.maxScale === 0 ? Number.POSITIVE_INFINITY : spec.maxScale,
  };
}

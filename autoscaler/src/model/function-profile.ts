import { z } from 'zod';
import yaml from 'js-yaml';
import type { FunctionProfile, ProfilePoint } from './profile.js';
import { SM_PERCENT_MAX, SM_PERCENT_MIN } from './profile.js';
import { ProfileError } from './profile-error.js';
import { validatePoints } from './validate-points.js';
import { lineAtPath, loadYamlWithLines } from './yaml-with-lines.js';

export const FUNCTION_PROFILE_API_VERSION = 'dilu.dev/v1alpha1';
export const FUNCTION_PROFILE_KIND = 'FunctionProfile';

const positive = z.number().positive();

const pointSchema = z.strictObject({
  batch: z.number().int().min(1),
  smPercent: z.number().min(SM_PERCENT_MIN).max(SM_PERCENT_MAX),
  latencyMs: positive,
  throughputRps: positive,
  memoryMiB: positive.optional(),
});

const recommendationSchema = z.strictObject({
  sloMs: positive,
  batch: z.number().int().min(1),
  smRequest: z.number().int().min(SM_PERCENT_MIN).max(SM_PERCENT_MAX),
  smLimit: z.number().int().min(SM_PERCENT_MIN).max(SM_PERCENT_MAX),
  memoryMiB: positive.optional(),
  throughputRps: positive,
  probes: z.number().int().min(0).optional(),
});

/**
 * The FunctionProfile custom resource (dilu.dev/v1alpha1). `spec` holds measurements;
 * `status` holds what the profiler or the autoscaler derived from them. The CRD in
 * manifests/ carries the same schema as OpenAPI.
 */
export const functionProfileSchema = z.object({
  apiVersion: z.literal(FUNCTION_PROFILE_API_VERSION),
  kind: z.literal(FUNCTION_PROFILE_KIND),
  metadata: z.looseObject({
    name: z.string().min(1),
    namespace: z.string().min(1).optional(),
  }),
  spec: z.strictObject({
    /** Model or framework description, free text. */
    model: z.string().optional(),
    /** GPU model the points were measured on, as nvidia-smi names it. */
    gpuModel: z.string().min(1),
    /** Instance GPU memory footprint, used when a point has no memoryMiB. */
    memoryMiB: positive.optional(),
    /** Seconds from container start to serving: the cold start the autoscaler plans for. */
    modelLoadSeconds: z.number().min(0).optional(),
    points: z.array(pointSchema).min(1),
  }),
  status: z
    .looseObject({
      recommendations: z.array(recommendationSchema).optional(),
    })
    .optional(),
});

export type FunctionProfileResource = z.infer<typeof functionProfileSchema>;
export type ProfileRecommendation = z.infer<typeof recommendationSchema>;

/** Parses a FunctionProfile YAML document; errors name the file, the line and the rule. */
export function parseFunctionProfileYaml(text: string, file: string): FunctionProfile {
  let loaded;
  try {
    loaded = loadYamlWithLines(text, file);
  } catch (err) {
    const mark = (err as { mark?: { line?: number } }).mark;
    const reason = (err as { reason?: string }).reason ?? String(err);
    const line = mark?.line === undefined ? undefined : mark.line + 1;
    throw new ProfileError(file, line, `not valid YAML: ${reason}`, { cause: err });
  }
  return functionProfileFromObject(loaded.doc, file, loaded.lineOf);
}

/**
 * Validates an already-decoded FunctionProfile (from YAML, or from the API server) and turns
 * it into the model's FunctionProfile.
 */
export function functionProfileFromObject(
  doc: unknown,
  file: string,
  lineOf: (node: unknown) => number | undefined = () => undefined,
): FunctionProfile {
  const parsed = functionProfileSchema.safeParse(doc);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const path = issue?.path ?? [];
    const line = lineAtPath(doc, path, lineOf);
    const field = path.length > 0 ? path.map(String).join('.') : '(document)';
    throw new ProfileError(file, line, `${field}: ${issue?.message ?? 'invalid'}`);
  }
  const rawPoints = (doc as { spec: { points: unknown[] } }).spec.points;
  const points: ProfilePoint[] = parsed.data.spec.points.map((p, i) => ({
    ...p,
    line: lineOf(rawPoints[i]),
  }));
  validatePoints(file, points);
  return {
    name: parsed.data.metadata.name,
    source: file,
    gpuModel: parsed.data.spec.gpuModel,
    memoryMiB: parsed.data.spec.memoryMiB,
    modelLoadSeconds: parsed.data.spec.modelLoadSeconds,
    points,
  };
}

/** Serialises a profile (and optional recommendations) as a FunctionProfile resource. */
export function toFunctionProfileResource(
  profile: FunctionProfile,
  recommendations: readonly ProfileRecommendation[] = [],
): FunctionProfileResource {
  const resource: FunctionProfileResource = {
    apiVersion: FUNCTION_PROFILE_API_VERSION,
    kind: FUNCTION_PROFILE_KIND,
    metadata: { name: profile.name },
    spec: {
      gpuModel: profile.gpuModel ?? 'unknown',
      ...(profile.memoryMiB === undefined ? {} : { memoryMiB: profile.memoryMiB }),
      ...(profile.modelLoadSeconds === undefined
        ? {}
        : { modelLoadSeconds: profile.modelLoadSeconds }),
      points: profile.points.map(p => ({
        batch: p.batch,
        smPercent: p.smPercent,
        latencyMs: p.latencyMs,
        throughputRps: p.throughputRps,
        ...(p.memoryMiB === undefined ? {} : { memoryMiB: p.memoryMiB }),
      })),
    },
  };
  if (recommendations.length > 0) resource.status = { recommendations: [...recommendations] };
  return resource;
}

export function dumpFunctionProfileYaml(resource: FunctionProfileResource): string {
  return yaml.dump(resource, { noRefs: true, lineWidth: 100 });
}

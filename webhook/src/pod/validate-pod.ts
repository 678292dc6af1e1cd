import { posix } from 'node:path';
import type { Container, Pod } from './pod-types.js';
import {
  DEVICE_PLUGIN_ENV,
  GENERIC_RESOURCES,
  LABELS,
  MPS_ENV_PREFIX,
  PER_GPU_RESOURCE,
  PREFIX,
  USER_ANNOTATIONS,
  WEBHOOK_ENV,
} from '../keys.js';
import type { FieldError } from './field-error.js';
import { annotationField, fieldError, labelField } from './field-error.js';
import { parseIntegerQuantity } from './quantity.js';
import type { UserSettings } from './user-settings.js';

export interface PodRules {
  /** Host directories of the MPS pipes and Dilu's state; a pod may not mount them or a parent. */
  readonly mpsHostDirs: readonly string[];
  /** Paths inside the container where the device plugin mounts MPS pipes and the quota dir. */
  readonly mpsContainerDirs: readonly string[];
  /** MiB per `dilu.dev/gpu<i>-mem` device, to read a directly requested per-GPU memory. */
  readonly memoryUnitMiB: number;
}

/** What the GPU container's resources ask for, folded into the same terms as the annotations. */
export interface RequestedResources {
  readonly smRequest?: number;
  readonly memoryMiB?: number;
}

export interface PodCheck {
  readonly errors: readonly FieldError[];
  readonly requested: RequestedResources;
}

const WEBHOOK_ENV_NAMES: ReadonlySet<string> = new Set(Object.values(WEBHOOK_ENV));
const DEVICE_PLUGIN_ENV_NAMES: ReadonlySet<string> = new Set(DEVICE_PLUGIN_ENV);

/**
 * Checks a pod for what would break GPU isolation or make the decision ambiguous, and reports
 * every problem with the field at fault. `previouslyMutated` (the pod carries a
 * `dilu.dev/decision`) means the webhook's own env and per-GPU resources are present because an
 * earlier admission wrote them: those are replaced, not refused.
 */
export function checkPod(
  pod: Pod,
  gpuContainerIndex: number,
  settings: UserSettings,
  previouslyMutated: boolean,
  rules: PodRules,
): PodCheck {
  const errors: FieldError[] = [];
  const spec = pod.spec;
  if (spec?.nodeName) {
    errors.push(
      fieldError(
        'spec.nodeName',
        'a pod bound to a node at creation bypasses GPU placement; remove spec.nodeName',
      ),
    );
  }
  checkEnabledLabel(pod, errors);
  checkHostPaths(pod, rules, errors);

  const containers = spec?.containers ?? [];
  containers.forEach((c, i) => {
    const path = `spec.containers[${i}]`;
    const isGpu = i === gpuContainerIndex;
    checkEnv(c, path, isGpu && previouslyMutated, isGpu, errors);
    checkMounts(c, path, rules, errors);
    if (!isGpu) checkNoDiluResources(c, path, errors, containers[gpuContainerIndex]?.name);
  });
  (spec?.initContainers ?? []).forEach((c, i) => {
    const path = `spec.initContainers[${i}]`;
    checkEnv(c, path, false, false, errors);
    checkMounts(c, path, rules, errors);
    checkNoDiluResources(c, path, errors, containers[gpuContainerIndex]?.name);
  });

  const gpu = containers[gpuContainerIndex];
  let requested: RequestedResources = {};
  if (gpu) {
    const path = `spec.containers[${gpuContainerIndex}]`;
    if (gpu.securityContext?.privileged === true) {
      errors.push(
        fieldError(
          `${path}.securityContext.privileged`,
          `container "${gpu.name}" would see every GPU and bypass its MPS limits; privileged GPU containers are not allowed`,
        ),
      );
    }
    requested = readGpuResources(gpu, path, previouslyMutated, rules, errors);
    checkAgainstAnnotations(requested, settings, path, errors);
  }
  return { errors, requested };
}

function checkEnabledLabel(pod: Pod, errors: FieldError[]): void {
  const v = pod.metadata?.labels?.[LABELS.enabled];
  if (v !== undefined && v !== 'true' && v !== 'false') {
    errors.push(fieldError(labelField(LABELS.enabled), `must be "true" or "false", got "${v}"`));
  }
}

function checkEnv(
  c: Container,
  path: string,
  ownEnvPresent: boolean,
  isGpu: boolean,
  errors: FieldError[],
): void {
  (c.env ?? []).forEach((e, j) => {
    const field = `${path}.env[${j}].name`;
    const ours = WEBHOOK_ENV_NAMES.has(e.name);
    if (ours && ownEnvPresent) return;
    if (e.name.startsWith(MPS_ENV_PREFIX)) {
      errors.push(
        fieldError(
          field,
          `container "${c.name}" sets ${e.name}; CUDA_MPS_* variables are set by the webhook and the device plugin and may not be overridden (use dilu.dev/sm-limit to choose the SM limit)`,
        ),
      );
    } else if (DEVICE_PLUGIN_ENV_NAMES.has(e.name)) {
      errors.push(
        fieldError(field, `container "${c.name}" sets ${e.name}, which the device plugin sets`),
      );
    } else if (ours && isGpu) {
      errors.push(
        fieldError(
          field,
          `container "${c.name}" sets ${e.name}, which the webhook sets from the decision; use the dilu.dev annotations (dilu.dev/batch, dilu.dev/slo-ms, dilu.dev/sm, dilu.dev/sm-limit, dilu.dev/gpu-memory) instead`,
        ),
      );
    }
  });
}

function normalize(p: string): string {
  const n = posix.normalize(p);
  return n.length > 1 ? n.replace(/\/+$/, '') : n;
}

/** True when `outer` is `inner` or one of its parents. */
function covers(outer: string, inner: string): boolean {
  const o = normalize(outer);
  const i = normalize(inner);
  return o === i || o === '/' || i.startsWith(`${o}/`);
}

function checkHostPaths(pod: Pod, rules: PodRules, errors: FieldError[]): void {
  (pod.spec?.volumes ?? []).forEach((v, i) => {
    const hostPath = v.hostPath?.path;
    if (hostPath === undefined) return;
    const hit = rules.mpsHostDirs.find(d => covers(hostPath, d) || covers(d, hostPath));
    if (hit !== undefined) {
      errors.push(
        fieldError(
          `spec.volumes[${i}].hostPath.path`,
          `volume "${v.name}" mounts ${hostPath}, which exposes the MPS pipe / Dilu state directory ${hit}; the device plugin mounts what a GPU container needs`,
        ),
      );
    }
  });
}

function checkMounts(c: Container, path: string, rules: PodRules, errors: FieldError[]): void {
  (c.volumeMounts ?? []).forEach((m, j) => {
    // Mounting over one of these dirs (or inside it) would shadow what the device plugin
    // mounts there; a parent dir is fine, the plugin's mount nests on top of it.
    const hit = rules.mpsContainerDirs.find(d => covers(d, m.mountPath));
    if (hit !== undefined) {
      errors.push(
        fieldError(
          `${path}.volumeMounts[${j}].mountPath`,
          `container "${c.name}" mounts a volume at ${m.mountPath}, where the device plugin mounts the MPS pipe / quota directory (${hit})`,
        ),
      );
    }
  });
}

function diluResourceKeys(c: Container): { key: string; where: 'limits' | 'requests' }[] {
  const out: { key: string; where: 'limits' | 'requests' }[] = [];
  for (const where of ['limits', 'requests'] as const) {
    for (const key of Object.keys(c.resources?.[where] ?? {})) {
      if (key.startsWith(PREFIX)) out.push({ key, where });
    }
  }
  return out;
}

function checkNoDiluResources(
  c: Container,
  path: string,
  errors: FieldError[],
  gpuName: string | undefined,
): void {
  for (const { key, where } of diluResourceKeys(c)) {
    errors.push(
      fieldError(
        `${path}.resources.${where}[${key}]`,
        `container "${c.name}" is not the GPU container${gpuName ? ` ("${gpuName}")` : ''}; only it may request dilu.dev resources (name another with dilu.dev/gpu-container)`,
      ),
    );
  }
}

interface ResourceValue {
  readonly field: string;
  readonly value: number;
}

/** Reads `limits`/`requests` of the GPU container; both must agree where both are given. */
function resourceValues(
  c: Container,
  path: string,
  errors: FieldError[],
): Map<string, ResourceValue> {
  const values = new Map<string, ResourceValue>();
  for (const where of ['limits', 'requests'] as const) {
    const map = c.resources?.[where] ?? {};
    for (const [key, raw] of Object.entries(map)) {
      if (!key.startsWith(PREFIX) && key !== 'nvidia.com/gpu') continue;
      const field = `${path}.resources.${where}[${key}]`;
      const q = parseIntegerQuantity(raw);
      if (!q.ok) {
        errors.push(fieldError(field, q.reason));
        continue;
      }
      const prior = values.get(key);
      if (prior && prior.value !== q.value) {
        errors.push(
          fieldError(field, `must equal ${prior.field} (${prior.value}), got ${q.value}`),
        );
        continue;
      }
      if (!prior) values.set(key, { field, value: q.value });
    }
  }
  return values;
}

interface Accumulated {
  smRequest?: number;
  memoryMiB?: number;
  readonly indices: Map<number, string>;
}

function readGpuResources(
  c: Container,
  path: string,
  previouslyMutated: boolean,
  rules: PodRules,
  errors: FieldError[],
): RequestedResources {
  const acc: Accumulated = { indices: new Map() };
  for (const [key, { field, value }] of resourceValues(c, path, errors)) {
    readOne({ c, key, field, value, previouslyMutated, rules }, acc, errors);
  }
  if (acc.indices.size > 1) {
    errors.push(
      fieldError(
        [...acc.indices.values()].join(', '),
        `requests resources of GPU indices ${[...acc.indices.keys()].join(' and ')}; a pod holds resources of exactly one GPU index`,
      ),
    );
  }
  return {
    ...(acc.smRequest === undefined ? {} : { smRequest: acc.smRequest }),
    ...(acc.memoryMiB === undefined ? {} : { memoryMiB: acc.memoryMiB }),
  };
}

function smInRange(value: number, field: string, errors: FieldError[]): boolean {
  if (value >= 1 && value <= 100) return true;
  errors.push(fieldError(field, `must be in 1..100, got ${value}`));
  return false;
}

function readOne(
  r: {
    c: Container;
    key: string;
    field: string;
    value: number;
    previouslyMutated: boolean;
    rules: PodRules;
  },
  acc: Accumulated,
  errors: FieldError[],
): void {
  const { key, field, value } = r;
  if (key === 'nvidia.com/gpu') {
    if (value > 0) {
      errors.push(
        fieldError(
          field,
          `container "${r.c.name}" gets its GPU share from dilu.dev resources; remove nvidia.com/gpu`,
        ),
      );
    }
  } else if (key === GENERIC_RESOURCES.sm) {
    if (smInRange(value, field, errors))
      acc.smRequest = pickOne(acc.smRequest, value, field, errors);
  } else if (key === GENERIC_RESOURCES.gpuMemory) {
    if (value >= 1) acc.memoryMiB = pickOne(acc.memoryMiB, value, field, errors);
    else errors.push(fieldError(field, `must be a number of MiB >= 1, got ${value}`));
  } else {
    readPerGpu(r, acc, errors);
  }
}

function readPerGpu(
  r: { key: string; field: string; value: number; previouslyMutated: boolean; rules: PodRules },
  acc: Accumulated,
  errors: FieldError[],
): void {
  const { field, value } = r;
  const m = PER_GPU_RESOURCE.exec(r.key);
  if (!m) {
    errors.push(
      fieldError(
        field,
        `unknown dilu.dev resource (allowed: ${GENERIC_RESOURCES.sm}, ${GENERIC_RESOURCES.gpuMemory}, dilu.dev/gpu<i>-sm, dilu.dev/gpu<i>-mem)`,
      ),
    );
    return;
  }
  const index = Number(m[1]);
  if (!acc.indices.has(index)) acc.indices.set(index, field);
  // A previous admission wrote these; the new placement replaces them.
  if (r.previouslyMutated) return;
  if (m[2] === 'sm') {
    if (smInRange(value, field, errors))
      acc.smRequest = pickOne(acc.smRequest, value, field, errors);
  } else if (value >= 1) {
    acc.memoryMiB = pickOne(acc.memoryMiB, value * r.rules.memoryUnitMiB, field, errors);
  } else {
    errors.push(fieldError(field, `must be at least 1 memory unit, got ${value}`));
  }
}

function pickOne(
  prior: number | undefined,
  value: number,
  field: string,
  errors: FieldError[],
): number {
  if (prior !== undefined && prior !== value) {
    errors.push(
      fieldError(
        field,
        `conflicts with the generic dilu.dev request of the same container (${prior})`,
      ),
    );
  }
  return value;
}

function checkAgainstAnnotations(
  requested: RequestedResources,
  settings: UserSettings,
  path: string,
  errors: FieldError[],
): void {
  if (
    requested.smRequest !== undefined &&
    settings.smRequest !== undefined &&
    requested.smRequest !== settings.smRequest
  ) {
    errors.push(
      fieldError(
        annotationField(USER_ANNOTATIONS.sm),
        `is ${settings.smRequest} but ${path}.resources asks for ${requested.smRequest}; give one, or the same value`,
      ),
    );
  }
  if (
    requested.memoryMiB !== undefined &&
    settings.memoryMiB !== undefined &&
    requested.memoryMiB !== settings.memoryMiB
  ) {
    errors.push(
      fieldError(
        annotationField(USER_ANNOTATIONS.gpuMemory),
        `is ${settings.memoryMiB} MiB but ${path}.resources asks for ${requested.memoryMiB} MiB; give one, or the same value`,
      ),
    );
  }
  if (
    requested.smRequest !== undefined &&
    settings.smLimit !== undefined &&
    settings.smLimit < requested.smRequest
  ) {
    errors.push(
      fieldError(
        annotationField(USER_ANNOTATIONS.smLimit),
        `must be at least the SM request ${requested.smRequest} of ${path}.resources, got ${settings.smLimit}`,
      ),
    );
  }
}

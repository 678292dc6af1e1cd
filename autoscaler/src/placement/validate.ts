import { PlacementError } from './placement-error.js';
import type { InstanceChange, InstanceRequest, InstanceSpec, NodeSpec } from './types.js';
import { GPU_SM_PERCENT, INSTANCE_CLASSES } from './types.js';

// Hand-written rather than zod: these run on every placement (thousands per simulated second)
// and the messages name the exact rule, e.g. "smLimit must be >= smRequest (30), got 20".

function fail(field: string, rule: string): never {
  throw new PlacementError(field, rule);
}

function show(v: unknown): string {
  return typeof v === 'string' ? `'${v}'` : String(v);
}

function checkId(field: string, v: unknown): void {
  if (typeof v !== 'string' || v.trim() === '')
    fail(field, `must be a non-empty string, got ${show(v)}`);
}

function checkPercent(field: string, v: unknown, min: number, minInclusive: boolean): void {
  if (typeof v !== 'number' || !Number.isFinite(v))
    fail(field, `must be a finite number, got ${show(v)}`);
  const low = minInclusive ? v < min : v <= min;
  if (low || v > GPU_SM_PERCENT) {
    fail(field, `must be within ${minInclusive ? '[' : '('}${min}, ${GPU_SM_PERCENT}], got ${v}`);
  }
}

function checkMemory(field: string, v: unknown): void {
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) {
    fail(field, `must be a finite number of MiB > 0, got ${show(v)}`);
  }
}

/** Checks r, l, m and class; throws a PlacementError naming the first bad field. */
export function validateInstanceRequest(req: InstanceRequest): void {
  checkId('functionId', req.functionId);
  if (!(INSTANCE_CLASSES as readonly unknown[]).includes(req.class)) {
    fail('class', `must be one of ${INSTANCE_CLASSES.join(', ')}, got ${show(req.class)}`);
  }
  checkPercent('smRequest', req.smRequest, 0, true);
  checkPercent('smLimit', req.smLimit, 0, false);
  if (req.smLimit < req.smRequest) {
    fail('smLimit', `must be >= smRequest (${req.smRequest}), got ${req.smLimit}`);
  }
  checkMemory('memoryMiB', req.memoryMiB);
  if (req.gpuModels !== undefined) {
    const models: unknown = req.gpuModels;
    if (!Array.isArray(models)) fail('gpuModels', 'must be an array of model names');
    req.gpuModels.forEach((m, i) => {
      checkId(`gpuModels[${i}]`, m);
    });
  }
}

export function validateInstanceSpec(spec: InstanceSpec): void {
  checkId('id', spec.id);
  validateInstanceRequest(spec);
}

/** Checks a resize against the instance's current values (the merged result must be valid). */
export function validateInstanceChange(
  current: InstanceRequest,
  change: InstanceChange,
): InstanceRequest {
  const merged: InstanceRequest = {
    ...current,
    smRequest: change.smRequest ?? current.smRequest,
    smLimit: change.smLimit ?? current.smLimit,
    memoryMiB: change.memoryMiB ?? current.memoryMiB,
  };
  validateInstanceRequest(merged);
  return merged;
}

export function validateNodeSpec(node: NodeSpec): void {
  checkId('id', node.id);
  const gpus: unknown = node.gpus;
  if (!Array.isArray(gpus)) fail('gpus', 'must be an array of GPUs');
  node.gpus.forEach((g, i) => {
    checkId(`gpus[${i}].model`, g.model);
    checkMemory(`gpus[${i}].memoryMiB`, g.memoryMiB);
  });
}

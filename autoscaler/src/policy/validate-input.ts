import { SM_PERCENT_MAX, SM_PERCENT_MIN } from '../model/index.js';
import { PolicyInputError } from './policy-error.js';
import type { DecisionInput, ExecutionObservation, InstanceView } from './types.js';

/**
 * The per-tick checks: plain comparisons, no schema library, so that validating 10,000
 * functions costs microseconds. The spec and knobs were validated once by parseFunctionSpec.
 */
export function validateDecisionInput(input: DecisionInput): void {
  const { nowS, state, load } = input;
  if (!Number.isFinite(nowS)) fail('nowS', `must be a finite number of seconds, got ${nowS}`);
  const last = state?.lastTickS ?? null;
  if (last !== null && nowS < last) {
    fail('nowS', `must not go backwards: previous decision at ${last}, got ${nowS}`);
  }
  validateLoad(load);
  const { instances } = input;
  for (let i = 0; i < instances.length; i++) {
    const inst = instances[i];
    if (inst !== undefined) validateInstance(inst, i);
  }
  checkUniqueIds(instances);
}

function validateLoad(load: DecisionInput['load']): void {
  const samples = load.samples;
  if (samples !== undefined) {
    for (let i = 0; i < samples.length; i++) {
      const v = samples[i];
      if (v === undefined || !Number.isFinite(v) || v < 0) {
        fail(`load.samples[${i}]`, `must be a finite rate >= 0 rps, got ${String(v)}`);
      }
    }
  }
  const p95 = load.p95LatencyMs;
  if (p95 !== undefined && !(Number.isFinite(p95) && p95 > 0)) {
    fail('load.p95LatencyMs', `must be a finite latency > 0 ms, got ${p95}`);
  }
  const waiting = load.waiting;
  if (waiting !== undefined && !(Number.isFinite(waiting) && waiting >= 0)) {
    fail('load.waiting', `must be a finite count >= 0, got ${waiting}`);
  }
  const execution = load.execution;
  if (execution !== undefined) {
    for (let i = 0; i < execution.length; i++) {
      const e = execution[i];
      if (e !== undefined) validateExecution(e, i);
    }
  }
}

function validateExecution(e: ExecutionObservation, i: number): void {
  const at = `load.execution[${i}]`;
  if (!inSmRange(e.smLimit, SM_PERCENT_MIN)) {
    fail(
      `${at}.smLimit`,
      `must be within ${SM_PERCENT_MIN}..${SM_PERCENT_MAX} %, got ${e.smLimit}`,
    );
  }
  if (!Number.isInteger(e.batches) || e.batches < 0) {
    fail(`${at}.batches`, `must be an integer >= 0, got ${e.batches}`);
  }
  if (!Number.isFinite(e.requests) || e.requests < e.batches) {
    fail(`${at}.requests`, `must be a finite count >= batches (${e.batches}), got ${e.requests}`);
  }
  if (!Number.isFinite(e.busySeconds) || e.busySeconds < 0) {
    fail(`${at}.busySeconds`, `must be a finite number of seconds >= 0, got ${e.busySeconds}`);
  }
}

function validateInstance(x: InstanceView, index: number): void {
  if (typeof x.id !== 'string' || x.id.length === 0)
    fail(`instances[${index}].id`, 'must be a non-empty string');
  if (!Number.isInteger(x.batch) || x.batch < 1) {
    fail(`instances[${index}].batch`, `must be an integer >= 1, got ${x.batch}`);
  }
  if (!inSmRange(x.smRequest, SM_PERCENT_MIN)) {
    fail(
      `instances[${index}].smRequest`,
      `must be within ${SM_PERCENT_MIN}..${SM_PERCENT_MAX} %, got ${x.smRequest}`,
    );
  }
  if (!inSmRange(x.smLimit, x.smRequest)) {
    fail(
      `instances[${index}].smLimit`,
      `must be within smRequest..${SM_PERCENT_MAX} %, got ${x.smLimit}`,
    );
  }
  if (!Number.isFinite(x.quota) || x.quota < x.smRequest || x.quota > x.smLimit) {
    fail(
      `instances[${index}].quota`,
      `must be within smRequest..smLimit (${x.smRequest}..${x.smLimit}), got ${x.quota}`,
    );
  }
  if (!Number.isFinite(x.quotaHeadroom) || x.quotaHeadroom < 0) {
    fail(
      `instances[${index}].quotaHeadroom`,
      `must be a finite number >= 0, got ${x.quotaHeadroom}`,
    );
  }
  if (typeof x.ready !== 'boolean') fail(`instances[${index}].ready`, 'must be true or false');
}

function inSmRange(v: number, lo: number): boolean {
  return Number.isFinite(v) && v >= lo && v <= SM_PERCENT_MAX;
}

function checkUniqueIds(instances: readonly InstanceView[]): void {
  if (instances.length < 2) return;
  if (instances.length <= 32) {
    for (let i = 1; i < instances.length; i++) {
      for (let j = 0; j < i; j++) {
        if (instances[i]?.id === instances[j]?.id) duplicate(i, instances[i]?.id);
      }
    }
    return;
  }
  const seen = new Set<string>();
  instances.forEach((x, i) => {
    if (seen.has(x.id)) duplicate(i, x.id);
    seen.add(x.id);
  });
}

function duplicate(i: number, id: string | undefined): never {
  return fail(`instances[${i}].id`, `duplicate instance id '${String(id)}'`);
}

function fail(field: string, rule: string): never {
  throw new PolicyInputError(field, rule);
}

// Shared by the policy's tests (not exported from the package index).
import { fileURLToPath } from 'node:url';
import type { FunctionProfile, Predictor } from '../model/index.js';
import { createPredictor, loadProfile } from '../model/index.js';
import type { FunctionSpecInput } from './spec.js';
import { parseFunctionSpec } from './spec.js';
import type { FunctionSpec } from './spec.js';
import { createPolicyState } from './state.js';
import type { InstanceView, PolicyState } from './types.js';
import type { SizingHandle } from './sizer.js';
import { createInstanceSizer } from './sizer.js';
import { resolveKnobs } from './knobs.js';
import type { PolicyKnobOverrides } from './knobs.js';

export const BUNDLED_DIR = fileURLToPath(
  new URL('../../data/profiles/dilu-a100/', import.meta.url),
);

const predictors = new Map<string, Predictor>();

/** Predictor of a bundled A100 profile (resnet152, bert_base, llama2), built once. */
export function bundledPredictor(model: string, modelLoadSeconds = 10): Predictor {
  const key = `${model}/${modelLoadSeconds}`;
  let p = predictors.get(key);
  if (p === undefined) {
    const profile = loadProfile(`${BUNDLED_DIR}bs_sm_${model}.csv`);
    p = createPredictor({ ...profile, modelLoadSeconds });
    predictors.set(key, p);
  }
  return p;
}

/**
 * A synthetic function whose batch latency is exactly 4 + 160 x batch / SM ms at batch
 * 1..16 and SM 10..100, so expected figures can be worked out by hand: at batch 8 and SM 40
 * a batch takes 36 ms and the instance serves 8000 / 36 = 222 rps.
 */
export function syntheticProfile(modelLoadSeconds = 10): FunctionProfile {
  const points = [];
  for (const batch of [1, 2, 4, 8, 16]) {
    for (let sm = 10; sm <= 100; sm += 10) {
      const latencyMs = 4 + (160 * batch) / sm;
      points.push({ batch, smPercent: sm, latencyMs, throughputRps: (batch * 1000) / latencyMs });
    }
  }
  return { name: 'synthetic', source: 'synthetic', modelLoadSeconds, points };
}

let synthetic: Predictor | undefined;
export function syntheticPredictor(): Predictor {
  synthetic ??= createPredictor(syntheticProfile());
  return synthetic;
}

export function spec(overrides: Partial<FunctionSpecInput> = {}): FunctionSpec {
  return parseFunctionSpec({ name: 'fn', sloMs: 200, minScale: 1, ...overrides });
}

/** A ready instance of batch 8, r 20, l 40 with plenty of GPU headroom unless told. */
export function instance(id: string, overrides: Partial<InstanceView> = {}): InstanceView {
  return {
    id,
    batch: 8,
    smRequest: 20,
    smLimit: 40,
    quota: 20,
    ready: true,
    quotaHeadroom: 100,
    createdAtS: 0,
    ...overrides,
  };
}

/** A policy state whose load estimate sits exactly at `rps` (timers clean, initialized). */
export function settledState(
  rps: number,
  nowS: number,
  extra: Partial<PolicyState> = {},
): PolicyState {
  return {
    ...createPolicyState(),
    load: { level: rps, variance: 0, trend: 0, short: rps, lastSample: rps, samples: 100 },
    lastTickS: nowS - 1,
    initialized: true,
    ...extra,
  };
}

/** Knobs that make the load the policy provisions for equal to the samples. */
export const EXACT = { uncertaintySigmas: 0, anticipateColdStart: false } as const;

/**
 * The figures-side of a sizing handle without a latency limit: instances serve their
 * throughput T(b, l) x q / l whatever the share (for tests of the throughput rules), with
 * the given floor.
 */
export function throughputHandle(
  predictor: Predictor,
  floorOf: (batch: number, smLimit: number) => number = () => 0,
): Pick<SizingHandle, 'predictor' | 'floorQuota' | 'latencyShare' | 'shareTable'> {
  return {
    predictor,
    floorQuota: floorOf,
    latencyShare: () => Number.POSITIVE_INFINITY,
    shareTable: () => new Float64Array(101).fill(Number.POSITIVE_INFINITY),
  };
}

/** The real sizing handle of a predictor and SLO (fresh sizer: no shared memo). */
export function realHandle(
  predictor: Predictor,
  sloMs: number,
  knobs: PolicyKnobOverrides = {},
): SizingHandle {
  return createInstanceSizer().handle(predictor, { sloMs, knobs: resolveKnobs(knobs) });
}

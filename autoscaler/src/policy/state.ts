import type { LoadEstimate } from './load-estimator.js';
import { EMPTY_LOAD_ESTIMATE } from './load-estimator.js';
import type { PolicyState } from './types.js';

/** The state of a function the policy has not decided for yet. */
export function createPolicyState(): PolicyState {
  return INITIAL_STATE;
}

const INITIAL_STATE: PolicyState = Object.freeze({
  load: EMPTY_LOAD_ESTIMATE,
  lastTickS: null,
  initialized: false,
  panicSinceS: null,
  calmSinceS: null,
  panicReplicas: 0,
  quotaDownSinceS: null,
  quotaDownPeakRps: 0,
  replicaDownSinceS: null,
  replicaDownPeakRps: 0,
  resizeSinceS: null,
  zeroSinceS: null,
  correctionFactor: 1,
  correctionObservations: 0,
  peakRps: 0,
  sloMeanRps: 0,
  latencyMargin: 1,
  alarmSinceS: null,
});

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/** A working copy of the state for one decision; the caller's object is never touched. */
export type DraftState = Mutable<Omit<PolicyState, 'load'>> & { load: Mutable<LoadEstimate> };

export function draftOf(state: PolicyState): DraftState {
  return { ...state, load: { ...state.load } };
}

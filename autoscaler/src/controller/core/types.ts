import type { V1Pod } from '@kubernetes/client-node';
import type { Predictor } from '../../model/index.js';
import type {
  FunctionSpec,
  InstanceSizing,
  LoadObservation,
  PolicyState,
} from '../../policy/index.js';
import type { SettingProblem } from './dilu-annotations.js';

export const MODES = ['knative', 'openfaas'] as const;
export type Mode = (typeof MODES)[number];

/** One function (a Knative revision or an OpenFaaS function) the controller scales. */
export interface ManagedFunction {
  /** `<mode>/<namespace>/<name>`; also the reconcile-queue key. */
  readonly key: string;
  readonly mode: Mode;
  readonly namespace: string;
  /** PodAutoscaler (= revision) name, or OpenFaaS function name. */
  readonly name: string;
  /** The Deployment whose replicas are the function's instances. */
  readonly deployment: string;
  /** Validated spec; undefined when its settings cannot be used (see `problems`). */
  readonly spec: FunctionSpec | undefined;
  readonly problems: readonly SettingProblem[];
  /** FunctionProfile holding the function's performance model. */
  readonly profile: { readonly namespace: string; readonly name: string };
  /** `dilu.dev/function` value the webhook gives its pods (placement label). */
  readonly functionLabel: string;
}

/** Where functions and their pods come from (informer caches in production). */
export interface FunctionSource {
  functions(): readonly ManagedFunction[];
  pods(fn: ManagedFunction): readonly V1Pod[];
}

export interface LoadSource {
  /** Load per function key; a key without an entry (or without samples) is "metrics missing". */
  observe(
    fns: readonly ManagedFunction[],
    pods: (fn: ManagedFunction) => readonly V1Pod[],
  ): Promise<Map<string, LoadObservation>>;
}

export interface PredictorSource {
  predictorFor(fn: ManagedFunction): Predictor | undefined;
}

/** What the tick decided about a function's replicas, read by its reconcile. */
export interface HorizontalDecision {
  readonly desiredReplicas: number;
  /** Pods to remove first (in order) when shrinking. */
  readonly remove: readonly string[];
  /** Configuration of new instances (published as the instance decision). */
  readonly newInstance: InstanceSizing;
  readonly sloMs: number | undefined;
  /** When it was decided (ms since the epoch). */
  readonly atMs: number;
}

export interface DecisionStore {
  get(key: string): HorizontalDecision | undefined;
  set(key: string, d: HorizontalDecision): void;
  delete(key: string): void;
  clear(): void;
}

export function createDecisionStore(): DecisionStore {
  const m = new Map<string, HorizontalDecision>();
  return {
    get: k => m.get(k),
    set: (k, d) => {
      m.set(k, d);
    },
    delete: k => {
      m.delete(k);
    },
    clear: () => {
      m.clear();
    },
  };
}

export type PolicyStates = Map<string, PolicyState>;

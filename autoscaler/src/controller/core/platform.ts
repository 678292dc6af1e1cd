import type { ResilientInformer } from '../kube/informer.js';
import type { FunctionSource, LoadSource } from './types.js';

/** What a mode (Knative, OpenFaaS) plugs into the autoscaler runtime. */
export interface Platform {
  readonly mode: 'knative' | 'openfaas';
  readonly informers: readonly ResilientInformer<unknown>[];
  readonly source: FunctionSource;
  readonly load: LoadSource;
  /** Reconciles one function key (per-key queue worker). */
  reconcile(key: string): Promise<void>;
  /** Every key to reconcile when leadership starts. */
  allKeys(): string[];
}

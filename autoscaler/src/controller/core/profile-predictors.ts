import type { KubernetesObject } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import type { Predictor } from '../../model/index.js';
import { createPredictor, functionProfileFromObject } from '../../model/index.js';
import type { ObjectStore } from '../kube/informer.js';
import type { ManagedFunction, PredictorSource } from './types.js';

export const FUNCTION_PROFILE_API = {
  group: 'dilu.dev',
  version: 'v1alpha1',
  plural: 'functionprofiles',
} as const;

/**
 * Predictors from FunctionProfile resources (informer cache), built once per resourceVersion:
 * a new measurement replaces the model at the next tick. A profile the loader rejects is
 * logged once per version and the function stays unmanaged until it is fixed.
 */
export function createProfilePredictors(deps: {
  readonly profiles: ObjectStore<KubernetesObject>;
  readonly log: Logger;
}): PredictorSource & { readonly size: () => number } {
  const cache = new Map<string, { version: string; predictor: Predictor | undefined }>();
  return {
    predictorFor(fn: ManagedFunction) {
      const { namespace, name } = fn.profile;
      const obj = deps.profiles.get(name, namespace);
      const key = `${namespace}/${name}`;
      if (obj === undefined) {
        cache.delete(key);
        return undefined;
      }
      const version = obj.metadata?.resourceVersion ?? '';
      const hit = cache.get(key);
      if (hit?.version === version) return hit.predictor;
      let predictor: Predictor | undefined;
      try {
        predictor = createPredictor(functionProfileFromObject(obj, `FunctionProfile ${key}`));
      } catch (err) {
        deps.log.error({ profile: key, err: String(err) }, 'FunctionProfile not usable');
      }
      cache.set(key, { version, predictor });
      return predictor;
    },
    size: () => cache.size,
  };
}

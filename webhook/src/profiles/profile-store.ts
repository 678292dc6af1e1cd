import type { FunctionProfile, Predictor, ProfileRecommendation } from '@dilu/autoscaler';
import { createPredictor } from '@dilu/autoscaler';

/** A FunctionProfile as the webhook uses it: measurements, recommendations and a predictor. */
export interface ProfileEntry {
  /** `<namespace>/<name>`, or `<name>` for a profile that applies in every namespace. */
  readonly key: string;
  readonly profile: FunctionProfile;
  readonly recommendations: readonly ProfileRecommendation[];
  /** Built on first use and kept until the profile changes: building costs milliseconds. */
  predictor(): Predictor;
  /** Per-entry memo for derived answers (sizing per SLO); dropped with the entry. */
  readonly memo: Map<string, unknown>;
}

/** Where the webhook looks profiles up: a cache fed by an informer or by a folder. */
export interface ProfileSource {
  /**
   * The profile `name` in `namespace`, else a cluster-wide profile of that name (profiles read
   * from a folder without a namespace apply everywhere).
   */
  lookup(namespace: string, name: string): ProfileEntry | undefined;
  /** True once the first full list has been loaded; /readyz waits for it. */
  isReady(): boolean;
  size(): number;
}

export interface ProfileStore extends ProfileSource {
  set(
    namespace: string | undefined,
    profile: FunctionProfile,
    recommendations: readonly ProfileRecommendation[],
  ): void;
  delete(namespace: string | undefined, name: string): void;
  /** Swaps the whole content at once (a folder reload), so lookups never see half of it. */
  replaceAll(
    entries: readonly {
      namespace: string | undefined;
      profile: FunctionProfile;
      recommendations: readonly ProfileRecommendation[];
    }[],
  ): void;
  markReady(): void;
}

export function profileKey(namespace: string | undefined, name: string): string {
  return namespace === undefined ? name : `${namespace}/${name}`;
}

function entry(
  namespace: string | undefined,
  profile: FunctionProfile,
  recommendations: readonly ProfileRecommendation[],
): ProfileEntry {
  let predictor: Predictor | undefined;
  return {
    key: profileKey(namespace, profile.name),
    profile,
    recommendations,
    predictor: () => (predictor ??= createPredictor(profile)),
    memo: new Map(),
  };
}

export function createProfileStore(): ProfileStore {
  let entries = new Map<string, ProfileEntry>();
  let ready = false;
  return {
    lookup(namespace, name) {
      return entries.get(profileKey(namespace, name)) ?? entries.get(name);
    },
    isReady: () => ready,
    size: () => entries.size,
    set(namespace, profile, recommendations) {
      const e = entry(namespace, profile, recommendations);
      entries.set(e.key, e);
    },
    delete(namespace, name) {
      entries.delete(profileKey(namespace, name));
    },
    replaceAll(list) {
      const next = new Map<string, ProfileEntry>();
      for (const { namespace, profile, recommendations } of list) {
        const e = entry(namespace, profile, recommendations);
        next.set(e.key, e);
      }
      entries = next;
    },
    markReady() {
      ready = true;
    },
  };
}

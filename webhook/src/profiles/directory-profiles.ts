import type { FSWatcher } from 'node:fs';
import { readFileSync, readdirSync, watch } from 'node:fs';
import { extname, join } from 'node:path';
import type { FunctionProfile, ProfileRecommendation } from '@dilu/autoscaler';
import { functionProfileSchema, loadProfiles } from '@dilu/autoscaler';
import yaml from 'js-yaml';
import type { Logger } from 'pino';
import type { ProfileStore } from './profile-store.js';

export interface LoadedProfile {
  readonly namespace: string | undefined;
  readonly profile: FunctionProfile;
  readonly recommendations: readonly ProfileRecommendation[];
}

const PROFILE_FILE = /\.(csv|ya?ml)$/i;

/**
 * Reads every profile in a folder with the autoscaler's loader (which names file and line of
 * any error). YAML FunctionProfiles also contribute their namespace and
 * `status.recommendations`; CSV profiles and YAML without a namespace apply in every namespace.
 */
export function readProfileDirectory(dir: string): LoadedProfile[] {
  const files = readdirSync(dir)
    .filter(f => PROFILE_FILE.test(f))
    .sort()
    .map(f => join(dir, f));
  const profiles = loadProfiles(files.length > 0 ? files : [dir]);
  return profiles.map((profile, i) => {
    const file = files[i] ?? dir;
    if (extname(file).toLowerCase() === '.csv') {
      return { namespace: undefined, profile, recommendations: [] };
    }
    // loadProfiles has validated the document; this second read picks up the parts the
    // model does not carry (namespace, recommendations).
    const doc = functionProfileSchema.parse(yaml.load(readFileSync(file, 'utf8')));
    return {
      namespace: doc.metadata.namespace,
      profile,
      recommendations: doc.status?.recommendations ?? [],
    };
  });
}

/**
 * Loads the folder into the store (throwing with the file and line on a bad profile), then
 * reloads it on change. A reload that fails keeps the last good content and logs why.
 */
export function watchProfileDirectory(
  dir: string,
  store: ProfileStore,
  log: Logger,
  onReload?: (count: number) => void,
): { close(): void } {
  store.replaceAll(readProfileDirectory(dir));
  store.markReady();
  onReload?.(store.size());
  let timer: NodeJS.Timeout | undefined;
  let watcher: FSWatcher | undefined;
  try {
    watcher = watch(dir, () => {
      clearTimeout(timer);
      timer = setTimeout(() => {
        try {
          store.replaceAll(readProfileDirectory(dir));
          onReload?.(store.size());
          log.info({ dir, profiles: store.size() }, 'profiles reloaded');
        } catch (err) {
          log.error({ err, dir }, 'profile reload failed; keeping the previous profiles');
        }
      }, 200);
    });
  } catch (err) {
    log.warn({ err, dir }, 'cannot watch the profile folder; changes need a restart');
  }
  return {
    close() {
      clearTimeout(timer);
      watcher?.close();
    },
  };
}

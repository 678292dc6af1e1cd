import { loadProfile } from '../model/index.js';
import { kneeSearch, measureFromProfile } from '../profiling/index.js';
import type { CliOutput } from './output.js';
import { printJson } from './output.js';
import { fixed } from './table.js';

export interface ProfileKneeOptions {
  readonly profile: string;
  readonly batch: number;
  readonly threshold: number;
  readonly smStep: number;
  readonly json: boolean;
}

export async function runProfileKnee(
  options: ProfileKneeOptions,
  output: CliOutput,
): Promise<number> {
  const profile = loadProfile(options.profile);
  const r = await kneeSearch(measureFromProfile(profile), {
    batch: options.batch,
    threshold: options.threshold,
    smStep: options.smStep,
  });
  if (options.json) {
    printJson(output, {
      profile: profile.name,
      batch: options.batch,
      threshold: options.threshold,
      ...r,
    });
  } else if (r.smPercent === undefined) {
    output.out(
      `${profile.name}: batch ${options.batch} could not run at 100 % SM (not in the profile)`,
    );
  } else {
    output.out(
      `${profile.name}, batch ${options.batch}: knee at ${r.smPercent} % SM — ` +
        `${fixed(r.throughputRps ?? 0, 1)} rps, ${fixed((100 * (r.throughputRps ?? 0)) / (r.fullThroughputRps ?? 1), 1)} % ` +
        `of the ${fixed(r.fullThroughputRps ?? 0, 1)} rps at 100 % (${r.probes.length} probes)`,
    );
  }
  return r.smPercent === undefined ? 1 : 0;
}

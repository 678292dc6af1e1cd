import type { FunctionProfile } from '../model/index.js';
import type { Measure } from './measurement.js';

/**
 * A Measure that answers from a profile's measured points instead of a GPU: the search then
 * costs nothing and its probe count and choice can be checked against the full grid. A point
 * the profile lacks is reported as not runnable.
 */
export function measureFromProfile(profile: FunctionProfile): Measure {
  const byKey = new Map(profile.points.map(p => [`${p.batch}/${p.smPercent}`, p]));
  return (batch, smPercent) => {
    const p = byKey.get(`${batch}/${smPercent}`);
    return Promise.resolve(
      p && { latencyMs: p.latencyMs, throughputRps: p.throughputRps, memoryMiB: p.memoryMiB },
    );
  };
}

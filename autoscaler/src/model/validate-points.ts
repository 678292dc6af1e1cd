import type { ProfilePoint } from './profile.js';
import { SM_PERCENT_MAX, SM_PERCENT_MIN } from './profile.js';
import { ProfileError } from './profile-error.js';

/**
 * Rules every profile must satisfy, whatever its format. The first broken rule is thrown
 * with the point's line, so a user can fix files one error at a time.
 */
export function validatePoints(file: string, points: readonly ProfilePoint[]): void {
  if (points.length === 0) {
    throw new ProfileError(file, undefined, 'profile has no points (at least one is required)');
  }
  const seen = new Map<string, number | undefined>();
  for (const p of points) {
    checkPoint(file, p);
    const key = `${p.batch}/${p.smPercent}`;
    if (seen.has(key)) {
      const first = seen.get(key);
      const where = first === undefined ? '' : ` (first at line ${first})`;
      throw new ProfileError(
        file,
        p.line,
        `duplicate point: batch ${p.batch} at smPercent ${p.smPercent} is measured twice${where}`,
      );
    }
    seen.set(key, p.line);
  }
}

function checkPoint(file: string, p: ProfilePoint): void {
  const fail = (rule: string): never => {
    throw new ProfileError(file, p.line, rule);
  };
  if (!Number.isInteger(p.batch) || p.batch < 1) {
    fail(`batch must be an integer >= 1, got ${String(p.batch)}`);
  }
  if (
    !Number.isFinite(p.smPercent) ||
    p.smPercent < SM_PERCENT_MIN ||
    p.smPercent > SM_PERCENT_MAX
  ) {
    fail(
      `smPercent must be within ${SM_PERCENT_MIN}..${SM_PERCENT_MAX}, got ${String(p.smPercent)}`,
    );
  }
  if (!Number.isFinite(p.latencyMs) || p.latencyMs <= 0) {
    fail(`latency must be a finite number > 0, got ${String(p.latencyMs)}`);
  }
  if (!Number.isFinite(p.throughputRps) || p.throughputRps <= 0) {
    fail(`throughput must be a finite number > 0, got ${String(p.throughputRps)}`);
  }
  if (p.memoryMiB !== undefined && (!Number.isFinite(p.memoryMiB) || p.memoryMiB <= 0)) {
    fail(`memoryMiB must be a finite number > 0, got ${String(p.memoryMiB)}`);
  }
}

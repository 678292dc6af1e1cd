import type { FunctionProfile, ProfilePoint } from '../model/index.js';
import type { SearchResult } from './pruning-search.js';

export interface GridComparison {
  /** Cheapest measured point meeting the SLO (highest throughput per SM %). */
  readonly gridBest: ProfilePoint | undefined;
  readonly gridPoints: number;
  readonly gridPointsMeetingSlo: number;
  /** True when the search's choice is at least as cheap as the grid's best. */
  readonly atLeastAsCheap: boolean;
  /** How much cheaper the grid's best is, percent (0 when the search reached it). */
  readonly shortfallPercent: number;
  /** Why the search missed the grid's best, when it did. */
  readonly explanation: string | undefined;
}

const efficiency = (p: { throughputRps: number; smPercent: number }): number =>
  p.throughputRps / p.smPercent;

/** Checks a search run against every point of the profile it searched. */
export function compareWithGrid(
  profile: FunctionProfile,
  sloMs: number,
  result: SearchResult,
): GridComparison {
  const feasible = profile.points.filter(p => p.latencyMs <= sloMs);
  const gridBest = feasible.reduce<ProfilePoint | undefined>(
    (b, p) => (b === undefined || efficiency(p) > efficiency(b) ? p : b),
    undefined,
  );
  const found = result.choice ? efficiency(result.choice) : 0;
  const target = gridBest ? efficiency(gridBest) : 0;
  const atLeastAsCheap = found >= target - 1e-12;
  return {
    gridBest,
    gridPoints: profile.points.length,
    gridPointsMeetingSlo: feasible.length,
    atLeastAsCheap,
    shortfallPercent: atLeastAsCheap || target === 0 ? 0 : 100 * (1 - found / target),
    explanation: atLeastAsCheap || !gridBest ? undefined : explain(gridBest, result),
  };
}

function explain(best: ProfilePoint, result: SearchResult): string {
  const at = `batch ${best.batch} at ${best.smPercent} % SM`;
  const sameBatch = result.probes.filter(p => p.batch === best.batch);
  const frontier = sameBatch.find(p => p.meetsSlo);
  if (frontier && frontier.smPercent < best.smPercent) {
    return (
      `the grid's best point (${at}) uses more SM than the least SM meeting the SLO at that batch ` +
      `(${frontier.smPercent} %): its throughput per SM % rises with SM there, which the search ` +
      `does not expect and its ${result.probes.length}-probe budget did not reach`
    );
  }
  if (sameBatch.length === 0) {
    return (
      `the search stopped (${result.stopReason}) before batch ${best.batch}; the grid's best ` +
      `point (${at}) lies beyond where the walk was cut short`
    );
  }
  return (
    `the search stopped (${result.stopReason}) at batch ${best.batch} below ${best.smPercent} % SM; ` +
    `measurement noise made the latency there look flat, so the floor rule judged more SM useless`
  );
}

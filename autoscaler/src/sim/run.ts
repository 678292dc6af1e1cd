import type { SimulationOutcome } from './engine/simulator.js';
import { simulate } from './engine/simulator.js';
import type { PolicyMetrics } from './metrics.js';
import { summarize } from './metrics.js';
import type { Placer, ScalingPolicy } from './policy.js';
import type { Scenario } from './scenario.js';
import type { OracleResult } from './baselines/oracle.js';
import { computeOracle } from './baselines/oracle.js';

/** Every policy the simulator compares, in report order (ours first, the bound last). */
export const POLICY_NAMES = [
  'dilu',
  'has-gpu',
  'fast-gshare',
  'mps-static',
  'exclusive-kpa',
  'oracle',
] as const;
export type PolicyName = (typeof POLICY_NAMES)[number];
export type SimulatedPolicyName = Exclude<PolicyName, 'oracle'>;

/** A policy and the placer it runs with, fresh for one run. */
export interface PolicyBundle {
  readonly policy: ScalingPolicy;
  readonly placer: Placer;
  /** Parameters worth printing with the results (e.g. MPS slices per GPU). */
  readonly settings?: Readonly<Record<string, string | number | boolean>> | undefined;
}

/** How to build each simulated policy; a policy without a factory is not available. */
export type PolicyFactories = Readonly<
  Partial<Record<SimulatedPolicyName, (scenario: Scenario) => PolicyBundle>>
>;

/** The policies these factories can run (and the oracle), in report order. */
export function availablePolicies(factories: PolicyFactories): PolicyName[] {
  return POLICY_NAMES.filter(p => p === 'oracle' || factories[p] !== undefined);
}

export interface RunOptions {
  readonly scenario: Scenario;
  readonly policies: readonly PolicyName[];
  readonly seed?: number | undefined;
  readonly factories: PolicyFactories;
  readonly onProgress?: ((policy: PolicyName, second: number, total: number) => void) | undefined;
}

export interface PolicyRun {
  readonly name: PolicyName;
  readonly metrics: PolicyMetrics;
  readonly settings: Readonly<Record<string, string | number | boolean>>;
  /** Per-second detail for the report (absent for the oracle). */
  readonly outcome?: SimulationOutcome | undefined;
  readonly oracle?: OracleResult | undefined;
}

export interface RunResult {
  readonly scenario: Scenario;
  readonly seed: number;
  readonly runs: readonly PolicyRun[];
}

/** Runs the scenario once per policy, same arrivals (same seed) for all. */
export function runScenario(o: RunOptions): RunResult {
  const seed = o.seed ?? o.scenario.seed;
  const runs: PolicyRun[] = [];
  for (const name of o.policies) {
    if (name === 'oracle') {
      o.onProgress?.(name, 0, o.scenario.durationSeconds);
      const oracle = computeOracle(o.scenario, seed);
      o.onProgress?.(name, o.scenario.durationSeconds, o.scenario.durationSeconds);
      runs.push({ name, metrics: oracle.metrics, settings: {}, oracle });
      continue;
    }
    const factory = o.factories[name];
    if (!factory) throw new RangeError(`policy '${name}' is not available in this build`);
    const bundle = factory(o.scenario);
    const outcome = simulate({
      scenario: o.scenario,
      policy: bundle.policy,
      placer: bundle.placer,
      seed,
      onProgress: (s, total) => o.onProgress?.(name, s, total),
    });
    runs.push({ name, metrics: summarize(outcome), settings: bundle.settings ?? {}, outcome });
  }
  return { scenario: o.scenario, seed, runs };
}

/** Parses a comma-separated policy list; the error names what is allowed. */
export function parsePolicies(raw: string): PolicyName[] {
  const names = raw
    .split(',')
    .map(s => s.trim())
    .filter(s => s !== '');
  if (names.length === 0)
    throw new RangeError(`--policies: expected one or more of ${POLICY_NAMES.join(', ')}`);
  const out: PolicyName[] = [];
  for (const n of names) {
    if (!(POLICY_NAMES as readonly string[]).includes(n)) {
      throw new RangeError(
        `--policies: unknown policy '${n}' (allowed: ${POLICY_NAMES.join(', ')})`,
      );
    }
    if (!out.includes(n as PolicyName)) out.push(n as PolicyName);
  }
  return out;
}

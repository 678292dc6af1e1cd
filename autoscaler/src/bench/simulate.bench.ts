import { cpus } from 'node:os';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { processOutput } from '../cli/output.js';
import { BUNDLED_DEFAULT_SCENARIO } from '../cli/paths.js';
import { runSimulate } from '../cli/simulate.js';
import { fixed, formatTable } from '../cli/table.js';
import { defaultFactories } from '../sim/registry.js';
import type { PolicyName } from '../sim/run.js';
import { availablePolicies, parsePolicies, runScenario } from '../sim/run.js';
import { loadScenario } from '../sim/scenario.js';

/** The large synthetic scenario the simulator's speed is measured on. */
export const BENCH_SCENARIO = fileURLToPath(
  new URL('../../data/scenarios/bench-large.yaml', import.meta.url),
);

/** Policies timed on the large scenario: every one that can run 512 functions on 160 GPUs. */
const SPEED_POLICIES: readonly PolicyName[] = ['dilu', 'has-gpu', 'fast-gshare', 'mps-static'];

/**
 * `npm run bench` for @dilu/autoscaler: the default scenario exactly as `npm start` runs it,
 * then the simulator's own speed — simulated requests per wall-clock second, arrival
 * generation included — on the large synthetic scenario (512 functions, 160 GPUs, one hour),
 * per policy. The simulator is single-threaded: one core does all the work.
 *
 * Environment: BENCH_POLICIES (comma list) overrides the timed policies; BENCH_REPORT the
 * output folder (default reports/bench).
 */
function main(): number {
  const out = processOutput;
  const reportDir = resolve(process.env.BENCH_REPORT ?? 'reports/bench');
  const factories = defaultFactories();
  out.out('== Default scenario (as `npm start`)\n');
  runSimulate(
    {
      scenario: BUNDLED_DEFAULT_SCENARIO,
      policies: availablePolicies(factories),
      report: join(reportDir, 'default'),
      progress: false,
    },
    { factories },
    out,
  );
  const timed = process.env.BENCH_POLICIES
    ? parsePolicies(process.env.BENCH_POLICIES)
    : SPEED_POLICIES;
  const scenario = loadScenario(BENCH_SCENARIO);
  const gpus = scenario.cluster.nodes * scenario.cluster.gpusPerNode;
  out.out(
    `\n== Simulator speed: '${scenario.name}', ${scenario.functions.length} functions, ${gpus} GPUs, ${scenario.durationSeconds} s simulated`,
  );
  out.out(`   node ${process.version}, ${cpus()[0]?.model ?? 'unknown CPU'}, single-threaded\n`);
  const rows: (string | number)[][] = [];
  const speed: Record<string, unknown> = {};
  for (const policy of timed) {
    const r = runScenario({ scenario, policies: [policy], factories });
    const m = r.runs[0]?.metrics;
    if (!m) continue;
    rows.push([
      policy,
      m.requests,
      fixed(m.wallSeconds, 1),
      Math.round(m.simulatedRequestsPerWallSecond),
      `${fixed(m.sloViolationRate * 100)} %`,
      Math.round(m.gpuSeconds),
    ]);
    speed[policy] = {
      requests: m.requests,
      wallSeconds: m.wallSeconds,
      simulatedRequestsPerWallSecond: m.simulatedRequestsPerWallSecond,
    };
  }
  out.out(
    formatTable(['policy', 'requests', 'wall s', 'simulated req/s', 'SLO viol.', 'GPU-s'], rows),
  );
  mkdirSync(reportDir, { recursive: true });
  writeFileSync(
    join(reportDir, 'sim-speed.json'),
    `${JSON.stringify({ scenario: scenario.name, functions: scenario.functions.length, gpus, durationSeconds: scenario.durationSeconds, node: process.version, cpu: cpus()[0]?.model, speed }, null, 2)}\n`,
  );
  out.out(`\nspeed: ${join(reportDir, 'sim-speed.json')}`);
  return 0;
}

process.exitCode = main();

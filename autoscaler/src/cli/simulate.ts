import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import cliProgress from 'cli-progress';
import { loadScenario } from '../sim/scenario.js';
import type { PolicyFactories, PolicyName, RunResult } from '../sim/run.js';
import { runScenario } from '../sim/run.js';
import { renderHtml } from '../sim/report/html.js';
import type { ResultsJson } from '../sim/report/results.js';
import { resultsJson } from '../sim/report/results.js';
import type { CliOutput } from './output.js';
import { fixed, formatTable } from './table.js';

export interface SimulateOptions {
  readonly scenario: string;
  readonly policies: readonly PolicyName[];
  readonly seed?: number | undefined;
  /** Write results.json here as well; '-' prints it on stdout (and nothing else). */
  readonly json?: string | undefined;
  /** Directory for index.html and results.json; undefined: no report. */
  readonly report?: string | undefined;
  /** Show a progress bar (on stderr). */
  readonly progress: boolean;
}

export interface SimulateDeps {
  readonly factories: PolicyFactories;
}

/**
 * `dilu simulate`: runs a scenario under each policy, prints the comparison table (each
 * baseline's ratio to dilu) and the papers' claims checked, and writes the HTML report and
 * results.json.
 */
export function runSimulate(o: SimulateOptions, deps: SimulateDeps, output: CliOutput): number {
  const scenario = loadScenario(o.scenario);
  const jsonToStdout = o.json === '-';
  const bar =
    o.progress && !jsonToStdout ? progressBar(o.policies, scenario.durationSeconds) : undefined;
  let result: RunResult;
  try {
    result = runScenario({
      scenario,
      policies: o.policies,
      seed: o.seed,
      factories: deps.factories,
      onProgress: bar?.update,
    });
  } finally {
    bar?.stop();
  }
  const results = resultsJson(result);
  const text = `${JSON.stringify(results, null, 2)}\n`;
  if (jsonToStdout) {
    output.out(text);
  } else {
    output.out(comparisonTable(result, results));
    if (o.json !== undefined) writeFileSync(o.json, text);
  }
  if (o.report !== undefined) {
    const dir = resolve(o.report);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'results.json'), text);
    writeFileSync(join(dir, 'index.html'), renderHtml(result, results));
    if (!jsonToStdout)
      output.out(`\nreport: ${join(dir, 'index.html')}\nresults: ${join(dir, 'results.json')}`);
  }
  return 0;
}

/** One bar over all simulated seconds of all policies, naming the policy being run. */
function progressBar(
  policies: readonly PolicyName[],
  seconds: number,
): { update: (p: PolicyName, s: number, total: number) => void; stop: () => void } {
  const order: PolicyName[] = policies.filter(p => p !== 'oracle');
  const bar = new cliProgress.SingleBar(
    {
      format: 'simulating {policy} [{bar}] {percentage}% | {duration_formatted}',
      stream: process.stderr,
      clearOnComplete: true,
      hideCursor: true,
    },
    cliProgress.Presets.shades_classic,
  );
  bar.start(Math.max(1, order.length * seconds), 0, { policy: order[0] ?? '' });
  return {
    update(p, s) {
      const i = order.indexOf(p);
      if (i >= 0) bar.update(i * seconds + s, { policy: p });
    },
    stop() {
      bar.stop();
    },
  };
}

export function comparisonTable(r: RunResult, results: ResultsJson): string {
  const s = r.scenario;
  const lines: string[] = [
    `Scenario '${s.name}': ${s.functions.length} functions, ${s.cluster.nodes * s.cluster.gpusPerNode} x ${s.cluster.gpu.model}, ${s.durationSeconds} s simulated, seed ${r.seed}`,
    '',
  ];
  const rows = r.runs.map(run => {
    const m = run.metrics;
    const ratio = results.ratiosToDilu[run.name];
    const x = (v: number | null | undefined): string =>
      v === null || v === undefined ? '-' : `${fixed(v)}x`;
    return [
      run.name,
      `${fixed(m.sloViolationRate * 100)} %`,
      x(ratio?.violations),
      Math.round(m.gpuSeconds),
      x(ratio?.cost),
      fixed(m.meanActiveGpus),
      m.peakActiveGpus,
      `${fixed(m.fragmentation.sm * 100, 1)} %`,
      `${fixed(m.fragmentation.mem * 100, 1)} %`,
      fixed(m.throughputRps, 1),
      Number.isFinite(m.latencyMs.p50) ? fixed(m.latencyMs.p50, 1) : '-',
      Number.isFinite(m.latencyMs.p95) ? fixed(m.latencyMs.p95, 1) : '-',
      Number.isFinite(m.latencyMs.p99) ? fixed(m.latencyMs.p99, 1) : '-',
      m.coldStarts,
    ];
  });
  lines.push(
    formatTable(
      [
        'policy',
        'SLO viol.',
        'x dilu',
        'GPU-s',
        'x dilu',
        'mean GPUs',
        'peak',
        'frag SM',
        'frag mem',
        'rps',
        'p50 ms',
        'p95 ms',
        'p99 ms',
        'cold',
      ],
      rows,
    ),
  );
  if (results.claims.some(c => c.met !== null)) {
    lines.push('', 'Claims checked on this run:');
    for (const c of results.claims) {
      if (c.met === null) continue;
      const v =
        c.measured === null
          ? '-'
          : c.target.includes('%')
            ? `${fixed(c.measured * 100)} %`
            : fixed(c.measured);
      lines.push(
        `  ${c.met ? 'met    ' : 'NOT MET'}  ${c.claim}: ${v} (target ${c.target}; ${c.source})`,
      );
    }
  }
  return lines.join('\n');
}

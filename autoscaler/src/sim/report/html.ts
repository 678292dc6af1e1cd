import type { PolicyName, PolicyRun, RunResult } from '../run.js';
import type { ResultsJson } from './results.js';
import type { LineSeries } from './svg.js';
import { barChart, downsample, escapeXml, lineChart } from './svg.js';

export const POLICY_COLORS: Readonly<Record<PolicyName, string>> = {
  dilu: '#d62728',
  'has-gpu': '#1f77b4',
  'fast-gshare': '#2ca02c',
  'mps-static': '#9467bd',
  'exclusive-kpa': '#7f7f7f',
  oracle: '#ff7f0e',
};

const pct = (v: number): string => `${(v * 100).toFixed(2)} %`;
const n2 = (v: number | null): string => (v === null ? '–' : v.toFixed(2));

/**
 * The self-contained HTML report of one `dilu simulate` run: the comparison table, the papers'
 * claims checked, bar charts of cost, violations and fragmentation per policy, the cluster over
 * time, and per function its load, replicas and SM quota over time under each policy. Inline
 * SVG and CSS only: it opens offline, from a file.
 */
export function renderHtml(r: RunResult, results: ResultsJson): string {
  const simulated = r.runs.filter(x => x.outcome !== undefined);
  const D = r.scenario.durationSeconds;
  const every = Math.max(1, Math.ceil(D / 360));
  const minutes = every / 60;
  const body = [
    header(r),
    summaryTable(results),
    claimsTable(results),
    '<h2>Cost, SLO violations and fragmentation</h2><div class="grid">',
    barChart(
      r.runs.map(x => bar(x, x.metrics.gpuSeconds, `${Math.round(x.metrics.gpuSeconds)} GPU-s`)),
      { title: 'GPU cost (GPU-seconds, lower is better)' },
    ),
    barChart(
      r.runs.map(x => bar(x, x.metrics.sloViolationRate, pct(x.metrics.sloViolationRate))),
      { title: 'SLO violation rate (lower is better)' },
    ),
    barChart(
      r.runs.map(x => bar(x, x.metrics.meanActiveGpus, x.metrics.meanActiveGpus.toFixed(2))),
      { title: 'Mean active GPUs' },
    ),
    barChart(
      r.runs.map(x => bar(x, x.metrics.fragmentation.sm, pct(x.metrics.fragmentation.sm))),
      { title: 'SM fragmentation of active GPUs' },
    ),
    '</div>',
    '<h2>The cluster over time</h2><div class="grid">',
    lineChart(
      r.runs.map(x => ({
        name: x.name,
        color: POLICY_COLORS[x.name],
        values: downsample(x.outcome?.share ?? x.oracle?.share ?? [], D, every),
      })),
      { title: 'GPU share held (cost rate)', yLabel: 'GPUs', xLabel: 'minutes', step: minutes },
    ),
    lineChart(
      r.runs.map(x => ({
        name: x.name,
        color: POLICY_COLORS[x.name],
        values: downsample(x.outcome?.activeGpus ?? x.oracle?.activeGpus ?? [], D, every),
      })),
      { title: 'Active GPUs', yLabel: 'GPUs', xLabel: 'minutes', step: minutes, integer: true },
    ),
    '</div>',
    legend(r.runs),
    '<h2>Per function: load, replicas and SM quota over time</h2>',
    ...r.scenario.functions.map(f =>
      functionCharts(f.index, f.name, simulated, { D, every, minutes }, r),
    ),
  ];
  return page(`dilu simulate — ${r.scenario.name}`, body.join('\n'));
}

function bar(
  x: PolicyRun,
  value: number,
  note: string,
): { label: string; value: number; color: string; note: string } {
  return { label: x.name, value, color: POLICY_COLORS[x.name], note };
}

function header(r: RunResult): string {
  const s = r.scenario;
  const gpus = s.cluster.nodes * s.cluster.gpusPerNode;
  return [
    `<h1>dilu simulate — ${escapeXml(s.name)}</h1>`,
    s.description ? `<p>${escapeXml(s.description)}</p>` : '',
    `<p class="meta">${s.functions.length} functions · ${s.cluster.nodes} nodes × ${s.cluster.gpusPerNode} ${escapeXml(s.cluster.gpu.model)} (${gpus} GPUs, ${s.cluster.gpu.memoryMiB} MiB) · ${s.durationSeconds} s simulated · seed ${r.seed} · scenario <code>${escapeXml(s.file)}</code></p>`,
  ].join('\n');
}

function summaryTable(results: ResultsJson): string {
  const rows = Object.entries(results.policies).map(([name, p]) => {
    const ratio = results.ratiosToDilu[name as PolicyName];
    return `<tr><td><span class="dot" style="background:${POLICY_COLORS[name as PolicyName]}"></span>${escapeXml(name)}</td><td>${pct(p.sloViolationRate)}</td><td>${n2(ratio?.violations ?? null)}</td><td>${Math.round(p.gpuSeconds)}</td><td>${n2(ratio?.cost ?? null)}</td><td>${p.meanActiveGpus.toFixed(2)}</td><td>${p.peakActiveGpus}</td><td>${pct(p.fragmentation.sm)}</td><td>${pct(p.fragmentation.mem)}</td><td>${p.throughputRps.toFixed(1)}</td><td>${n2(p.latencyMs.p50)}</td><td>${n2(p.latencyMs.p95)}</td><td>${n2(p.latencyMs.p99)}</td><td>${p.coldStarts}</td></tr>`;
  });
  return [
    '<h2>Results</h2>',
    '<table><thead><tr><th>policy</th><th>SLO violations</th><th>× dilu</th><th>GPU-seconds</th><th>× dilu</th><th>mean GPUs</th><th>peak GPUs</th><th>frag. SM</th><th>frag. memory</th><th>throughput rps</th><th>p50 ms</th><th>p95 ms</th><th>p99 ms</th><th>cold starts</th></tr></thead><tbody>',
    ...rows,
    '</tbody></table>',
  ].join('\n');
}

function claimsTable(results: ResultsJson): string {
  if (results.claims.length === 0) return '';
  const rows = results.claims.map(c => {
    const cls = c.met === null ? 'na' : c.met ? 'ok' : 'no';
    const verdict = c.met === null ? 'not run' : c.met ? 'met' : 'not met';
    const v =
      c.measured === null ? '–' : c.target.includes('%') ? pct(c.measured) : c.measured.toFixed(2);
    return `<tr><td>${escapeXml(c.claim)}</td><td>${escapeXml(c.target)}</td><td>${v}</td><td class="${cls}">${verdict}</td><td class="src">${escapeXml(c.source)}</td></tr>`;
  });
  return [
    '<h2>Claims checked on this run</h2>',
    '<table><thead><tr><th>figure</th><th>target</th><th>measured</th><th></th><th>source</th></tr></thead><tbody>',
    ...rows,
    '</tbody></table>',
  ].join('\n');
}

function legend(runs: readonly PolicyRun[]): string {
  return `<p class="legend">${runs
    .map(
      x =>
        `<span><span class="dot" style="background:${POLICY_COLORS[x.name]}"></span>${escapeXml(x.name)}</span>`,
    )
    .join(' ')}</p>`;
}

function functionCharts(
  fn: number,
  name: string,
  runs: readonly PolicyRun[],
  t: { D: number; every: number; minutes: number },
  r: RunResult,
): string {
  const first = runs[0]?.outcome?.functions[fn];
  const load: LineSeries = {
    name: 'requests per second',
    color: '#999',
    values: downsample(first?.arrivals ?? [], t.D, t.every),
  };
  const replicas = runs.map(x => ({
    name: x.name,
    color: POLICY_COLORS[x.name],
    values: downsample(x.outcome?.functions[fn]?.replicas ?? [], t.D, t.every),
  }));
  const quota = runs.map(x => ({
    name: x.name,
    color: POLICY_COLORS[x.name],
    values: downsample(x.outcome?.functions[fn]?.quota ?? [], t.D, t.every),
  }));
  const f = r.scenario.functions[fn];
  const axis = { xLabel: 'minutes', step: t.minutes, width: 380, height: 170 };
  return [
    `<h3>${escapeXml(name)}</h3>`,
    f
      ? `<p class="meta">${escapeXml(f.profile.name)} · SLO ${f.sloMs} ms · ${escapeXml(f.workload)}</p>`
      : '',
    '<div class="grid3">',
    lineChart([load], { ...axis, title: 'Load', yLabel: 'rps', area: true }),
    lineChart(replicas, { ...axis, title: 'Replicas', yLabel: 'instances', integer: true }),
    lineChart(quota, { ...axis, title: 'Σ SM quota', yLabel: '% of a GPU' }),
    '</div>',
  ].join('\n');
}

function page(title: string, body: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeXml(title)}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body{font-family:system-ui,sans-serif;margin:24px;color:#222;max-width:1240px}
h1{font-size:22px;margin:0 0 8px}h2{font-size:17px;margin:28px 0 8px}h3{font-size:14px;margin:18px 0 2px}
.meta{color:#666;font-size:12px;margin:2px 0 8px}code{font-size:12px}
table{border-collapse:collapse;font-size:12px}th,td{border-bottom:1px solid #ddd;padding:4px 8px;text-align:right}
th:first-child,td:first-child{text-align:left}td.src{text-align:left;color:#666}
td.ok{color:#1a7f37;font-weight:600}td.no{color:#c62828;font-weight:600}td.na{color:#888}
.grid{display:flex;flex-wrap:wrap;gap:16px}.grid3{display:flex;flex-wrap:wrap;gap:8px}
.dot{display:inline-block;width:10px;height:10px;border-radius:2px;margin-right:6px}
.legend span{margin-right:14px;font-size:12px}
</style></head><body>
${body}
</body></html>
`;
}

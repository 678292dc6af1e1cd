// Replays the openb GPU-sharing trace (FGD, ATC'23) and sets our FGD fragmentation beside the
// published expected results. `node dist/placement/bench/openb-replay.bench.js [--data DIR]
// [--seeds 42,43,44] [--policies best-fit,random,fgd]`; DIR defaults to $OPENB_DIR or the
// shared data folder next to the repository (../shared/data/openb-fgd-2023).
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import type { ReplayPoint, ReplayPolicy } from '../openb-replay.js';
import { REPLAY_POLICIES, replayOpenb } from '../openb-replay.js';
import { parseOpenbNodes, parseOpenbPods } from '../openb-trace.js';

const PUBLISHED: Readonly<Record<string, string>> = {
  random: '01-Random',
  'best-fit': '05-BestFit',
  fgd: '06-FGD',
};
const AT = [10, 50, 80, 90, 100, 130];

const { values } = parseArgs({
  options: {
    data: { type: 'string' },
    seeds: { type: 'string', default: '42,43,44' },
    policies: { type: 'string', default: 'best-fit,random,fgd,fgd@40' },
  },
});
const repoRoot = resolve(import.meta.dirname, '../../../..');
const dir =
  values.data ?? process.env.OPENB_DIR ?? resolve(repoRoot, '../shared/data/openb-fgd-2023');
if (!existsSync(join(dir, 'csv', 'openb_pod_list_default.csv'))) {
  console.log(`openb replay skipped: no trace under ${dir} (pass --data DIR or set OPENB_DIR)`);
  process.exit(0);
}

/** Published per-percent means over the artifact's 10 seeds, for one workload and policy. */
function published(file: string, policy: string): Map<number, number> {
  const [header, ...lines] = readFileSync(join(dir, 'expected_results', file), 'utf8')
    .trim()
    .split('\n');
  const cols = (header ?? '').split(',');
  const sums = new Map<number, { s: number; n: number }>();
  for (const line of lines) {
    const cells = line.split(',');
    if (cells[0] !== 'openb_pod_list_default' || cells[1] !== policy) continue;
    cols.forEach((c, i) => {
      const pct = Number(c);
      const v = Number(cells[i]);
      if (c === '' || !Number.isInteger(pct) || cells[i] === '' || Number.isNaN(v)) return;
      const e = sums.get(pct) ?? { s: 0, n: 0 };
      e.s += v;
      e.n++;
      sums.set(pct, e);
    });
  }
  return new Map([...sums].map(([k, e]) => [k, e.s / e.n]));
}

const nodes = parseOpenbNodes(
  readFileSync(join(dir, 'csv', 'openb_node_list_gpu_node.csv'), 'utf8'),
  'openb_node_list_gpu_node.csv',
);
const pods = parseOpenbPods(
  readFileSync(join(dir, 'csv', 'openb_pod_list_default.csv'), 'utf8'),
  'openb_pod_list_default.csv',
);
const seeds = values.seeds.split(',').map(Number);
console.log(
  `# openb default trace: ${pods.length} pods onto ${nodes.length} GPU nodes ` +
    `(${nodes.reduce((s, n) => s + n.gpuCount, 0)} GPUs); arrivals sampled to 130 % of ` +
    `capacity and shuffled; seeds ${seeds.join(', ')}; published = mean of 10 seeds`,
);
console.log('# frag = FGD fragment, % of GPU capacity; alloc = allocated GPU, % of capacity');

for (const spec of values.policies.split(',')) {
  const [name = '', res] = spec.split('@');
  if (!(REPLAY_POLICIES as readonly string[]).includes(name)) {
    throw new Error(`--policies: unknown policy '${name}' (known: ${REPLAY_POLICIES.join(', ')})`);
  }
  const policy = name as ReplayPolicy;
  const t0 = performance.now();
  const runs = seeds.map(seed =>
    replayOpenb(nodes, pods, { policy, seed, fgdResolutionMilli: res ? Number(res) : 0 }),
  );
  const secs = ((performance.now() - t0) / 1000 / seeds.length).toFixed(1);
  const mean = (pct: number, f: (p: ReplayPoint) => number): string => {
    const v = runs
      .map(r => r.points.find(p => p.arrivedPercent === pct))
      .filter(p => p !== undefined);
    return v.length ? (v.reduce((s, p) => s + f(p), 0) / v.length).toFixed(2) : '-';
  };
  const ref = PUBLISHED[policy];
  const pubFrag = ref ? published('analysis_frag_discrete.csv', ref) : undefined;
  const pubAlloc = ref ? published('analysis_allo_discrete.csv', ref) : undefined;
  console.log(`\n${spec} (${secs} s per run${ref ? `; published: ${ref}` : ''})`);
  console.log(`  arrived %        ${AT.map(a => String(a).padStart(6)).join('')}`);
  console.log(
    `  frag  ours       ${AT.map(a => mean(a, p => p.fragmentPercent).padStart(6)).join('')}`,
  );
  if (pubFrag) {
    console.log(
      `  frag  published  ${AT.map(a => (pubFrag.get(a)?.toFixed(2) ?? '-').padStart(6)).join('')}`,
    );
  }
  console.log(
    `  alloc ours       ${AT.map(a => mean(a, p => p.allocatedPercent).padStart(6)).join('')}`,
  );
  if (pubAlloc) {
    console.log(
      `  alloc published  ${AT.map(a => (pubAlloc.get(a)?.toFixed(2) ?? '-').padStart(6)).join('')}`,
    );
  }
}

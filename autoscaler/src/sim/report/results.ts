import type { PolicyName, RunResult } from '../run.js';

/** One policy's entry in results.json. NaN figures (e.g. the oracle's latency) become null. */
export interface PolicyResultJson {
  readonly sloViolationRate: number;
  readonly gpuSeconds: number;
  readonly meanActiveGpus: number;
  readonly peakActiveGpus: number;
  readonly fragmentation: { readonly sm: number; readonly mem: number };
  readonly throughputRps: number;
  readonly goodputRps: number;
  readonly latencyMs: {
    readonly p50: number | null;
    readonly p95: number | null;
    readonly p99: number | null;
    readonly mean: number | null;
  };
  readonly coldStarts: number;
  readonly requests: number;
  readonly violations: number;
  readonly dropped: number;
  readonly settings: Readonly<Record<string, string | number | boolean>>;
  readonly simulator: { readonly wallSeconds: number; readonly requestsPerWallSecond: number };
}

export interface Claim {
  readonly id: string;
  /** What is claimed, in words. */
  readonly claim: string;
  /** Where the number comes from. */
  readonly source: string;
  readonly target: string;
  readonly measured: number | null;
  readonly met: boolean | null;
}

export interface ResultsJson {
  readonly scenario: {
    readonly name: string;
    readonly file: string;
    readonly description: string | null;
    readonly durationSeconds: number;
    readonly seed: number;
    readonly functions: number;
    readonly gpus: number;
    readonly gpuModel: string;
  };
  readonly policies: Partial<Record<PolicyName, PolicyResultJson>>;
  /** Each policy's figure divided by dilu's (absent when dilu did not run). */
  readonly ratiosToDilu: Partial<
    Record<
      PolicyName,
      {
        readonly cost: number | null;
        readonly violations: number | null;
        readonly fragmentationSm: number | null;
      }
    >
  >;
  readonly claims: readonly Claim[];
}

const num = (v: number): number | null => (Number.isFinite(v) ? v : null);
const ratio = (a: number, b: number): number | null => (b > 0 ? a / b : a > 0 ? null : 1);

export function resultsJson(r: RunResult): ResultsJson {
  const s = r.scenario;
  const policies: Partial<Record<PolicyName, PolicyResultJson>> = {};
  for (const run of r.runs) {
    const m = run.metrics;
    policies[run.name] = {
      sloViolationRate: m.sloViolationRate,
      gpuSeconds: m.gpuSeconds,
      meanActiveGpus: m.meanActiveGpus,
      peakActiveGpus: m.peakActiveGpus,
      fragmentation: { sm: m.fragmentation.sm, mem: m.fragmentation.mem },
      throughputRps: m.throughputRps,
      goodputRps: m.goodputRps,
      latencyMs: {
        p50: num(m.latencyMs.p50),
        p95: num(m.latencyMs.p95),
        p99: num(m.latencyMs.p99),
        mean: num(m.latencyMs.mean),
      },
      coldStarts: m.coldStarts,
      requests: m.requests,
      violations: m.violations,
      dropped: m.dropped,
      settings: run.settings,
      simulator: {
        wallSeconds: m.wallSeconds,
        requestsPerWallSecond: m.simulatedRequestsPerWallSecond,
      },
    };
  }
  const dilu = policies.dilu;
  const ratiosToDilu: ResultsJson['ratiosToDilu'] = {};
  if (dilu) {
    for (const [name, p] of Object.entries(policies) as [PolicyName, PolicyResultJson][]) {
      ratiosToDilu[name] = {
        cost: ratio(p.gpuSeconds, dilu.gpuSeconds),
        violations: ratio(p.sloViolationRate, dilu.sloViolationRate),
        fragmentationSm: ratio(p.fragmentation.sm, dilu.fragmentation.sm),
      };
    }
  }
  return {
    scenario: {
      name: s.name,
      file: s.file,
      description: s.description ?? null,
      durationSeconds: s.durationSeconds,
      seed: r.seed,
      functions: s.functions.length,
      gpus: s.cluster.nodes * s.cluster.gpusPerNode,
      gpuModel: s.cluster.gpu.model,
    },
    policies,
    ratiosToDilu,
    claims: claims(policies),
  };
}

type Policies = Partial<Record<PolicyName, PolicyResultJson>>;

interface ClaimSpec extends Omit<Claim, 'met' | 'measured'> {
  readonly measure: (p: Policies, dilu: PolicyResultJson) => number | null | undefined;
  readonly ok: (v: number) => boolean;
}

const BASELINES = ['has-gpu', 'fast-gshare', 'mps-static', 'exclusive-kpa'] as const;
const SHARING = ['mps-static', 'fast-gshare', 'has-gpu'] as const;

const CLAIMS: readonly ClaimSpec[] = [
  {
    id: 'dilu-violations',
    claim: 'dilu SLO violation rate',
    source: 'issue 4',
    target: '<= 1 %',
    measure: (_, d) => d.sloViolationRate,
    ok: v => v <= 0.01,
  },
  {
    id: 'dilu-fewest-violations',
    claim: "dilu's violation rate minus the lowest baseline's",
    source: 'issue 4',
    target: '<= 0 %',
    measure: (p, d) => {
      const rates = BASELINES.flatMap(n => (p[n] ? [p[n].sloViolationRate] : []));
      return rates.length > 0 ? d.sloViolationRate - Math.min(...rates) : undefined;
    },
    ok: v => v <= 0,
  },
  {
    id: 'dilu-vs-oracle',
    claim: 'dilu GPU cost / oracle lower bound',
    source: 'issue 4',
    target: '<= 1.3',
    measure: (p, d) => (p.oracle ? ratio(d.gpuSeconds, p.oracle.gpuSeconds) : undefined),
    ok: v => v <= 1.3,
  },
  {
    id: 'cost-vs-exclusive',
    claim: 'exclusive-kpa GPU cost / dilu',
    source: 'HAS-GPU: 10.8x lower cost than KServe (whole GPUs)',
    target: '>= 10.8',
    measure: (p, d) =>
      p['exclusive-kpa'] ? ratio(p['exclusive-kpa'].gpuSeconds, d.gpuSeconds) : undefined,
    ok: v => v >= 10.8,
  },
  {
    id: 'violations-vs-fast-gshare',
    claim: 'fast-gshare SLO violations / dilu',
    source: 'HAS-GPU: 4.8x fewer SLO violations than FaST-GShare',
    target: '>= 4.8',
    measure: (p, d) =>
      p['fast-gshare'] ? ratio(p['fast-gshare'].sloViolationRate, d.sloViolationRate) : undefined,
    ok: v => v >= 4.8,
  },
  {
    id: 'cost-vs-fast-gshare',
    claim: 'fast-gshare GPU cost / dilu',
    source: 'HAS-GPU: 1.72x lower cost than FaST-GShare',
    target: '>= 1.72',
    measure: (p, d) =>
      p['fast-gshare'] ? ratio(p['fast-gshare'].gpuSeconds, d.gpuSeconds) : undefined,
    ok: v => v >= 1.72,
  },
  ...SHARING.map((n): ClaimSpec => ({
    id: `fragmentation-vs-${n}`,
    claim: `SM fragmentation: 1 - dilu / ${n}`,
    source: 'Dilu: 10-46 % less GPU fragmentation',
    target: '>= 10 %',
    measure: (p, d) => {
      const base = p[n]?.fragmentation.sm ?? 0;
      return base > 0 ? 1 - d.fragmentation.sm / base : undefined;
    },
    ok: v => v >= 0.1,
  })),
];

/**
 * The papers' headline numbers and the issue's targets, checked on this run
 * (docs/simulator.md). A claim whose policies did not run is reported with met = null.
 */
function claims(p: Policies): Claim[] {
  return CLAIMS.map(({ measure, ok, ...c }) => {
    const v = p.dilu ? (measure(p, p.dilu) ?? null) : null;
    return { ...c, measured: v, met: v === null ? null : ok(v) };
  });
}

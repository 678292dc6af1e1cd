import { describe, expect, it } from '@jest/globals';
import type { PolicyMetrics } from '../metrics.js';
import type { PolicyName, RunResult } from '../run.js';
import { testScenario } from '../testing.js';
import { renderHtml } from './html.js';
import { resultsJson } from './results.js';
import { barChart, downsample, escapeXml, lineChart, niceStep } from './svg.js';

function metrics(policy: string, v: number, cost: number, fragSm: number): PolicyMetrics {
  return {
    policy,
    sloViolationRate: v,
    requests: 1000,
    completed: 1000,
    violations: v * 1000,
    dropped: 0,
    gpuSeconds: cost,
    meanActiveGpus: 1,
    peakActiveGpus: 2,
    fragmentation: { sm: fragSm, mem: 0.5 },
    throughputRps: 10,
    goodputRps: 10,
    latencyMs: { p50: 10, p95: 20, p99: NaN, mean: 12 },
    coldStarts: 3,
    wallSeconds: 0.5,
    simulatedRequestsPerWallSecond: 2000,
  };
}

function result(rows: [PolicyName, number, number, number][]): RunResult {
  return {
    scenario: testScenario({ durationSeconds: 10, functions: [{ arrivals: [] }] }),
    seed: 3,
    runs: rows.map(([name, v, cost, frag]) => ({
      name,
      metrics: metrics(name, v, cost, frag),
      settings: {},
    })),
  };
}

describe('resultsJson', () => {
  it('gives the required fields per policy, NaN as null, and ratios to dilu', () => {
    const r = resultsJson(
      result([
        ['dilu', 0.005, 100, 0.2],
        ['fast-gshare', 0.05, 200, 0.4],
        ['exclusive-kpa', 0.004, 1200, 0.6],
        ['oracle', 0, 80, 0.7],
      ]),
    );
    const d = r.policies.dilu;
    expect(d).toMatchObject({
      sloViolationRate: 0.005,
      gpuSeconds: 100,
      meanActiveGpus: 1,
      peakActiveGpus: 2,
      fragmentation: { sm: 0.2, mem: 0.5 },
      throughputRps: 10,
      latencyMs: { p50: 10, p95: 20, p99: null },
      coldStarts: 3,
    });
    expect(r.ratiosToDilu['fast-gshare']).toEqual({ cost: 2, violations: 10, fragmentationSm: 2 });
    expect(r.scenario.seed).toBe(3);
  });

  it('checks the claims, with met = null for policies that did not run', () => {
    const r = resultsJson(
      result([
        ['dilu', 0.005, 100, 0.2],
        ['fast-gshare', 0.05, 200, 0.4],
        ['exclusive-kpa', 0.004, 1200, 0.6],
        ['oracle', 0, 80, 0.7],
      ]),
    );
    const c = Object.fromEntries(r.claims.map(x => [x.id, x]));
    expect(c['dilu-violations']).toMatchObject({ measured: 0.005, met: true });
    expect(c['dilu-fewest-violations']?.met).toBe(false); // exclusive-kpa has fewer
    expect(c['dilu-vs-oracle']).toMatchObject({ measured: 1.25, met: true });
    expect(c['cost-vs-exclusive']).toMatchObject({ measured: 12, met: true });
    expect(c['violations-vs-fast-gshare']).toMatchObject({ measured: 10, met: true });
    expect(c['cost-vs-fast-gshare']).toMatchObject({ measured: 2, met: true });
    expect(c['fragmentation-vs-fast-gshare']).toMatchObject({ measured: 0.5, met: true });
    expect(c['fragmentation-vs-mps-static']).toMatchObject({ measured: null, met: null });
    const noDilu = resultsJson(result([['fast-gshare', 0.05, 200, 0.4]]));
    expect(noDilu.claims.every(x => x.met === null)).toBe(true);
    expect(noDilu.ratiosToDilu).toEqual({});
  });
});

describe('svg', () => {
  it('picks round tick steps and escapes text', () => {
    expect(niceStep(100)).toBe(25);
    expect(niceStep(7)).toBe(2);
    expect(niceStep(0)).toBe(1);
    expect(escapeXml('a<b & "c">')).toBe('a&lt;b &amp; &quot;c&quot;&gt;');
  });

  it('downsamples by averaging groups', () => {
    expect(downsample([1, 3, 5, 7, 9], 5, 2)).toEqual([2, 6, 9]);
  });

  it('draws one polyline per series and one bar per entry', () => {
    const svg = lineChart(
      [
        { name: 'a', color: '#f00', values: [0, 1, 2] },
        { name: 'b<', color: '#0f0', values: [2, 1, 0] },
      ],
      { title: 't', yLabel: 'y', xLabel: 'x', step: 1 },
    );
    expect(svg.match(/<polyline/g)).toHaveLength(2);
    expect(svg).toContain('b&lt;');
    const bars = barChart(
      [
        { label: 'x', value: 1, color: '#000' },
        { label: 'y', value: NaN, color: '#000' },
      ],
      { title: 'b' },
    );
    expect(bars.match(/<rect/g)).toHaveLength(2);
  });
});

describe('renderHtml', () => {
  it('is one self-contained page: inline SVG, no scripts, no external resources', () => {
    const r = result([
      ['dilu', 0.005, 100, 0.2],
      ['oracle', 0, 80, 0.7],
    ]);
    const html = renderHtml(r, resultsJson(r));
    expect(html.startsWith('<!doctype html>')).toBe(true);
    expect(html).toContain('<svg');
    expect(html).not.toMatch(/<script|<link|src=|https?:\/\/(?!www\.w3\.org\/2000\/svg)/);
    expect(html).toContain('Claims checked on this run');
  });
});

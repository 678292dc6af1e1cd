import { describe, expect, it } from '@jest/globals';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ScenarioError } from './errors.js';
import { loadScenario, parseScenario } from './scenario.js';

const data = fileURLToPath(new URL('../../data/', import.meta.url));
const bert = `${data}profiles/dilu-a100/bs_sm_bert_base.csv`;
const code = `${data}traces/azure-llm-2023/AzureLLMInferenceTrace_code.csv`;
const infless = fileURLToPath(new URL('../../../../shared/data/infless-2022/', import.meta.url));

/** A valid scenario with `extra` lines appended to its one function (indented 4). */
function yamlWith(fn: string[] = [], top: string[] = []): string {
  return [
    'name: t',
    'durationSeconds: 60',
    'cluster:',
    '  nodes: 1',
    '  gpusPerNode: 2',
    '  gpu: { model: A100, memoryMiB: 40960 }',
    ...top,
    'functions:',
    '  - name: f',
    `    profile: ${bert}`,
    '    sloMs: 100',
    '    memoryMiB: 2048',
    '    workload: { synthetic: { kind: poisson, rps: 5 } }',
    ...fn,
  ].join('\n');
}

function errorOf(text: string): ScenarioError {
  try {
    parseScenario(text, 's.yaml');
  } catch (err) {
    if (err instanceof ScenarioError) return err;
    throw err;
  }
  throw new Error('expected a ScenarioError');
}

describe('loadScenario', () => {
  it('loads the bundled default scenario: 12 functions on 32 A100s, one hour', () => {
    const s = loadScenario(`${data}scenarios/default.yaml`);
    expect(s.functions).toHaveLength(12);
    expect(s.cluster.nodes * s.cluster.gpusPerNode).toBe(32);
    expect(s.durationSeconds).toBe(3600);
    const llama = s.functions.find(f => f.name === 'llama-code-1x');
    expect(llama?.memoryMiB).toBe(20480);
    expect(llama?.modelLoadSeconds).toBe(25);
    expect(llama?.maxScale).toBe(Infinity);
    expect(llama?.initialScale).toBe(1);
    // Only data shipped in this package: the code trace and Poisson load.
    for (const f of s.functions) {
      expect(f.workload).toMatch(/AzureLLMInferenceTrace_code\.csv|poisson/);
    }
  });

  it('loads the bundled synthetic-a100 scenario: four functions per model', () => {
    const s = loadScenario(`${data}scenarios/synthetic-a100.yaml`);
    expect(s.functions).toHaveLength(12);
    const perModel = new Map<string, number>();
    for (const f of s.functions) {
      const model = f.name.split('-')[0] ?? '';
      perModel.set(model, (perModel.get(model) ?? 0) + 1);
    }
    expect(Object.fromEntries(perModel)).toEqual({ bert: 4, resnet: 4, llama: 4 });
  });

  // The INFless patterns are GPL-3.0 and not shipped; the scenario reads them from the shared
  // data folder beside the checkout, so it can only load where that folder exists.
  (existsSync(infless) ? it : it.skip)(
    'loads the infless-a100 scenario from beside the checkout',
    () => {
      const s = loadScenario(`${data}scenarios/infless-a100.yaml`);
      expect(s.functions).toHaveLength(12);
      expect(s.functions.filter(f => f.workload.includes('Sporadic.txt'))).toHaveLength(4);
    },
  );

  it('applies defaults and resolves profiles relative to the scenario', () => {
    const s = parseScenario(yamlWith(), 's.yaml');
    const f = s.functions[0];
    expect(f?.minScale).toBe(1);
    expect(f?.modelLoadSeconds).toBe(10);
    expect(s.requests).toEqual({ timeoutSeconds: 30, queueBatchesPerInstance: 10 });
    expect(s.kpa.stableWindowSeconds).toBe(60);
    expect(s.kpa.targetUtilization).toBe(0.7);
    expect(s.mpsSlicesPerGpu).toBe('auto');
    expect(s.cluster.quotaChangeMs).toBe(100);
  });

  it('expands count into numbered functions with their own arrival streams', () => {
    const s = parseScenario(yamlWith(['    count: 3']), 's.yaml');
    expect(s.functions.map(f => f.name)).toEqual(['f-0', 'f-1', 'f-2']);
    const first = (i: number): number => s.functions[i]?.arrivals(1)() ?? NaN;
    expect(first(0)).not.toBe(first(1));
    expect(first(0)).toBe(first(0));
  });

  it('reads a trace workload', () => {
    const s = parseScenario(
      yamlWith().replace(
        '{ synthetic: { kind: poisson, rps: 5 } }',
        `{ trace: { file: ${code}, format: azure-llm-2023, rateMultiplier: 2 } }`,
      ),
      's.yaml',
    );
    expect(s.functions[0]?.workload).toContain('azure-llm-2023');
    expect(s.functions[0]?.arrivals(1)()).toBe(0);
  });
});

describe('invalid scenarios name the field, the rule and the line', () => {
  it('unknown keys', () => {
    const e = errorOf(yamlWith(['    colour: blue']));
    expect(e.line).toBe(8);
    expect(e.rule).toMatch(/^functions\.0: Unrecognized key: "colour"/);
  });

  it('wrong types and ranges', () => {
    expect(errorOf(yamlWith([], ['seed: -1'])).rule).toMatch(/^seed: Too small/);
    const slo = errorOf(yamlWith().replace('sloMs: 100', 'sloMs: fast'));
    expect(slo.rule).toMatch(/^functions\.0\.sloMs: Invalid input: expected number/);
    expect(slo.line).toBe(8);
    expect(errorOf(yamlWith().replace('gpusPerNode: 2', 'gpusPerNode: 0'))).toMatchObject({
      line: 3,
      rule: expect.stringMatching(/^cluster\.gpusPerNode: Too small/),
    });
  });

  it('scale bounds that contradict each other', () => {
    expect(errorOf(yamlWith(['    minScale: 3', '    maxScale: 2'])).rule).toBe(
      'functions.0.minScale: minScale (3) must not exceed maxScale (2)',
    );
  });

  it('a missing profile file, with the profile loader message', () => {
    const e = errorOf(yamlWith().replace(bert, '/nonexistent/p.csv'));
    expect(e.line).toBe(8);
    expect(e.rule).toContain('functions.0.profile: /nonexistent/p.csv: cannot read profile');
  });

  it('an SLO the profile can never meet, and memory larger than a GPU', () => {
    expect(errorOf(yamlWith().replace('sloMs: 100', 'sloMs: 5')).rule).toMatch(
      /^functions\.0\.sloMs: 5 ms cannot be met: the profile's fastest batch takes 1\d\.\d ms/,
    );
    expect(errorOf(yamlWith().replace('memoryMiB: 2048', 'memoryMiB: 50000')).rule).toBe(
      'functions.0.memoryMiB: 50000 MiB does not fit one GPU (40960 MiB)',
    );
  });

  it('a function name used twice', () => {
    const text = yamlWith([
      '  - name: f',
      `    profile: ${bert}`,
      '    sloMs: 100',
      '    memoryMiB: 2048',
      '    workload: { synthetic: { kind: poisson, rps: 5 } }',
    ]);
    expect(errorOf(text).rule).toBe("functions.1.name: function name 'f' is used twice");
  });

  it('trace options that do not fit the format', () => {
    const rs = yamlWith().replace(
      '{ synthetic: { kind: poisson, rps: 5 } }',
      `{ trace: { file: ${code}, format: rate-series } }`,
    );
    expect(errorOf(rs).rule).toBe(
      'functions.0.workload.trace.peakRps: a rate-series trace needs exactly one of peakRps or meanRps',
    );
    const llm = yamlWith().replace(
      '{ synthetic: { kind: poisson, rps: 5 } }',
      `{ trace: { file: ${code}, format: azure-llm-2023, peakRps: 3 } }`,
    );
    expect(errorOf(llm).rule).toBe(
      'functions.0.workload.trace.peakRps: peakRps only applies to format rate-series',
    );
  });

  it('a trace file in the wrong format, with the trace line', () => {
    const text = yamlWith().replace(
      '{ synthetic: { kind: poisson, rps: 5 } }',
      `{ trace: { file: ${bert}, format: azure-llm-2023 } }`,
    );
    expect(errorOf(text).rule).toMatch(
      /^functions\.0\.workload\.trace\.file: .*bs_sm_bert_base\.csv:1: expected the header/,
    );
  });

  it('YAML that does not parse', () => {
    const e = errorOf('name: t\ncluster: [\n');
    expect(e.rule).toMatch(/^not valid YAML/);
    expect(e.line).toBeGreaterThanOrEqual(2);
  });

  it('a file that cannot be read', () => {
    expect(() => loadScenario('/nonexistent/s.yaml')).toThrow(
      '/nonexistent/s.yaml: cannot read scenario',
    );
  });
});

import { describe, expect, it } from '@jest/globals';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { main } from './main.js';

const data = fileURLToPath(new URL('../../data/', import.meta.url));

async function run(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await main(['node', 'dilu', ...args], {
    out: t => (out += t),
    err: t => (err += t),
  });
  return { code, out, err };
}

function scenario(dir: string, extra = ''): string {
  const file = join(dir, 'small.yaml');
  writeFileSync(
    file,
    [
      'name: small',
      'durationSeconds: 120',
      'cluster:',
      '  nodes: 1',
      '  gpusPerNode: 4',
      '  gpu: { model: A100-SXM4-40GB, memoryMiB: 40960 }',
      'functions:',
      '  - name: bert',
      `    profile: ${data}profiles/dilu-a100/bs_sm_bert_base.csv`,
      '    sloMs: 100',
      '    memoryMiB: 2048',
      '    workload:',
      '      trace:',
      `        file: ${data}traces/azure-llm-2023/AzureLLMInferenceTrace_code.csv`,
      '        format: azure-llm-2023',
      '        rateMultiplier: 2',
      extra,
    ].join('\n'),
  );
  return file;
}

describe('dilu simulate', () => {
  it('prints results.json alone on stdout with --json -, one entry per policy asked', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dilu-sim-'));
    try {
      const r = await run(
        'simulate',
        '--scenario',
        scenario(dir),
        '--policies',
        'fast-gshare,exclusive-kpa,oracle',
        '--json',
        '-',
        '--no-report',
      );
      expect(r.code).toBe(0);
      const json = JSON.parse(r.out) as {
        scenario: { name: string; durationSeconds: number; gpus: number };
        policies: Record<
          string,
          { sloViolationRate: number; gpuSeconds: number; latencyMs: { p99: number | null } }
        >;
      };
      expect(json.scenario).toMatchObject({ name: 'small', durationSeconds: 120, gpus: 4 });
      expect(Object.keys(json.policies)).toEqual(['fast-gshare', 'exclusive-kpa', 'oracle']);
      // One whole GPU for 120 s at least under exclusive-kpa.
      expect(json.policies['exclusive-kpa']?.gpuSeconds).toBeGreaterThanOrEqual(120);
      expect(json.policies.oracle?.latencyMs.p99).toBeNull();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('writes the HTML report and results.json, and prints the comparison table', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dilu-sim-'));
    try {
      const report = join(dir, 'report');
      const r = await run(
        'simulate',
        '--scenario',
        scenario(dir),
        '--policies',
        'mps-static,oracle',
        '--seed',
        '7',
        '--report',
        report,
      );
      expect(r.code).toBe(0);
      expect(r.out).toContain("Scenario 'small': 1 functions");
      expect(r.out).toMatch(/mps-static\s+\d/);
      const html = readFileSync(join(report, 'index.html'), 'utf8');
      expect(html).toContain('<svg');
      expect(html).not.toMatch(/<script|https?:\/\/(?!www\.w3\.org)/);
      const json = JSON.parse(readFileSync(join(report, 'results.json'), 'utf8')) as {
        scenario: { seed: number };
      };
      expect(json.scenario.seed).toBe(7);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('fails with file, line, field and rule on an invalid scenario (exit 2)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dilu-sim-'));
    try {
      const file = scenario(dir, '    maxScale: -1');
      const r = await run('simulate', '--scenario', file, '--no-report');
      expect(r.code).toBe(2);
      expect(r.err).toMatch(/small\.yaml:8: functions\.0\.maxScale: Too small/);
      expect(existsSync(join(dir, 'report'))).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('rejects an unknown policy, naming the allowed ones', async () => {
    const r = await run('simulate', '--policies', 'dilu,kserve');
    expect(r.code).not.toBe(0);
    expect(r.err).toContain("unknown policy 'kserve'");
    expect(r.err).toContain('exclusive-kpa');
  });
});

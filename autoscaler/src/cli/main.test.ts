import { afterAll, describe, expect, it } from '@jest/globals';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from './main.js';
import { BUNDLED_PROFILES_DIR } from './paths.js';

const tempDirs: string[] = [];
function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  tempDirs.push(dir);
  return dir;
}
afterAll(() => {
  for (const d of tempDirs) rmSync(d, { recursive: true, force: true });
});

async function run(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await main(['node', 'dilu', ...args], {
    out: t => (out += t),
    err: t => (err += t),
  });
  return { code, out, err };
}

describe('dilu model check', () => {
  it('reports leave-one-out error per bundled profile as JSON, all within 5 %', async () => {
    const r = await run('model', 'check', '--json');
    expect(r.code).toBe(0);
    const json = JSON.parse(r.out) as {
      profiles: { profile: string; mapePercent: number }[];
      meanMapePercent: number;
      pass: boolean;
    };
    expect(json.profiles.map(p => p.profile)).toEqual(['bert_base', 'llama2', 'resnet152']);
    expect(json.profiles.every(p => p.mapePercent <= 5)).toBe(true);
    expect(json.pass).toBe(true);
  });

  it('prints a table and fails when the mean error is above --max-mape', async () => {
    const r = await run('model', 'check', '--max-mape', '1');
    expect(r.code).toBe(1);
    expect(r.out).toContain('resnet152');
    expect(r.out).toContain('FAIL');
  });

  it('names file, line and rule for a broken profile, exit 2', async () => {
    const dir = tempDir('dilu-cli-');
    writeFileSync(join(dir, 'bad.csv'), '1,10,0.02,40\n1,200,0.01,80\n');
    const r = await run('model', 'check', '--profiles', dir);
    expect(r.code).toBe(2);
    expect(r.err).toContain('bad.csv:2: smPercent must be within 1..100, got 200');
  });
});

describe('dilu predict', () => {
  it('predicts an unmeasured point', async () => {
    const r = await run(
      'predict',
      '--profile',
      join(BUNDLED_PROFILES_DIR, 'bs_sm_resnet152.csv'),
      '--batch',
      '12',
      '--sm',
      '35',
      '--json',
    );
    expect(r.code).toBe(0);
    const p = JSON.parse(r.out) as {
      latencyMs: number;
      latencyLowMs: number;
      latencyHighMs: number;
      memoryMiB: null;
    };
    expect(p.latencyMs).toBeGreaterThan(p.latencyLowMs);
    expect(p.latencyMs).toBeLessThan(p.latencyHighMs);
    expect(p.memoryMiB).toBeNull();
  });

  it('rejects an SM outside 1..100 naming the allowed range', async () => {
    const r = await run('predict', '--profile', 'x.csv', '--batch', '1', '--sm', '0');
    expect(r.code).not.toBe(0);
    expect(r.err).toContain("expected a number in 1..100, got '0'");
  });
});

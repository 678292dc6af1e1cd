import { describe, expect, it } from '@jest/globals';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { autoscalerConfig } from './autoscaler.js';
import { main } from './main.js';

async function run(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await main(['node', 'dilu', ...args], {
    out: t => (out += t),
    err: t => (err += t),
  });
  return { code, out, err };
}

describe('dilu autoscaler', () => {
  it('refuses an unknown mode, naming the allowed ones', async () => {
    const r = await run('autoscaler', '--mode', 'kubeless');
    expect(r.code).not.toBe(0);
    expect(r.err).toMatch(/expected one of knative, openfaas, got 'kubeless'/);
  });

  it('refuses a bad settings file before touching any cluster, naming the key', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dilu-autoscaler-cli-'));
    try {
      const file = join(dir, 'config.yaml');
      writeFileSync(file, 'tickIntervalMs: 5\n');
      const r = await run('autoscaler', '--config', file, '--kubeconfig', join(dir, 'none'));
      expect(r.code).toBe(2);
      expect(r.err).toMatch(/^error: config tickIntervalMs: /);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('lets flags override the settings file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'dilu-autoscaler-cli-'));
    try {
      const file = join(dir, 'config.yaml');
      writeFileSync(file, 'mode: knative\nnamespace: from-file\nhttpPort: 9000\n');
      expect(
        autoscalerConfig({ config: file, mode: 'openfaas', port: 0, logLevel: 'info' }),
      ).toMatchObject({ mode: 'openfaas', namespace: 'from-file', httpPort: 0 });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

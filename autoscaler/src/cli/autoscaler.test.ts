import { describe, expect, it } from '@jest/globals';
import { EventEmitter } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { autoscalerConfig, runAutoscaler } from './autoscaler.js';
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

  it('stops on SIGTERM while its caches cannot sync (API server unreachable)', async () => {
    // A port that accepts connections and never answers: every list hangs or fails.
    const silent = createServer(socket => socket.on('error', () => undefined));
    await new Promise<void>(resolve => silent.listen(0, '127.0.0.1', resolve));
    const port = (silent.address() as { port: number }).port;
    const dir = mkdtempSync(join(tmpdir(), 'dilu-autoscaler-cli-'));
    try {
      const kubeconfig = join(dir, 'kubeconfig');
      writeFileSync(
        kubeconfig,
        [
          'apiVersion: v1',
          'kind: Config',
          'clusters: [{name: c, cluster: {server: "http://127.0.0.1:' + String(port) + '"}}]',
          'users: [{name: u, user: {token: t}}]',
          'contexts: [{name: x, context: {cluster: c, user: u}}]',
          'current-context: x',
        ].join('\n'),
      );
      const signals = new EventEmitter();
      const t0 = Date.now();
      const running = runAutoscaler(
        { kubeconfig, mode: 'knative', port: 0, logLevel: 'silent' },
        { out: () => undefined, err: () => undefined },
        signals,
      );
      await new Promise(resolve => setTimeout(resolve, 500));
      signals.emit('SIGTERM');
      await expect(running).resolves.toBe(0);
      expect(Date.now() - t0).toBeLessThan(10_000);
    } finally {
      await new Promise(resolve => silent.close(resolve));
      rmSync(dir, { recursive: true, force: true });
    }
  }, 20_000);
});

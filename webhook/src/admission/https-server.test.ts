import { afterEach, describe, expect, it } from '@jest/globals';
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '../logger.js';
import { WebhookMetrics } from '../metrics.js';
import { writeTestCerts } from '../test-support/harness.js';
import { httpsRequest } from '../test-support/https-client.js';
import type { RunningServer } from './https-server.js';
import { startHttpsServer } from './https-server.js';

let dir: string | undefined;
let server: RunningServer | undefined;
afterEach(async () => {
  await server?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function until(check: () => Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise(r => setTimeout(r, 50));
  }
}

async function serves(url: string, ca: string): Promise<boolean> {
  try {
    return (await httpsRequest({ url, ca })).status === 200;
  } catch {
    return false;
  }
}

describe('startHttpsServer', () => {
  it('picks up a rotated certificate without a restart, and refuses a mismatched pair', async () => {
    dir = mkdtempSync(join(tmpdir(), 'dilu-tls-'));
    const first = writeTestCerts(dir, 'first CA');
    const metrics = new WebhookMetrics({ defaultMetrics: false });
    server = await startHttpsServer({
      app: (_req, res) => res.end('ok'),
      certFile: first.certFile,
      keyFile: first.keyFile,
      port: 0,
      host: '127.0.0.1',
      log: silentLogger(),
      metrics,
      pollMs: 60_000,
    });
    const url = `https://127.0.0.1:${server.port}/`;
    expect(await serves(url, first.caPem)).toBe(true);

    // Rotate the way a Secret volume does: new files appear, then replace the old by rename.
    const staging = mkdtempSync(join(dir, 'next-'));
    const second = writeTestCerts(staging, 'second CA');
    renameSync(second.keyFile, first.keyFile);
    renameSync(second.certFile, first.certFile);
    await until(() => serves(url, second.caPem), 'the new certificate');
    expect(await serves(url, first.caPem)).toBe(false);
    expect((await metrics.render()).body).toMatch(
      /dilu_webhook_tls_reloads_total\{result="ok"\} 1/,
    );

    // A half-done rotation (a key that does not match) keeps the working pair.
    const third = writeTestCerts(mkdtempSync(join(dir, 'bad-')), 'third CA');
    writeFileSync(
      first.keyFile,
      third.keyFile ? (await import('node:fs')).readFileSync(third.keyFile) : '',
    );
    expect(server.reload()).toBe(false);
    expect(await serves(url, second.caPem)).toBe(true);
    expect((await metrics.render()).body).toMatch(
      /dilu_webhook_tls_reloads_total\{result="failed"\} [1-9]/,
    );
  });

  it('fails to start on unreadable certificate files, naming the problem', async () => {
    await expect(
      startHttpsServer({
        app: (_req, res) => res.end('ok'),
        certFile: '/nonexistent/tls.crt',
        keyFile: '/nonexistent/tls.key',
        port: 0,
        host: '127.0.0.1',
        log: silentLogger(),
        metrics: new WebhookMetrics({ defaultMetrics: false }),
      }),
    ).rejects.toThrow('/nonexistent/tls.crt');
  });
});

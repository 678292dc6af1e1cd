import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { spawn } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { admissionReviewFor, openfaasFunctionPod } from '../test-support/fixtures.js';
import type { FakeApiServer } from '../test-support/fake-api-server.js';
import { startFakeApiServer } from '../test-support/fake-api-server.js';
import { A100_PROFILES_DIR, writeTestCerts } from '../test-support/harness.js';
import { httpsRequest, postJson } from '../test-support/https-client.js';
import type { PlacementDouble } from '../test-support/placement-double.js';
import { startPlacementDouble } from '../test-support/placement-double.js';
import { main } from './main.js';

const BIN = fileURLToPath(new URL('../../bin/dilu-webhook.js', import.meta.url));

function capture(): {
  out: string[];
  err: string[];
  output: { out(s: string): void; err(s: string): void };
} {
  const out: string[] = [];
  const err: string[] = [];
  return { out, err, output: { out: s => out.push(s), err: s => err.push(s) } };
}

let dir: string;
let placement: PlacementDouble;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'dilu-cli-'));
  placement = await startPlacementDouble({ gpus: [{ node: 'n1', index: 0, memUnits: 160 }] });
});
afterAll(async () => {
  await placement.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('dilu-webhook serve', () => {
  it('runs from the bin with --profiles, answers a review over HTTPS and stops on SIGTERM', async () => {
    const certs = writeTestCerts(dir);
    const profiles = mkdtempSync(join(dir, 'profiles-'));
    copyFileSync(join(A100_PROFILES_DIR, 'bs_sm_bert_base.csv'), join(profiles, 'bert.csv'));
    const child = spawn(
      process.execPath,
      [
        BIN,
        'serve',
        '--port',
        '0',
        '--host',
        '127.0.0.1',
        '--tls-cert',
        certs.certFile,
        '--tls-key',
        certs.keyFile,
        '--profiles',
        profiles,
        '--placement-url',
        placement.url,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, KUBERNETES_SERVICE_HOST: '' } },
    );
    const exited = new Promise<number | null>(resolve => child.on('exit', resolve));
    try {
      const port = await new Promise<number>((resolve, reject) => {
        let buf = '';
        child.stdout.on('data', (c: Buffer) => {
          buf += c.toString();
          const m = /"port":(\d+).*"msg":"webhook listening \(HTTPS\)"/.exec(buf);
          if (m) resolve(Number(m[1]));
        });
        child.on('exit', code => {
          reject(new Error(`exited ${code}: ${buf}`));
        });
      });
      // Ready at once: profiles from the folder, no cluster, no informer to wait for.
      const ready = await httpsRequest({
        url: `https://127.0.0.1:${port}/readyz`,
        ca: certs.caPem,
      });
      expect(ready.text).toBe('ok');
      const pod = openfaasFunctionPod({ annotations: { 'dilu.dev/slo-ms': '50' } });
      const reply = await postJson(
        `https://127.0.0.1:${port}/mutate`,
        certs.caPem,
        admissionReviewFor(pod),
      );
      const review = JSON.parse(reply.text) as { response: { allowed: boolean; patch?: string } };
      expect(review.response.allowed).toBe(true);
      const patch = JSON.parse(Buffer.from(review.response.patch ?? '', 'base64').toString()) as {
        path: string;
        value: unknown;
      }[];
      const decision = patch.find(op => op.path === '/metadata/annotations/dilu.dev~1decision');
      expect(JSON.parse(String(decision?.value))).toMatchObject({ node: 'n1', source: 'profile' });
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exited).toBe(0);
  }, 30_000);

  it('exits 2 naming a missing flag, and refuses to run with no profile source', async () => {
    const c = capture();
    expect(await main(['node', 'dilu-webhook', 'serve', '--tls-key', 'k'], c.output)).toBe(2);
    expect(c.err.join('')).toMatch(/--tls-cert \(or DILU_WEBHOOK_TLS_CERT\)/);
    const saved = process.env.KUBERNETES_SERVICE_HOST;
    delete process.env.KUBERNETES_SERVICE_HOST;
    try {
      const d = capture();
      const certs = writeTestCerts(mkdtempSync(join(dir, 'c-')));
      const code = await main(
        [
          'node',
          'dilu-webhook',
          '--tls-cert',
          certs.certFile,
          '--tls-key',
          certs.keyFile,
          '--log-level',
          'silent',
        ],
        d.output,
      );
      expect(code).toBe(2);
      expect(d.err.join('')).toContain(
        'no profile source: give --profiles <dir>, or run in a cluster or with --kubeconfig <file>',
      );
    } finally {
      if (saved !== undefined) process.env.KUBERNETES_SERVICE_HOST = saved;
    }
  });
});

describe('dilu-webhook certs', () => {
  let api: FakeApiServer;
  beforeAll(async () => {
    let secret: unknown;
    api = await startFakeApiServer(req => {
      if (req.path.endsWith('/secrets/dilu-webhook-tls'))
        return secret ? { status: 200, body: secret } : undefined;
      if (req.path.endsWith('/namespaces/gpu/secrets') && req.method === 'POST') {
        secret = req.body;
        return { status: 201, body: secret };
      }
      if (req.path.endsWith('/mutatingwebhookconfigurations/dilu-webhook')) {
        return {
          status: 200,
          body: { metadata: { name: 'dilu-webhook' }, webhooks: [{ name: 'a', clientConfig: {} }] },
        };
      }
      return undefined;
    });
  });
  afterAll(async () => {
    await api.close();
  });

  it('creates the Secret and patches the caBundle through a kubeconfig', async () => {
    const kubeconfig = join(dir, 'kubeconfig');
    writeFileSync(kubeconfig, api.kubeConfig().exportConfig());
    const c = capture();
    const code = await main(
      ['node', 'dilu-webhook', 'certs', '--namespace', 'gpu', '--kubeconfig', kubeconfig],
      c.output,
    );
    expect(c.err).toEqual([]);
    expect(code).toBe(0);
    expect(c.out.join('')).toBe(
      'secret gpu/dilu-webhook-tls: created (secret does not exist); caBundle of dilu-webhook set; ' +
        'DNS names dilu-webhook, dilu-webhook.gpu, dilu-webhook.gpu.svc, dilu-webhook.gpu.svc.cluster.local',
    );
    expect(api.requests.filter(r => r.method === 'PATCH')).toHaveLength(1);
  });
});

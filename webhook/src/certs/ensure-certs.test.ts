import { describe, expect, it } from '@jest/globals';
import { X509Certificate } from 'node:crypto';
import type { CertKubeClient, WebhookTlsSecret } from './ensure-certs.js';
import { ensureWebhookCertificates } from './ensure-certs.js';

/** An in-memory API: one Secret store and one webhook configuration with N webhooks. */
function memoryClient(webhooks = 2): CertKubeClient & {
  secrets: Map<string, WebhookTlsSecret>;
  caBundles: string[];
  writes: number;
} {
  const secrets = new Map<string, WebhookTlsSecret>();
  const client = {
    secrets,
    caBundles: [] as string[],
    writes: 0,
    readSecret: (ns: string, name: string) => Promise.resolve(secrets.get(`${ns}/${name}`)),
    writeSecret: (ns: string, name: string, data: WebhookTlsSecret) => {
      client.writes++;
      secrets.set(`${ns}/${name}`, data);
      return Promise.resolve();
    },
    countWebhooks: () => Promise.resolve(webhooks),
    patchCaBundle: (_name: string, count: number, ca: string) => {
      client.caBundles = Array.from({ length: count }, () => ca);
      return Promise.resolve();
    },
  };
  return client;
}

const base = {
  namespace: 'dilu-system',
  secretName: 'dilu-webhook-tls',
  serviceName: 'dilu-webhook',
  webhookConfigName: 'dilu-webhook',
};
const DAY = 86_400_000;

describe('ensureWebhookCertificates', () => {
  it('creates a CA and a serving certificate for the Service names, and trusts the CA', async () => {
    const client = memoryClient();
    const r = await ensureWebhookCertificates({ ...base, client });
    expect(r.action).toBe('created');
    const s = client.secrets.get('dilu-system/dilu-webhook-tls');
    if (!s) throw new Error('no secret');
    const cert = new X509Certificate(s['tls.crt']);
    const ca = new X509Certificate(s['ca.crt']);
    expect(cert.verify(ca.publicKey)).toBe(true);
    expect(
      cert.checkPrivateKey(await import('node:crypto').then(c => c.createPrivateKey(s['tls.key']))),
    ).toBe(true);
    expect(cert.subjectAltName).toBe(
      'DNS:dilu-webhook, DNS:dilu-webhook.dilu-system, DNS:dilu-webhook.dilu-system.svc, DNS:dilu-webhook.dilu-system.svc.cluster.local',
    );
    expect(ca.ca).toBe(true);
    expect(client.caBundles).toEqual([r.caBundle, r.caBundle]);
    expect(Buffer.from(r.caBundle, 'base64').toString()).toBe(s['ca.crt']);
  });

  it('changes nothing on a second run while the certificate is good', async () => {
    const client = memoryClient();
    await ensureWebhookCertificates({ ...base, client });
    const before = client.secrets.get('dilu-system/dilu-webhook-tls');
    const r = await ensureWebhookCertificates({ ...base, client });
    expect(r).toMatchObject({ action: 'unchanged', reason: 'certificate valid' });
    expect(client.writes).toBe(1);
    expect(client.secrets.get('dilu-system/dilu-webhook-tls')).toEqual(before);
  });

  it('renews a serving certificate close to expiry under the same CA', async () => {
    const client = memoryClient();
    const now = new Date('2026-01-01T00:00:00Z');
    await ensureWebhookCertificates({ ...base, client, now, certValidDays: 40 });
    const first = client.secrets.get('dilu-system/dilu-webhook-tls');
    const later = new Date(now.getTime() + 15 * DAY);
    const r = await ensureWebhookCertificates({ ...base, client, now: later });
    expect(r).toMatchObject({ action: 'renewed', reason: 'serving certificate expires soon' });
    const second = client.secrets.get('dilu-system/dilu-webhook-tls');
    expect(second?.['ca.crt']).toBe(first?.['ca.crt']);
    expect(second?.['tls.crt']).not.toBe(first?.['tls.crt']);
    expect(
      new X509Certificate(second?.['tls.crt'] ?? '').verify(
        new X509Certificate(first?.['ca.crt'] ?? '').publicKey,
      ),
    ).toBe(true);
  });

  it('renews when the Service name changed, and replaces a broken secret', async () => {
    const client = memoryClient(1);
    await ensureWebhookCertificates({ ...base, client });
    const renamed = await ensureWebhookCertificates({
      ...base,
      client,
      serviceName: 'gpu-webhook',
    });
    expect(renamed.action).toBe('renewed');
    expect(renamed.reason).toMatch(/^certificate lacks DNS names gpu-webhook,/);
    client.secrets.set('dilu-system/dilu-webhook-tls', {
      'tls.crt': 'junk',
      'tls.key': 'junk',
      'ca.crt': 'junk',
      'ca.key': 'junk',
    });
    const fixed = await ensureWebhookCertificates({ ...base, client });
    expect(fixed).toMatchObject({
      action: 'renewed',
      reason: 'secret holds unreadable certificates',
    });
  });
});

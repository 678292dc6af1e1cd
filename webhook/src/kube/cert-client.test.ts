import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { ensureWebhookCertificates } from '../certs/ensure-certs.js';
import type { FakeApiServer } from '../test-support/fake-api-server.js';
import { startFakeApiServer } from '../test-support/fake-api-server.js';
import { createCertKubeClient } from './cert-client.js';

const SECRET = '/api/v1/namespaces/dilu-system/secrets/dilu-webhook-tls';
const CONFIG = '/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations/dilu-webhook';

let api: FakeApiServer;
let stored: Record<string, unknown> | undefined;
const webhooks = [
  { name: 'knative.pods.dilu.dev', clientConfig: {} },
  { name: 'pods.dilu.dev', clientConfig: {} },
];

beforeAll(async () => {
  api = await startFakeApiServer(req => {
    if (req.path === SECRET && req.method === 'GET')
      return stored ? { status: 200, body: stored } : undefined;
    if (req.path === SECRET && req.method === 'PUT') {
      stored = req.body as Record<string, unknown>;
      return { status: 200, body: stored };
    }
    if (req.path === '/api/v1/namespaces/dilu-system/secrets' && req.method === 'POST') {
      stored = req.body as Record<string, unknown>;
      return { status: 201, body: stored };
    }
    if (req.path === CONFIG && req.method === 'GET') {
      return {
        status: 200,
        body: {
          apiVersion: 'admissionregistration.k8s.io/v1',
          kind: 'MutatingWebhookConfiguration',
          metadata: { name: 'dilu-webhook' },
          webhooks,
        },
      };
    }
    if (req.path === CONFIG && req.method === 'PATCH') {
      return { status: 200, body: { metadata: { name: 'dilu-webhook' }, webhooks } };
    }
    return undefined;
  });
});
afterAll(async () => {
  await api.close();
});

const options = {
  namespace: 'dilu-system',
  secretName: 'dilu-webhook-tls',
  serviceName: 'dilu-webhook',
  webhookConfigName: 'dilu-webhook',
};

describe('createCertKubeClient against an API server over HTTP', () => {
  it('creates the TLS Secret, then JSON-patches the caBundle of every webhook', async () => {
    const client = createCertKubeClient(api.kubeConfig());
    const r = await ensureWebhookCertificates({ ...options, client });
    expect(r.action).toBe('created');
    const create = api.requests.find(q => q.method === 'POST');
    expect(create?.body).toMatchObject({
      kind: 'Secret',
      type: 'kubernetes.io/tls',
      metadata: { name: 'dilu-webhook-tls', namespace: 'dilu-system' },
    });
    const data = (create?.body as { data: Record<string, string> }).data;
    expect(Object.keys(data).sort()).toEqual(['ca.crt', 'ca.key', 'tls.crt', 'tls.key']);
    expect(Buffer.from(data['tls.crt'] ?? '', 'base64').toString()).toMatch(
      /^-----BEGIN CERTIFICATE-----/,
    );
    const patch = api.requests.find(q => q.method === 'PATCH');
    expect(patch?.contentType).toBe('application/json-patch+json');
    expect(patch?.body).toEqual([
      { op: 'add', path: '/webhooks/0/clientConfig/caBundle', value: r.caBundle },
      { op: 'add', path: '/webhooks/1/clientConfig/caBundle', value: r.caBundle },
    ]);
  });

  it('reads the Secret back and leaves it alone while it is valid', async () => {
    const before = api.requests.length;
    const r = await ensureWebhookCertificates({
      ...options,
      client: createCertKubeClient(api.kubeConfig()),
    });
    expect(r.action).toBe('unchanged');
    const writes = api.requests
      .slice(before)
      .filter(q => q.method === 'POST' || q.method === 'PUT');
    expect(writes).toEqual([]);
  });

  it('says which configuration is missing', async () => {
    await expect(
      ensureWebhookCertificates({
        ...options,
        webhookConfigName: 'nope',
        client: createCertKubeClient(api.kubeConfig()),
      }),
    ).rejects.toThrow(
      'MutatingWebhookConfiguration "nope" not found; apply manifests/base/webhook first',
    );
  });
});

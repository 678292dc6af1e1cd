// Admission webhooks served by the test process itself: an HTTPS server on 127.0.0.1 with a
// certificate from its own throw-away CA, registered with the API server through a
// MutatingWebhookConfiguration whose clientConfig.url points at it. The API server calls it
// over real TLS, exactly as it would call the project's webhook in a cluster.
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import {
  AdmissionregistrationV1Api,
  type KubeConfig,
  type V1MutatingWebhookConfiguration,
  type V1RuleWithOperations,
} from '@kubernetes/client-node';
import { statusCodeOf } from './client.js';
import { createCertificateAuthority } from './pki.js';
import { waitFor } from './readiness.js';

/** The parts of an AdmissionReview request (admission.k8s.io/v1) tests look at. */
export interface AdmissionRequest {
  readonly uid: string;
  readonly kind: { group: string; version: string; kind: string };
  readonly resource: { group: string; version: string; resource: string };
  readonly namespace?: string;
  readonly name?: string;
  readonly operation: string;
  readonly dryRun?: boolean;
  readonly object?: Record<string, unknown>;
}

export interface JsonPatchOperation {
  readonly op: 'add' | 'remove' | 'replace' | 'copy' | 'move' | 'test';
  readonly path: string;
  readonly value?: unknown;
  readonly from?: string;
}

export interface AdmissionDecision {
  readonly allowed: boolean;
  readonly patch?: readonly JsonPatchOperation[];
  readonly message?: string;
}

export type AdmissionHandler = (request: AdmissionRequest) => AdmissionDecision;

export interface WebhookServer {
  /** https://127.0.0.1:<port><path> */
  url(path: string): string;
  /** PEM of the CA that signed the server's certificate, for clientConfig.caBundle. */
  readonly caPem: string;
  /** Every admission request received, in order. */
  readonly requests: readonly AdmissionRequest[];
  close(): Promise<void>;
}

function reviewResponse(uid: string, decision: AdmissionDecision): string {
  const response: Record<string, unknown> = { uid, allowed: decision.allowed };
  if (decision.patch !== undefined && decision.patch.length > 0) {
    response['patchType'] = 'JSONPatch';
    response['patch'] = Buffer.from(JSON.stringify(decision.patch)).toString('base64');
  }
  if (decision.message !== undefined) response['status'] = { message: decision.message };
  return JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response });
}

export async function startWebhookServer(handler: AdmissionHandler): Promise<WebhookServer> {
  const ca = createCertificateAuthority('dilu-testbed-webhook-ca');
  const serving = ca.issueServing('dilu-testbed-webhook', ['127.0.0.1', 'localhost']);
  const requests: AdmissionRequest[] = [];
  const server: Server = createServer(
    { cert: serving.certPem, key: serving.keyPem },
    (req, res) => {
      let body = '';
      req.setEncoding('utf8');
      req.on('data', (chunk: string) => (body += chunk));
      req.on('end', () => {
        try {
          const review = JSON.parse(body) as { request?: AdmissionRequest };
          if (review.request === undefined) throw new Error('AdmissionReview without a request');
          requests.push(review.request);
          const answer = reviewResponse(review.request.uid, handler(review.request));
          res.writeHead(200, { 'content-type': 'application/json' }).end(answer);
        } catch (err) {
          res.writeHead(400, { 'content-type': 'text/plain' }).end(String(err));
        }
      });
    },
  );
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: path => `https://127.0.0.1:${port}${path}`,
    caPem: ca.certPem,
    requests,
    close: () =>
      new Promise<void>(resolve => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export interface MutatingWebhookRegistration {
  readonly name: string;
  /** Deletes the configuration (404 tolerated). */
  remove(): Promise<void>;
}

/**
 * Registers `server` as a mutating webhook for `rules`, limited to one namespace so suites that
 * share the control plane do not see each other's webhooks.
 */
export async function registerMutatingWebhook(
  kc: KubeConfig,
  opts: {
    name: string;
    server: WebhookServer;
    path: string;
    rules: V1RuleWithOperations[];
    namespace: string;
    failurePolicy?: 'Fail' | 'Ignore';
  },
): Promise<MutatingWebhookRegistration> {
  const api = kc.makeApiClient(AdmissionregistrationV1Api);
  const body: V1MutatingWebhookConfiguration = {
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'MutatingWebhookConfiguration',
    metadata: { name: opts.name },
    webhooks: [
      {
        name: `${opts.name}.dilu.dev`,
        clientConfig: {
          url: opts.server.url(opts.path),
          caBundle: Buffer.from(opts.server.caPem).toString('base64'),
        },
        rules: opts.rules,
        namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': opts.namespace } },
        failurePolicy: opts.failurePolicy ?? 'Fail',
        sideEffects: 'None',
        admissionReviewVersions: ['v1'],
        timeoutSeconds: 10,
      },
    ],
  };
  await api.createMutatingWebhookConfiguration({ body });
  return {
    name: opts.name,
    async remove() {
      try {
        await api.deleteMutatingWebhookConfiguration({ name: opts.name });
      } catch (err) {
        if (statusCodeOf(err) !== 404) throw err;
      }
    },
  };
}

/**
 * The API server picks up a new webhook configuration asynchronously. Runs `probe` (a dry-run
 * request that the webhook should see) until the server has received one, so the test that
 * follows is not racing the API server's informer.
 */
export async function untilWebhookCalled(
  server: WebhookServer,
  probe: () => Promise<unknown>,
): Promise<void> {
  await waitFor(
    'webhook configuration active',
    async () => {
      const before = server.requests.length;
      await probe();
      return server.requests.length > before;
    },
    { timeoutMs: 30_000 },
  );
}

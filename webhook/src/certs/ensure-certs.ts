import type { PemPair } from './generate.js';
import {
  createCertificateAuthority,
  createServingCertificate,
  inspectCertificate,
} from './generate.js';

/** The Secret keys: the `kubernetes.io/tls` pair plus the CA that signed it. */
// A type alias, not an interface: it must also fit the plain string map the API returns.
export type WebhookTlsSecret = {
  readonly 'tls.crt': string;
  readonly 'tls.key': string;
  readonly 'ca.crt': string;
  readonly 'ca.key': string;
};

/** The few API calls `certs` makes; injected so the logic runs against any implementation. */
export interface CertKubeClient {
  /** Decoded Secret data, or undefined when the Secret does not exist. */
  readSecret(namespace: string, name: string): Promise<Partial<Record<string, string>> | undefined>;
  /** Creates or replaces the Secret (type kubernetes.io/tls). */
  writeSecret(
    namespace: string,
    name: string,
    data: WebhookTlsSecret,
    exists: boolean,
  ): Promise<void>;
  /** Number of webhooks in the MutatingWebhookConfiguration (404 -> error naming it). */
  countWebhooks(configName: string): Promise<number>;
  /** Sets clientConfig.caBundle (base64 PEM) of every webhook in the configuration. */
  patchCaBundle(configName: string, webhookCount: number, caBundleBase64: string): Promise<void>;
}

export interface EnsureCertsOptions {
  readonly client: CertKubeClient;
  readonly namespace: string;
  readonly secretName: string;
  readonly serviceName: string;
  readonly webhookConfigName: string;
  /** @default 3650 */
  readonly caValidDays?: number;
  /** @default 365 */
  readonly certValidDays?: number;
  /** Renew the serving certificate when it expires within this many days. @default 30 */
  readonly renewBeforeDays?: number;
  readonly now?: Date;
}

export interface EnsureCertsResult {
  readonly action: 'created' | 'renewed' | 'unchanged';
  readonly reason: string;
  readonly caBundle: string;
  readonly dnsNames: readonly string[];
}

const DAY_MS = 86_400_000;

export function serviceDnsNames(service: string, namespace: string): string[] {
  return [
    service,
    `${service}.${namespace}`,
    `${service}.${namespace}.svc`,
    `${service}.${namespace}.svc.cluster.local`,
  ];
}

/**
 * Makes sure the webhook's TLS Secret holds a CA and a serving certificate for the Service's
 * DNS names that is valid for a while yet, and that the MutatingWebhookConfiguration trusts
 * that CA. Idempotent: a second run changes nothing until renewal is due. The CA is kept
 * across renewals (while it is itself valid), so the caBundle the API server holds stays good
 * while the serving certificate rotates underneath it.
 */
export async function ensureWebhookCertificates(
  options: EnsureCertsOptions,
): Promise<EnsureCertsResult> {
  const now = options.now ?? new Date();
  const renewBefore = (options.renewBeforeDays ?? 30) * DAY_MS;
  const dnsNames = serviceDnsNames(options.serviceName, options.namespace);
  const { client } = options;

  const webhookCount = await client.countWebhooks(options.webhookConfigName);
  const existing = await client.readSecret(options.namespace, options.secretName);
  const verdict = judge(existing, dnsNames, now, renewBefore);

  const secret =
    verdict.keep && existing
      ? asTlsSecret(existing)
      : issue(options, dnsNames, now, verdict.keepCa ? existing : undefined);
  if (!verdict.keep) {
    await client.writeSecret(options.namespace, options.secretName, secret, existing !== undefined);
  }
  const caBundle = Buffer.from(secret['ca.crt']).toString('base64');
  await client.patchCaBundle(options.webhookConfigName, webhookCount, caBundle);
  return {
    action: verdict.keep ? 'unchanged' : existing ? 'renewed' : 'created',
    reason: verdict.reason,
    caBundle,
    dnsNames,
  };
}

function asTlsSecret(s: Partial<Record<string, string>>): WebhookTlsSecret {
  return {
    'tls.crt': s['tls.crt'] ?? '',
    'tls.key': s['tls.key'] ?? '',
    'ca.crt': s['ca.crt'] ?? '',
    'ca.key': s['ca.key'] ?? '',
  };
}

/** A new serving certificate, signed by the kept CA when there is one, else by a new CA. */
function issue(
  options: EnsureCertsOptions,
  dnsNames: readonly string[],
  now: Date,
  keepCaFrom: Partial<Record<string, string>> | undefined,
): WebhookTlsSecret {
  const caCrt = keepCaFrom?.['ca.crt'];
  const caKey = keepCaFrom?.['ca.key'];
  const ca: PemPair =
    caCrt && caKey
      ? { certPem: caCrt, keyPem: caKey }
      : createCertificateAuthority({
          commonName: `${options.serviceName}.${options.namespace} CA`,
          validDays: options.caValidDays ?? 3650,
          now,
        });
  const serving = createServingCertificate({
    ca,
    dnsNames,
    validDays: options.certValidDays ?? 365,
    now,
  });
  return {
    'tls.crt': serving.certPem,
    'tls.key': serving.keyPem,
    'ca.crt': ca.certPem,
    'ca.key': ca.keyPem,
  };
}

interface Verdict {
  readonly keep: boolean;
  readonly keepCa: boolean;
  readonly reason: string;
}

function judge(
  s: Partial<Record<string, string>> | undefined,
  dnsNames: readonly string[],
  now: Date,
  renewBefore: number,
): Verdict {
  if (!s) return { keep: false, keepCa: false, reason: 'secret does not exist' };
  const crt = s['tls.crt'];
  const caCrt = s['ca.crt'];
  if (!crt || !s['tls.key'] || !caCrt || !s['ca.key']) {
    return {
      keep: false,
      keepCa: false,
      reason: 'secret lacks tls.crt, tls.key, ca.crt or ca.key',
    };
  }
  let ca, cert;
  try {
    ca = inspectCertificate(caCrt);
    cert = inspectCertificate(crt);
  } catch {
    return { keep: false, keepCa: false, reason: 'secret holds unreadable certificates' };
  }
  const caOk = ca.notAfter.getTime() - now.getTime() > renewBefore;
  if (!caOk) return { keep: false, keepCa: false, reason: 'CA expires soon' };
  if (!cert.issuedBy(caCrt))
    return { keep: false, keepCa: true, reason: 'certificate not signed by the CA in the secret' };
  if (cert.notAfter.getTime() - now.getTime() <= renewBefore) {
    return { keep: false, keepCa: true, reason: 'serving certificate expires soon' };
  }
  const missing = dnsNames.filter(n => !cert.dnsNames.includes(n));
  if (missing.length > 0)
    return {
      keep: false,
      keepCa: true,
      reason: `certificate lacks DNS names ${missing.join(', ')}`,
    };
  return { keep: true, keepCa: true, reason: 'certificate valid' };
}

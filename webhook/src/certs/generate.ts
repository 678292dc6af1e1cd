import { generateKeyPairSync, randomBytes, sign } from 'node:crypto';
import forge from 'node-forge';

export interface PemPair {
  readonly certPem: string;
  readonly keyPem: string;
}

export interface CertificateAuthority extends PemPair {
  readonly commonName: string;
}

const DAY_MS = 86_400_000;

/** RSA keys come from Node's crypto (native and fast); node-forge only builds certificates. */
function newKeyPair(): { publicKey: forge.pki.rsa.PublicKey; keyPem: string } {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const keyPem = privateKey.export({ type: 'pkcs1', format: 'pem' }).toString();
  const publicPem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
  return { publicKey: forge.pki.publicKeyFromPem(publicPem), keyPem };
}

/**
 * Signs with SHA-256/RSA through Node's crypto. forge's own RSA private-key operation is
 * pure JavaScript: fine once, but seconds per certificate under a test runner's VM context.
 * The result is the same PKCS#1 v1.5 signature forge would compute.
 */
function signCertificate(cert: forge.pki.Certificate, signerKeyPem: string): void {
  cert.signatureOid = forge.pki.oids.sha256WithRSAEncryption ?? '1.2.840.113549.1.1.11';
  cert.siginfo.algorithmOid = cert.signatureOid;
  // The first element of the certificate's ASN.1 is the to-be-signed part.
  const tbsAsn1 = (forge.pki.certificateToAsn1(cert).value as forge.asn1.Asn1[])[0];
  if (!tbsAsn1) throw new Error('certificate has no to-be-signed part');
  cert.tbsCertificate = tbsAsn1;
  const tbs = Buffer.from(forge.asn1.toDer(tbsAsn1).getBytes(), 'binary');
  cert.signature = sign('sha256', tbs, signerKeyPem).toString('binary');
}

function serialNumber(): string {
  // Positive 128-bit serial: clear the top bit so DER does not read it as negative.
  const bytes = randomBytes(16);
  bytes[0] = (bytes[0] ?? 0) & 0x7f;
  return bytes.toString('hex');
}

function validity(cert: forge.pki.Certificate, now: Date, days: number): void {
  // Backdated a little: clocks of the API server and this pod may disagree by seconds.
  cert.validity.notBefore = new Date(now.getTime() - 5 * 60_000);
  cert.validity.notAfter = new Date(now.getTime() + days * DAY_MS);
}

export function createCertificateAuthority(options: {
  commonName: string;
  validDays: number;
  now?: Date;
}): CertificateAuthority {
  const keys = newKeyPair();
  const cert = forge.pki.createCertificate();
  cert.publicKey = keys.publicKey;
  cert.serialNumber = serialNumber();
  validity(cert, options.now ?? new Date(), options.validDays);
  const subject = [{ name: 'commonName', value: options.commonName }];
  cert.setSubject(subject);
  cert.setIssuer(subject);
  cert.setExtensions([
    { name: 'basicConstraints', cA: true, critical: true, pathLenConstraint: 0 },
    { name: 'keyUsage', keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true },
    { name: 'subjectKeyIdentifier' },
  ]);
  signCertificate(cert, keys.keyPem);
  return {
    commonName: options.commonName,
    certPem: forge.pki.certificateToPem(cert),
    keyPem: keys.keyPem,
  };
}

/** A serving certificate for the webhook's Service DNS names (and IPs, for tests on loopback). */
export function createServingCertificate(options: {
  ca: PemPair;
  dnsNames: readonly string[];
  ipAddresses?: readonly string[];
  validDays: number;
  now?: Date;
}): PemPair {
  const caCert = forge.pki.certificateFromPem(options.ca.certPem);
  const keys = newKeyPair();
  const cert = forge.pki.createCertificate();
  cert.publicKey = keys.publicKey;
  cert.serialNumber = serialNumber();
  validity(cert, options.now ?? new Date(), options.validDays);
  cert.setSubject([{ name: 'commonName', value: options.dnsNames[0] ?? 'dilu-webhook' }]);
  cert.setIssuer(caCert.subject.attributes);
  cert.setExtensions([
    { name: 'basicConstraints', cA: false },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
    { name: 'extKeyUsage', serverAuth: true },
    {
      name: 'subjectAltName',
      altNames: [
        ...options.dnsNames.map(value => ({ type: 2, value })),
        ...(options.ipAddresses ?? []).map(ip => ({ type: 7, ip })),
      ],
    },
  ]);
  signCertificate(cert, options.ca.keyPem);
  return { certPem: forge.pki.certificateToPem(cert), keyPem: keys.keyPem };
}

export interface CertificateFacts {
  readonly notAfter: Date;
  readonly dnsNames: readonly string[];
  readonly issuedBy: (caPem: string) => boolean;
}

/** What the renewal check needs to know about an existing certificate. */
export function inspectCertificate(certPem: string): CertificateFacts {
  const cert = forge.pki.certificateFromPem(certPem);
  const san = cert.getExtension('subjectAltName') as {
    altNames?: { type: number; value?: string }[];
  } | null;
  const dnsNames = (san?.altNames ?? [])
    .filter(a => a.type === 2 && a.value !== undefined)
    .map(a => a.value ?? '');
  return {
    notAfter: cert.validity.notAfter,
    dnsNames,
    issuedBy: caPem => {
      try {
        return forge.pki.certificateFromPem(caPem).verify(cert);
      } catch {
        return false;
      }
    },
  };
}

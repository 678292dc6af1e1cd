// Credentials for one test-bed run: a throw-away CA, serving certificates it signs (API server,
// controller-manager, scheduler, webhooks served by tests) and the service-account key pair.
// Keys come from Node's crypto (native, fast); node-forge builds and signs the X.509 structures.
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { isIP } from 'node:net';
import forge from 'node-forge';

export interface KeyPairPem {
  readonly publicKeyPem: string;
  readonly privateKeyPem: string;
}

export interface IssuedCertificate {
  readonly certPem: string;
  readonly keyPem: string;
}

export interface CertificateAuthority {
  readonly certPem: string;
  readonly keyPem: string;
  /** A serving certificate for the given host names and IP addresses. */
  issueServing(commonName: string, hosts: readonly string[]): IssuedCertificate;
}

export function generateRsaKeyPair(bits = 2048): KeyPairPem {
  const { publicKey, privateKey } = generateKeyPairSync('rsa', {
    modulusLength: bits,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
  return { publicKeyPem: publicKey, privateKeyPem: privateKey };
}

function newCertificate(
  commonName: string,
  publicKeyPem: string,
  validDays: number,
): forge.pki.Certificate {
  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.publicKeyFromPem(publicKeyPem);
  // A positive serial: a leading 0x01 byte keeps the DER integer from reading as negative.
  cert.serialNumber = `01${randomBytes(15).toString('hex')}`;
  // Backdated an hour so clocks that differ slightly still accept it.
  cert.validity.notBefore = new Date(Date.now() - 3600_000);
  cert.validity.notAfter = new Date(Date.now() + validDays * 86400_000);
  cert.setSubject([{ name: 'commonName', value: commonName }]);
  return cert;
}

export function createCertificateAuthority(commonName = 'dilu-testbed-ca'): CertificateAuthority {
  const caKeys = generateRsaKeyPair();
  const caKey = forge.pki.privateKeyFromPem(caKeys.privateKeyPem);
  const ca = newCertificate(commonName, caKeys.publicKeyPem, 2);
  ca.setIssuer(ca.subject.attributes);
  ca.setExtensions([
    { name: 'basicConstraints', cA: true, critical: true },
    { name: 'keyUsage', keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true },
    { name: 'subjectKeyIdentifier' },
  ]);
  ca.sign(caKey, forge.md.sha256.create());

  return {
    certPem: forge.pki.certificateToPem(ca),
    keyPem: caKeys.privateKeyPem,
    issueServing(cn, hosts) {
      const keys = generateRsaKeyPair();
      const cert = newCertificate(cn, keys.publicKeyPem, 1);
      cert.setIssuer(ca.subject.attributes);
      cert.setExtensions([
        { name: 'basicConstraints', cA: false },
        { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
        { name: 'extKeyUsage', serverAuth: true },
        {
          name: 'subjectAltName',
          altNames: hosts.map(h => (isIP(h) === 0 ? { type: 2, value: h } : { type: 7, ip: h })),
        },
      ]);
      cert.sign(caKey, forge.md.sha256.create());
      return { certPem: forge.pki.certificateToPem(cert), keyPem: keys.privateKeyPem };
    },
  };
}

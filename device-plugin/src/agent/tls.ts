import { readFileSync } from 'node:fs';
import forge from 'node-forge';

export interface TlsMaterial {
  readonly cert: string;
  readonly key: string;
}

/** Certificate and key from files (a mounted Secret); errors name the file. */
export function loadTls(certFile: string, keyFile: string): TlsMaterial {
  const read = (f: string): string => {
    try {
      return readFileSync(f, 'utf8');
    } catch (err) {
      throw new Error(`agent.tls: cannot read ${f}: ${(err as Error).message}`, { cause: err });
    }
  };
  return { cert: read(certFile), key: read(keyFile) };
}

/** A self-signed certificate for the given DNS names and IPs (development and tests only). */
export function selfSignedTls(
  dnsNames: readonly string[],
  ips: readonly string[] = ['127.0.0.1'],
): TlsMaterial {
  const keys = forge.pki.rsa.generateKeyPair(2048);
  const cert = forge.pki.createCertificate();
  cert.publicKey = keys.publicKey;
  cert.serialNumber = `01${forge.util.bytesToHex(forge.random.getBytesSync(8))}`;
  cert.validity.notBefore = new Date(Date.now() - 60_000);
  cert.validity.notAfter = new Date(Date.now() + 365 * 24 * 3600 * 1000);
  const subject = [{ name: 'commonName', value: dnsNames[0] ?? 'dilu-node-agent' }];
  cert.setSubject(subject);
  cert.setIssuer(subject);
  cert.setExtensions([
    { name: 'basicConstraints', cA: false },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true },
    { name: 'extKeyUsage', serverAuth: true },
    {
      name: 'subjectAltName',
      altNames: [
        ...dnsNames.map(value => ({ type: 2, value })),
        ...ips.map(ip => ({ type: 7, ip })),
      ],
    },
  ]);
  cert.sign(keys.privateKey, forge.md.sha256.create());
  return {
    cert: forge.pki.certificateToPem(cert),
    key: forge.pki.privateKeyToPem(keys.privateKey),
  };
}

import { X509Certificate, createPrivateKey, createPublicKey } from 'node:crypto';
import { describe, expect, it } from '@jest/globals';
import { createCertificateAuthority, generateRsaKeyPair } from './pki.js';

describe('createCertificateAuthority', () => {
  const ca = createCertificateAuthority('test-ca');

  it('is a self-signed CA certificate', () => {
    const cert = new X509Certificate(ca.certPem);
    expect(cert.ca).toBe(true);
    expect(cert.subject).toBe('CN=test-ca');
    expect(cert.verify(cert.publicKey)).toBe(true);
  });

  it('issues serving certificates it signed, for IPs and names', () => {
    const issued = ca.issueServing('server', ['127.0.0.1', 'localhost']);
    const cert = new X509Certificate(issued.certPem);
    expect(cert.ca).toBe(false);
    expect(cert.checkIssued(new X509Certificate(ca.certPem))).toBe(true);
    expect(cert.verify(new X509Certificate(ca.certPem).publicKey)).toBe(true);
    expect(cert.checkIP('127.0.0.1')).toBe('127.0.0.1');
    expect(cert.checkHost('localhost')).toBe('localhost');
    expect(cert.checkHost('example.com')).toBeUndefined();
    expect(cert.keyUsage).toContain('1.3.6.1.5.5.7.3.1'); // serverAuth
    // The key file matches the certificate.
    expect(
      createPublicKey(createPrivateKey(issued.keyPem)).export({ type: 'spki', format: 'pem' }),
    ).toBe(cert.publicKey.export({ type: 'spki', format: 'pem' }));
  });
});

describe('generateRsaKeyPair', () => {
  it('returns a matching PEM pair (the service-account signing keys)', () => {
    const keys = generateRsaKeyPair();
    expect(keys.privateKeyPem).toContain('BEGIN PRIVATE KEY');
    expect(
      createPublicKey(createPrivateKey(keys.privateKeyPem)).export({ type: 'spki', format: 'pem' }),
    ).toBe(keys.publicKeyPem);
  });
});

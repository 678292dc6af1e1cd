import https from 'node:https';
import type { PeerCertificate } from 'node:tls';
import { TLSSocket } from 'node:tls';

export interface HttpsReply {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly text: string;
  readonly peerCertificate?: PeerCertificate;
}

/**
 * One HTTPS request that trusts only `ca`, as the API server does with the webhook's caBundle.
 * Pass an agent to reuse connections (the load benchmark), or none for a fresh TLS handshake.
 */
export function httpsRequest(options: {
  url: string;
  ca: string;
  method?: string;
  body?: string | Buffer;
  headers?: Record<string, string>;
  agent?: https.Agent;
}): Promise<HttpsReply> {
  return new Promise((resolve, reject) => {
    const req = https.request(
      options.url,
      {
        method: options.method ?? 'GET',
        ca: options.ca,
        headers: options.headers,
        agent: options.agent ?? false,
      },
      res => {
        const chunks: Buffer[] = [];
        const cert = res.socket instanceof TLSSocket ? res.socket.getPeerCertificate() : undefined;
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            text: Buffer.concat(chunks).toString('utf8'),
            ...(cert ? { peerCertificate: cert } : {}),
          });
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    if (options.body !== undefined) req.end(options.body);
    else req.end();
  });
}

/** POSTs a JSON body (an AdmissionReview) to the webhook. */
export function postJson(
  url: string,
  ca: string,
  body: unknown,
  agent?: https.Agent,
): Promise<HttpsReply> {
  return httpsRequest({
    url,
    ca,
    method: 'POST',
    body: JSON.stringify(body),
    headers: { 'content-type': 'application/json' },
    ...(agent ? { agent } : {}),
  });
}

import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { KubeConfig } from '@kubernetes/client-node';

/**
 * A few Kubernetes API endpoints on real HTTP at 127.0.0.1, for exercising the client-node code
 * paths (requests, patches, list + watch) without a cluster. Handlers see the method, the path
 * without query, the query and the parsed JSON body.
 */
export interface FakeRequest {
  readonly method: string;
  readonly path: string;
  readonly query: URLSearchParams;
  readonly body: unknown;
  readonly contentType: string | undefined;
}

export type FakeHandler = (req: FakeRequest) => { status: number; body?: unknown } | undefined;

export interface FakeApiServer {
  readonly url: string;
  readonly requests: FakeRequest[];
  /** Sends a watch event to every open watch on `path`. */
  emit(path: string, type: 'ADDED' | 'MODIFIED' | 'DELETED', object: unknown): void;
  /** Open watches per path. */
  watchers(path: string): number;
  kubeConfig(): KubeConfig;
  close(): Promise<void>;
}

export async function startFakeApiServer(handler: FakeHandler): Promise<FakeApiServer> {
  const requests: FakeRequest[] = [];
  const watches = new Map<string, Set<http.ServerResponse>>();
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://x');
      const text = Buffer.concat(chunks).toString('utf8');
      const fake: FakeRequest = {
        method: req.method ?? 'GET',
        path: url.pathname,
        query: url.searchParams,
        body: text ? (JSON.parse(text) as unknown) : undefined,
        contentType: req.headers['content-type'],
      };
      requests.push(fake);
      if (fake.method === 'GET' && url.searchParams.get('watch') === 'true') {
        res.writeHead(200, { 'content-type': 'application/json' });
        // Headers go out now: the client's watch resolves on them, events come later.
        res.flushHeaders();
        const set = watches.get(fake.path) ?? new Set();
        set.add(res);
        watches.set(fake.path, set);
        res.on('close', () => set.delete(res));
        return;
      }
      const answer = handler(fake) ?? { status: 404, body: notFound(fake.path) };
      res.writeHead(answer.status, { 'content-type': 'application/json' });
      res.end(answer.body === undefined ? '' : JSON.stringify(answer.body));
    });
  });
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    requests,
    emit(path, type, object) {
      for (const res of watches.get(path) ?? []) res.write(`${JSON.stringify({ type, object })}\n`);
    },
    watchers: path => watches.get(path)?.size ?? 0,
    kubeConfig() {
      const kc = new KubeConfig();
      kc.loadFromOptions({
        clusters: [{ name: 'fake', server: url, skipTLSVerify: true }],
        users: [{ name: 'u', token: 'test-token' }],
        contexts: [{ name: 'fake', cluster: 'fake', user: 'u' }],
        currentContext: 'fake',
      });
      return kc;
    },
    close: () =>
      new Promise<void>(resolve => {
        for (const set of watches.values()) for (const res of set) res.end();
        server.closeAllConnections();
        server.close(() => {
          resolve();
        });
      }),
  };
}

function notFound(path: string): unknown {
  return {
    kind: 'Status',
    apiVersion: 'v1',
    status: 'Failure',
    reason: 'NotFound',
    code: 404,
    message: `${path} not found`,
  };
}

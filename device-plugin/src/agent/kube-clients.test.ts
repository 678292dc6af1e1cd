import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { KubeConfig } from '@kubernetes/client-node';
import { publishMemoryUnit } from '../app/node-annotations.js';
import { createCachingReviewer, createKubeTokenReviewer } from './auth.js';
import { createKubePodReader, smLimitOf } from './pod-reader.js';
import type { PodLike } from './pod-reader.js';

// A stand-in API server on 127.0.0.1: answers TokenReview and pod reads the way the real one does.
const seen: {
  method: string;
  url: string;
  body: unknown;
  auth: string | undefined;
  contentType?: string;
}[] = [];
const server = createServer((req, res) => {
  let text = '';
  req.on('data', (d: Buffer) => (text += d.toString()));
  req.on('end', () => {
    const body: unknown = text === '' ? undefined : JSON.parse(text);
    seen.push({
      method: req.method ?? '',
      url: req.url ?? '',
      body,
      auth: req.headers.authorization,
    });
    res.setHeader('content-type', 'application/json');
    if (req.method === 'POST' && req.url === '/apis/authentication.k8s.io/v1/tokenreviews') {
      const token = (body as { spec: { token: string } }).spec.token;
      const status =
        token === 'sa-token'
          ? {
              authenticated: true,
              user: { username: 'system:serviceaccount:dilu-system:dilu-autoscaler' },
              audiences: ['dilu-node-agent'],
            }
          : { authenticated: false, error: 'invalid bearer token' };
      res.end(
        JSON.stringify({
          apiVersion: 'authentication.k8s.io/v1',
          kind: 'TokenReview',
          spec: {},
          status,
        }),
      );
    } else if (req.method === 'PATCH' && req.url === '/api/v1/nodes/gpu-node-1') {
      seen[seen.length - 1]!.contentType = req.headers['content-type'];
      res.end(JSON.stringify({ apiVersion: 'v1', kind: 'Node', metadata: { name: 'gpu-node-1' } }));
    } else if (req.url === '/api/v1/namespaces/fn/pods/a-1') {
      res.end(
        JSON.stringify({
          apiVersion: 'v1',
          kind: 'Pod',
          metadata: { name: 'a-1', namespace: 'fn', uid: 'uid-a' },
          spec: {
            containers: [
              {
                name: 'function',
                image: 'x',
                env: [{ name: 'CUDA_MPS_ACTIVE_THREAD_PERCENTAGE', value: '60' }],
              },
            ],
          },
        }),
      );
    } else {
      res.statusCode = 404;
      res.end(
        JSON.stringify({
          kind: 'Status',
          apiVersion: 'v1',
          status: 'Failure',
          reason: 'NotFound',
          code: 404,
        }),
      );
    }
  });
});
let kc: KubeConfig;

beforeAll(async () => {
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve));
  kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [
      {
        name: 'c',
        server: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
        skipTLSVerify: true,
      },
    ],
    users: [{ name: 'u', token: 'agent-own-token' }],
    contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
    currentContext: 'x',
  });
});
afterAll(() => new Promise<void>(resolve => server.close(() => resolve())));

describe('createKubeTokenReviewer', () => {
  it('posts a TokenReview with the audiences and returns the user', async () => {
    const reviewer = createKubeTokenReviewer(kc, ['dilu-node-agent']);
    await expect(reviewer.review('sa-token')).resolves.toEqual({
      authenticated: true,
      username: 'system:serviceaccount:dilu-system:dilu-autoscaler',
    });
    const post = seen.find(s => s.method === 'POST');
    expect(post).toMatchObject({
      auth: 'Bearer agent-own-token',
      body: { kind: 'TokenReview', spec: { token: 'sa-token', audiences: ['dilu-node-agent'] } },
    });
    await expect(reviewer.review('nope')).resolves.toEqual({
      authenticated: false,
      reason: 'invalid bearer token',
    });
  });

  it('reviews a token once per TTL when cached', async () => {
    let t = 0;
    const reviewer = createCachingReviewer(createKubeTokenReviewer(kc, []), 30_000, () => t);
    const before = seen.length;
    await reviewer.review('sa-token');
    await reviewer.review('sa-token');
    expect(seen.length - before).toBe(1);
    t = 31_000;
    await reviewer.review('sa-token');
    expect(seen.length - before).toBe(2);
  });
});

describe('createKubePodReader', () => {
  it('reads the UID and the SM limit of the container; undefined for a missing pod', async () => {
    const pods = createKubePodReader(kc);
    await expect(pods.read('fn', 'a-1', 'function')).resolves.toEqual({
      uid: 'uid-a',
      smLimit: 60,
    });
    await expect(pods.read('fn', 'gone', 'function')).resolves.toBeUndefined();
  });
});

describe('publishMemoryUnit', () => {
  it('merge-patches the memory unit annotation onto the node', async () => {
    await publishMemoryUnit(kc, 'gpu-node-1', 256);
    expect(seen.find(s => s.method === 'PATCH')).toMatchObject({
      url: '/api/v1/nodes/gpu-node-1',
      contentType: 'application/merge-patch+json',
      body: { metadata: { annotations: { 'dilu.dev/memory-unit-mib': '256' } } },
    });
  });
});

describe('smLimitOf', () => {
  const pod = (env: { name: string; value?: string }[], decision?: string): PodLike => ({
    metadata: {
      uid: 'u',
      annotations: decision === undefined ? {} : { 'dilu.dev/decision': decision },
    },
    spec: {
      containers: [
        { name: 'fn', env },
        { name: 'queue-proxy', env: [{ name: 'CUDA_MPS_ACTIVE_THREAD_PERCENTAGE', value: '10' }] },
      ],
    },
  });
  it('prefers the container env, falls back to the decision annotation, ignores nonsense', () => {
    expect(
      smLimitOf(
        pod([{ name: 'CUDA_MPS_ACTIVE_THREAD_PERCENTAGE', value: '45' }], '{"smLimit":70}'),
        'fn',
      ),
    ).toBe(45);
    expect(smLimitOf(pod([], '{"smRequest":30,"smLimit":70}'), 'fn')).toBe(70);
    expect(
      smLimitOf(pod([{ name: 'CUDA_MPS_ACTIVE_THREAD_PERCENTAGE', value: '400' }]), 'fn'),
    ).toBeUndefined();
    expect(smLimitOf(pod([], 'not json'), 'fn')).toBeUndefined();
    expect(smLimitOf(pod([]), 'fn')).toBeUndefined();
  });
});

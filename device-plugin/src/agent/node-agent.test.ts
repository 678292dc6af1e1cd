import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { pino } from 'pino';
import { createFakeNvidiaSmi } from '../gpu/fake-nvidia-smi.js';
import { createNvidiaSmiInventory } from '../gpu/nvidia-smi-inventory.js';
import { memDeviceId, smDeviceId } from '../kubelet/resources.js';
import { DevicePluginMetrics } from '../metrics/metrics.js';
import { createGpuMonitor } from '../node/gpu-monitor.js';
import { createAllocationStore } from '../quota/allocation-store.js';
import { httpsCall } from '../testing/https-client.js';
import { PodResourcesStub, podHolding } from '../testing/pod-resources-stub.js';
import { createAllocationSync } from './allocation-sync.js';
import { createCachingReviewer } from './auth.js';
import type { TokenReviewer } from './auth.js';
import { createAgentApp } from './http-app.js';
import type { PodFacts, PodReader } from './pod-reader.js';
import { createPodResourcesLister } from './pod-resources.js';
import { createQuotaService } from './quota-service.js';
import { listenHttps } from './servers.js';
import { selfSignedTls } from './tls.js';
import type { TlsMaterial } from './tls.js';

const AUTOSCALER = 'system:serviceaccount:dilu-system:dilu-autoscaler';
const TOKENS: Record<string, string> = {
  'good-token': AUTOSCALER,
  'other-token': 'system:serviceaccount:default:default',
};
const reviewer: TokenReviewer = {
  review: token =>
    Promise.resolve(
      TOKENS[token] === undefined
        ? { authenticated: false, reason: 'token not valid' }
        : { authenticated: true, username: TOKENS[token] },
    ),
};

let tls: TlsMaterial;
beforeAll(() => {
  tls = selfSignedTls(['dilu-node-agent.dilu-system.svc']);
});

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const A_SM = Array.from({ length: 30 }, (_, i) => smDeviceId(0, i)); // r = 30
const B_SM = Array.from({ length: 20 }, (_, i) => smDeviceId(0, 30 + i)); // r = 20
const C_SM = Array.from({ length: 10 }, (_, i) => smDeviceId(0, 50 + i)); // r = 10, no pod yet

async function agent(root = mkdtempSync(join(tmpdir(), 'dilu-agent-'))) {
  cleanups.push(() => rmSync(root, { recursive: true, force: true }));
  const log = pino({ level: 'silent' });
  const metrics = new DevicePluginMetrics();
  const gpus = join(root, 'gpus.yaml');
  writeFileSync(
    gpus,
    'gpus:\n  - uuid: GPU-5f0e2bd4-7c1a-4d1e-9a4b-0c3e2f1a9b77\n    memoryMiB: 81920\n',
  );
  const monitor = createGpuMonitor({
    inventory: createNvidiaSmiInventory({
      run: createFakeNvidiaSmi({ file: gpus }),
      binary: 'nvidia-smi',
      timeoutMs: 1000,
    }),
    intervalMs: 3_600_000,
    mps: false,
    numaNode: () => Promise.resolve(undefined),
    log,
    metrics,
  });
  await monitor.start();
  cleanups.push(() => monitor.stop());
  const store = createAllocationStore({ stateDir: join(root, 'state'), log });
  await store.load();
  mkdirSync(join(root, 'kubelet'), { recursive: true });
  const socket = join(root, 'kubelet', 'pod-resources.sock');
  rmSync(socket, { force: true });
  const kubelet = await PodResourcesStub.start(socket);
  cleanups.push(() => kubelet.stop());
  const podFacts = new Map<string, PodFacts>([
    ['fn/a-1', { uid: 'uid-a', smLimit: 60 }],
    ['fn/b-1', { uid: 'uid-b', smLimit: 50 }],
  ]);
  const pods: PodReader = { read: (ns, name) => Promise.resolve(podFacts.get(`${ns}/${name}`)) };
  const lister = createPodResourcesLister(socket, 2000);
  cleanups.push(() => lister.close());
  const sync = createAllocationSync({
    lister,
    pods,
    store,
    gpuIndices: () => [0],
    memoryUnitMiB: 256,
    freshMs: 60_000,
    orphanGraceMs: 300_000,
    minIntervalMs: 0,
    log,
    metrics,
  });
  const quotas = createQuotaService({ store, sync, metrics });
  const app = createAgentApp({
    monitor,
    store,
    sync,
    quotas,
    reviewer: createCachingReviewer(reviewer, 30_000),
    allowedUsers: [AUTOSCALER],
    memoryUnitMiB: 256,
    metrics,
  });
  const server = await listenHttps(app, tls, '127.0.0.1', 0);
  cleanups.push(() => server.close());
  // token null: send no Authorization header.
  const call = (
    method: string,
    path: string,
    body?: unknown,
    token: string | null = 'good-token',
  ) =>
    httpsCall(`https://127.0.0.1:${server.port}${path}`, {
      method,
      body,
      token: token ?? undefined,
      ca: tls.cert,
    });
  const quotaFile = (id: string): Record<string, unknown> =>
    JSON.parse(
      readFileSync(join(root, 'state', 'allocations', id, 'quota.json'), 'utf8'),
    ) as Record<string, unknown>;
  return { root, store, kubelet, call, quotaFile, metrics };
}

/** Two running pods on GPU 0 (A: r 30, l 60, 4 GiB; B: r 20, l 50, 2 GiB). */
async function twoPods() {
  const n = await agent();
  const a = await n.store.recordAllocation({
    gpuIndex: 0,
    gpuUuid: 'GPU-5f0e2bd4-7c1a-4d1e-9a4b-0c3e2f1a9b77',
    smDeviceIds: A_SM,
  });
  const b = await n.store.recordAllocation({
    gpuIndex: 0,
    gpuUuid: 'GPU-5f0e2bd4-7c1a-4d1e-9a4b-0c3e2f1a9b77',
    smDeviceIds: B_SM,
  });
  const mem = (from: number, n: number) =>
    Array.from({ length: n }, (_, i) => memDeviceId(0, from + i));
  n.kubelet.pods = [
    podHolding({
      namespace: 'fn',
      name: 'a-1',
      container: 'function',
      gpuIndex: 0,
      smIds: A_SM,
      memIds: mem(0, 16),
    }),
    podHolding({
      namespace: 'fn',
      name: 'b-1',
      container: 'function',
      gpuIndex: 0,
      smIds: B_SM,
      memIds: mem(16, 8),
    }),
  ];
  return { ...n, a: a.allocationId, b: b.allocationId };
}

describe('node agent authentication', () => {
  it('answers 401 without a token or with a rejected one, 403 for a user not allowed', async () => {
    const n = await agent();
    const none = await n.call('GET', '/v1/allocations', undefined, null);
    expect(none.status).toBe(401);
    expect(none.headers['www-authenticate']).toBe('Bearer');
    expect(none.body).toEqual({
      error: 'missing bearer token (Authorization: Bearer <service-account token>)',
    });
    expect(
      (await n.call('PUT', '/v1/allocations/a-0000000000000000/quota', { quota: 5 }, 'forged'))
        .status,
    ).toBe(401);
    const other = await n.call('GET', '/v1/gpus', undefined, 'other-token');
    expect(other).toMatchObject({
      status: 403,
      body: { error: 'system:serviceaccount:default:default may not use the node agent' },
    });
    expect((await n.call('GET', '/v1/gpus')).status).toBe(200);
  });
});

describe('node agent allocations and quotas', () => {
  it('lists allocations with their pods, limits and memory from PodResources', async () => {
    const n = await twoPods();
    const res = await n.call('GET', `/v1/allocations/${n.a}`);
    expect(res).toMatchObject({
      status: 200,
      body: {
        allocationId: n.a,
        gpuIndex: 0,
        smRequest: 30,
        smLimit: 60,
        quota: 30,
        memoryMiB: 4096,
        pod: { namespace: 'fn', name: 'a-1', uid: 'uid-a', container: 'function' },
      },
    });
    const all = await n.call('GET', '/v1/allocations');
    expect((all.body as { allocationId: string }[]).map(x => x.allocationId).sort()).toEqual(
      [n.a, n.b].sort(),
    );
    expect(n.quotaFile(n.a)).toMatchObject({ smLimit: 60, memoryMiB: 4096, generation: 2 });
  });

  it('applies a quota within [request, limit] and writes it to the quota file', async () => {
    const n = await twoPods();
    await n.call('GET', '/v1/allocations');
    const before = n.quotaFile(n.a);
    const res = await n.call('PUT', `/v1/allocations/${n.a}/quota`, { quota: 55 });
    expect(res).toMatchObject({ status: 200, body: { allocationId: n.a, quota: 55 } });
    const after = n.quotaFile(n.a);
    expect(after).toMatchObject({
      quota: 55,
      smRequest: 30,
      smLimit: 60,
      generation: (before.generation as number) + 1,
    });
    const gpus = await n.call('GET', '/v1/gpus');
    expect(gpus.body).toEqual([
      expect.objectContaining({
        index: 0,
        healthy: true,
        smRequested: 50,
        quotaSum: 75,
        memoryAllocatedMiB: 6144,
        allocations: 2,
      }),
    ]);
  });

  it('refuses a change that would push the GPU over 100 % with 409, and changes nothing', async () => {
    const n = await twoPods();
    expect((await n.call('PUT', `/v1/allocations/${n.b}/quota`, { quota: 50 })).status).toBe(200);
    expect((await n.call('PUT', `/v1/allocations/${n.a}/quota`, { quota: 50 })).status).toBe(200); // Σ = 100
    const generation = n.quotaFile(n.a).generation;
    const res = await n.call('PUT', `/v1/allocations/${n.a}/quota`, { quota: 51 });
    expect(res).toEqual(
      expect.objectContaining({
        status: 409,
        body: {
          error:
            'GPU 0 has 50 % of quota left for this allocation; 51 would make the sum 101 % (> 100)',
          field: 'quota',
        },
      }),
    );
    expect(n.quotaFile(n.a)).toMatchObject({ quota: 50, generation });
  });

  it('rejects malformed requests with 400 and the field named', async () => {
    const n = await twoPods();
    await n.call('GET', '/v1/allocations');
    const put = (body: unknown, id = n.a) => n.call('PUT', `/v1/allocations/${id}/quota`, body);
    expect(await put({ quota: 61 })).toMatchObject({
      status: 400,
      body: {
        field: 'quota',
        error:
          "quota must be an integer in [30, 60] (the allocation's SM request and limit), got 61",
      },
    });
    expect(await put({ quota: 29 })).toMatchObject({ status: 400, body: { field: 'quota' } });
    expect(await put({ quota: 'forty' })).toMatchObject({ status: 400, body: { field: 'quota' } });
    expect(await put({ quota: 40.5 })).toMatchObject({
      status: 400,
      body: { field: 'quota', error: 'quota must be an integer' },
    });
    expect(await put({})).toMatchObject({ status: 400, body: { field: 'quota' } });
    expect(await put({ quota: 40, burst: true })).toMatchObject({
      status: 400,
      body: { field: 'burst' },
    });
    expect(await put('{"quota": 4')).toMatchObject({ status: 400, body: { field: 'body' } });
    expect(await put({ quota: 40 }, 'not-an-id')).toMatchObject({
      status: 400,
      body: { field: 'allocationId' },
    });
    expect(await put({ quota: 40 }, 'a-0123456789abcdef')).toMatchObject({ status: 404 });
    expect(n.quotaFile(n.a)).toMatchObject({ quota: 30 });
  });

  it('answers 409 for an allocation whose pod is not known yet', async () => {
    const n = await twoPods();
    const c = await n.store.recordAllocation({
      gpuIndex: 0,
      gpuUuid: 'GPU-5f0e2bd4-7c1a-4d1e-9a4b-0c3e2f1a9b77',
      smDeviceIds: C_SM,
    });
    const res = await n.call('PUT', `/v1/allocations/${c.allocationId}/quota`, { quota: 10 });
    expect(res).toMatchObject({
      status: 409,
      body: { error: expect.stringContaining('not matched to a running pod yet') },
    });
  });

  it('answers 409 for an allocation no container holds any more', async () => {
    const n = await twoPods();
    expect((await n.call('PUT', `/v1/allocations/${n.b}/quota`, { quota: 50 })).status).toBe(200);
    const old = new Date(Date.now() - 120_000).toISOString(); // allocated two minutes ago
    await n.store.update(n.b, () => ({ allocatedAt: old }));
    n.kubelet.pods = n.kubelet.pods.filter(p => p.name !== 'b-1'); // pod b-1 ended
    await n.call('GET', '/v1/allocations'); // the agent syncs with PodResources
    const res = await n.call('PUT', `/v1/allocations/${n.b}/quota`, { quota: 30 });
    expect(res).toMatchObject({
      status: 409,
      body: { error: expect.stringContaining('no container holds') },
    });
    // b no longer counts toward the GPU's sum: 60 + 50 would exceed 100 if it did
    expect((await n.call('PUT', `/v1/allocations/${n.a}/quota`, { quota: 60 })).status).toBe(200);
  });

  it('keeps quotas and pods across an agent restart', async () => {
    const n = await twoPods();
    expect((await n.call('PUT', `/v1/allocations/${n.a}/quota`, { quota: 45 })).status).toBe(200);
    // A new agent process on the same state directory; its kubelet does not list the pods yet.
    n.kubelet.stop();
    const restarted = await agent(n.root);
    const res = await restarted.call('GET', `/v1/allocations/${n.a}`);
    expect(res).toMatchObject({
      status: 200,
      body: { quota: 45, smLimit: 60, pod: { namespace: 'fn', name: 'a-1', uid: 'uid-a' } },
    });
  });
});

import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from '@jest/globals';
import { pino } from 'pino';
import { createFakeNvidiaSmi } from '../gpu/fake-nvidia-smi.js';
import { createNvidiaSmiInventory } from '../gpu/nvidia-smi-inventory.js';
import { DevicePluginMetrics } from '../metrics/metrics.js';
import { createGpuMonitor } from '../node/gpu-monitor.js';
import { readNumaNode } from '../node/numa.js';
import { allocationIdFor } from '../quota/allocation-id.js';
import { createAllocationStore } from '../quota/allocation-store.js';
import { KubeletStub } from '../testing/kubelet-stub.js';
import { waitFor } from '../testing/wait.js';
import { createAllocator } from './allocator.js';
import { createPluginManager } from './plugin-manager.js';
import { smDeviceId, memDeviceId } from './resources.js';

const GPU0 = 'GPU-5f0e2bd4-7c1a-4d1e-9a4b-0c3e2f1a9b77';
const GPU1 = 'GPU-b1c2d3e4-0f1e-2d3c-4b5a-69788796a5b4';
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** A node with two fake GPUs, the plugin wired as in production, and a kubelet stub. */
async function node(options: { kubeletFirst?: boolean } = {}) {
  const root = mkdtempSync(join(tmpdir(), 'dilu-dp-'));
  cleanups.push(() => rmSync(root, { recursive: true, force: true }));
  const dir = join(root, 'device-plugins');
  mkdirSync(dir);
  const gpusFile = join(root, 'gpus.yaml');
  writeFileSync(
    gpusFile,
    `gpus:
  - { uuid: ${GPU0}, memoryMiB: 81920, pciBusId: "00000000:07:00.0" }
  - { uuid: ${GPU1}, name: NVIDIA A100-PCIE-40GB, memoryMiB: 40960, pciBusId: "00000000:0F:00.0" }
events:
  - { afterSeconds: 100, gpu: 1, condition: uncorrectable-ecc }
  - { afterSeconds: 200, gpu: 1, condition: healthy }
`,
  );
  const sysfs = join(root, 'sys');
  mkdirSync(join(sysfs, 'bus/pci/devices/0000:07:00.0'), { recursive: true });
  writeFileSync(join(sysfs, 'bus/pci/devices/0000:07:00.0/numa_node'), '1\n');
  let now = 0;
  const log = pino({ level: 'silent' });
  const metrics = new DevicePluginMetrics();
  const monitor = createGpuMonitor({
    inventory: createNvidiaSmiInventory({
      run: createFakeNvidiaSmi({ file: gpusFile, now: () => now }),
      binary: 'nvidia-smi',
      timeoutMs: 1000,
    }),
    intervalMs: 3_600_000,
    mps: false,
    numaNode: bus => readNumaNode(sysfs, bus),
    log,
    metrics,
  });
  await monitor.start();
  cleanups.push(() => monitor.stop());
  const store = createAllocationStore({ stateDir: join(root, 'state'), log });
  await store.load();
  const allocator = createAllocator({
    config: { memoryUnitMiB: 256, mpsRoot: join(root, 'mps') },
    monitor,
    store,
  });
  let kubelet = options.kubeletFirst === false ? undefined : await KubeletStub.start(dir);
  const manager = createPluginManager({
    dir,
    monitor,
    allocator,
    memoryUnitMiB: 256,
    memoryReservedMiB: 0,
    metrics,
    log,
    retryMs: 100,
    checkIntervalMs: 200,
    dialTimeoutMs: 2000,
  });
  await manager.start();
  cleanups.push(async () => {
    await manager.stop();
    await kubelet?.stop();
  });
  return {
    root,
    dir,
    monitor,
    manager,
    metrics,
    kubelet: () => kubelet!,
    setKubelet: (k: KubeletStub) => (kubelet = k),
    at: async (seconds: number) => {
      now = seconds * 1000;
      await monitor.poll();
    },
  };
}

const ALL = ['dilu.dev/gpu0-mem', 'dilu.dev/gpu0-sm', 'dilu.dev/gpu1-mem', 'dilu.dev/gpu1-sm'];

describe('device plugin against a kubelet stub over real unix sockets', () => {
  it('registers one resource per GPU and kind, and lists SM and memory devices', async () => {
    const n = await node();
    const k = n.kubelet();
    await waitFor('four resources watched', () => k.resources().length === 4);
    expect(k.resources()).toEqual(ALL);
    expect(k.registrations.map(r => [r.resource_name, r.endpoint, r.version]).sort()).toEqual([
      ['dilu.dev/gpu0-mem', 'dilu-gpu0-mem.sock', 'v1beta1'],
      ['dilu.dev/gpu0-sm', 'dilu-gpu0-sm.sock', 'v1beta1'],
      ['dilu.dev/gpu1-mem', 'dilu-gpu1-mem.sock', 'v1beta1'],
      ['dilu.dev/gpu1-sm', 'dilu-gpu1-sm.sock', 'v1beta1'],
    ]);
    expect(k.options('dilu.dev/gpu0-sm')).toEqual({
      pre_start_required: false,
      get_preferred_allocation_available: true,
    });
    const sm0 = await k.waitForDevices('dilu.dev/gpu0-sm', d => d.length > 0);
    const counts = Object.fromEntries(
      await Promise.all(
        ALL.map(async r => [r, (await k.waitForDevices(r, d => d.length > 0)).length] as const),
      ),
    );
    // 80 GiB / 256 MiB = 320 units; 40 GiB / 256 MiB = 160 units.
    expect(counts).toEqual({
      'dilu.dev/gpu0-mem': 320,
      'dilu.dev/gpu0-sm': 100,
      'dilu.dev/gpu1-mem': 160,
      'dilu.dev/gpu1-sm': 100,
    });
    expect(sm0[0]).toEqual({
      ID: 'gpu0-sm-00',
      health: 'Healthy',
      topology: { nodes: [{ ID: 1 }] },
    });
    expect(k.devices('dilu.dev/gpu1-sm')?.[99]).toEqual({
      ID: 'gpu1-sm-99',
      health: 'Healthy',
      topology: null,
    });
    expect(n.manager.registered()).toBe(true);
  });

  it('pushes Unhealthy when a GPU fails and Healthy again when it recovers', async () => {
    const n = await node();
    const k = n.kubelet();
    await k.waitForDevices('dilu.dev/gpu1-sm', d => d.length === 100);
    await n.at(100); // uncorrectable ECC error on GPU 1
    await k.waitForDevices('dilu.dev/gpu1-sm', d => d.every(x => x.health === 'Unhealthy'));
    await k.waitForDevices('dilu.dev/gpu1-mem', d => d.every(x => x.health === 'Unhealthy'));
    expect(k.devices('dilu.dev/gpu0-sm')?.every(x => x.health === 'Healthy')).toBe(true);
    await expect(k.allocate('dilu.dev/gpu1-sm', [[smDeviceId(1, 0)]])).rejects.toMatchObject({
      code: 9, // FAILED_PRECONDITION
      details: expect.stringContaining(
        'GPU 1 (GPU-b1c2d3e4-0f1e-2d3c-4b5a-69788796a5b4) is unhealthy: 1 uncorrectable ECC',
      ),
    });
    await n.at(200); // the error counter cleared (GPU reset)
    await k.waitForDevices('dilu.dev/gpu1-sm', d => d.every(x => x.health === 'Healthy'));
    await k.waitForDevices('dilu.dev/gpu1-mem', d => d.every(x => x.health === 'Healthy'));
    expect(await n.metrics.registry.getSingleMetricAsString('dilu_gpu_healthy')).toContain(
      `dilu_gpu_healthy{gpu="1",uuid="${GPU1}"} 1`,
    );
  });

  it('reports a GPU Unhealthy while its MPS daemon is down', async () => {
    const n = await node();
    const k = n.kubelet();
    await k.waitForDevices('dilu.dev/gpu0-sm', d => d.length === 100);
    n.monitor.setMpsUp(0, false);
    await k.waitForDevices('dilu.dev/gpu0-sm', d => d.every(x => x.health === 'Unhealthy'));
    await expect(k.allocate('dilu.dev/gpu0-mem', [[memDeviceId(0, 0)]])).rejects.toMatchObject({
      details: expect.stringContaining('its MPS control daemon is down'),
    });
    n.monitor.setMpsUp(0, true);
    await k.waitForDevices('dilu.dev/gpu0-sm', d => d.every(x => x.health === 'Healthy'));
  });

  it('answers Allocate with the GPU, MPS wiring, memory cap and a quota file', async () => {
    const n = await node();
    const k = n.kubelet();
    await waitFor('resources', () => k.resources().length === 4);
    const smIds = Array.from({ length: 30 }, (_, i) => smDeviceId(0, 40 + i));
    const sm = await k.allocate('dilu.dev/gpu0-sm', [smIds]);
    const id = allocationIdFor(smIds);
    expect(sm.container_responses).toHaveLength(1);
    const r = sm.container_responses[0]!;
    expect(r.envs).toEqual({
      NVIDIA_VISIBLE_DEVICES: GPU0,
      CUDA_MPS_PIPE_DIRECTORY: '/var/run/dilu-mps/pipe',
      CUDA_MPS_LOG_DIRECTORY: '/var/run/dilu-mps/log',
      DILU_ALLOCATION_ID: id,
      DILU_QUOTA_FILE: '/var/run/dilu/quota.json',
    });
    expect(r.mounts).toEqual([
      {
        container_path: '/var/run/dilu-mps/pipe',
        host_path: join(n.root, 'mps', GPU0, 'pipe'),
        read_only: false,
      },
      {
        container_path: '/var/run/dilu-mps/log',
        host_path: join(n.root, 'mps', GPU0, 'log'),
        read_only: true,
      },
      { container_path: '/dev/shm', host_path: join(n.root, 'mps', 'shm'), read_only: false },
      {
        container_path: '/var/run/dilu',
        host_path: join(n.root, 'state', 'allocations', id),
        read_only: true,
      },
    ]);
    const quota: unknown = JSON.parse(
      readFileSync(join(n.root, 'state', 'allocations', id, 'quota.json'), 'utf8'),
    );
    expect(quota).toMatchObject({
      version: 1,
      allocationId: id,
      gpuIndex: 0,
      gpuUuid: GPU0,
      smRequest: 30,
      smLimit: null,
      quota: 30,
      generation: 1,
    });

    // Same devices in a different order: the same allocation id.
    const again = await k.allocate('dilu.dev/gpu0-sm', [[...smIds].reverse()]);
    expect(again.container_responses[0]?.envs.DILU_ALLOCATION_ID).toBe(id);

    // Two containers in one call: one response each, in order.
    const mem = await k.allocate('dilu.dev/gpu0-mem', [
      Array.from({ length: 16 }, (_, i) => memDeviceId(0, i)),
      [memDeviceId(0, 300)],
    ]);
    expect(mem.container_responses.map(c => c.envs.CUDA_MPS_PINNED_DEVICE_MEM_LIMIT)).toEqual([
      '0=4096M',
      '0=256M',
    ]);
    expect(mem.container_responses[0]?.envs.NVIDIA_VISIBLE_DEVICES).toBe(GPU0);
    expect(mem.container_responses[0]?.envs.DILU_ALLOCATION_ID).toBeUndefined();
  });

  it('refuses device IDs of another resource, naming the ID', async () => {
    const n = await node();
    const k = n.kubelet();
    await waitFor('resources', () => k.resources().length === 4);
    await expect(k.allocate('dilu.dev/gpu0-sm', [[smDeviceId(1, 3)]])).rejects.toMatchObject({
      code: 3, // INVALID_ARGUMENT
      details: 'device ID "gpu1-sm-03" does not belong to dilu.dev/gpu0-sm',
    });
    await expect(k.allocate('dilu.dev/gpu0-mem', [[memDeviceId(0, 320)]])).rejects.toMatchObject({
      code: 3,
    });
  });

  it('prefers the lowest free devices, keeping required ones', async () => {
    const n = await node();
    const k = n.kubelet();
    await waitFor('resources', () => k.resources().length === 4);
    const available = ['gpu0-sm-07', 'gpu0-sm-03', 'gpu0-sm-50', 'gpu0-sm-04', 'gpu0-sm-05'];
    const res = await k.preferred('dilu.dev/gpu0-sm', available, ['gpu0-sm-50'], 3);
    expect(res.container_responses[0]?.deviceIDs).toEqual([
      'gpu0-sm-50',
      'gpu0-sm-03',
      'gpu0-sm-04',
    ]);
  });

  it('serves and registers again after a kubelet restart', async () => {
    const n = await node();
    await waitFor('resources', () => n.kubelet().resources().length === 4);
    const restarted = n.setKubelet(await KubeletStub.restart(n.kubelet()));
    // The restart deleted the plugin sockets; the plugin re-creates them and registers anew.
    await waitFor('re-registration', () => restarted.resources().length === 4, 10_000);
    expect(restarted.registrations.map(r => r.resource_name).sort()).toEqual(ALL);
    for (const f of ['dilu-gpu0-sm.sock', 'dilu-gpu1-mem.sock'])
      expect(existsSync(join(n.dir, f))).toBe(true);
    const devices = await restarted.waitForDevices('dilu.dev/gpu0-sm', d => d.length === 100);
    expect(devices.every(d => d.health === 'Healthy')).toBe(true);
    await n.manager.settled();
    expect(n.manager.registered()).toBe(true);
    const allocated = await restarted.allocate('dilu.dev/gpu0-sm', [[smDeviceId(0, 1)]]);
    expect(allocated.container_responses[0]?.envs.NVIDIA_VISIBLE_DEVICES).toBe(GPU0);
    expect(
      await n.metrics.registry.getSingleMetricAsString('dilu_device_plugin_registrations_total'),
    ).toContain(
      'dilu_device_plugin_registrations_total{resource="dilu.dev/gpu0-sm",result="ok"} 2',
    );
  }, 20_000);

  it('waits for a kubelet that is not up yet and registers when its socket appears', async () => {
    const n = await node({ kubeletFirst: false });
    expect(n.manager.registered()).toBe(false);
    const k = n.setKubelet(await KubeletStub.start(n.dir));
    await waitFor('registration', () => k.resources().length === 4, 10_000);
    expect(k.registrations).toHaveLength(4);
  }, 20_000);
});

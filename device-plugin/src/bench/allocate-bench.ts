// Allocate latency over a loopback unix socket, measured from the kubelet's side. As on a node,
// the kubelet is another process: a child process runs the kubelet stub (Registration server),
// which dials the plugin's socket back and times each Allocate call (gRPC round trip,
// validation, response and, for SM allocations, the atomic quota file write). Target: p99 <= 2 ms.
//   npm run bench -w device-plugin [-- --calls 10000 --warmup 10000 --state-dir <dir>]
import { fork } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { createFakeNvidiaSmi } from '../gpu/fake-nvidia-smi.js';
import { createNvidiaSmiInventory } from '../gpu/nvidia-smi-inventory.js';
import { createAllocator } from '../kubelet/allocator.js';
import { createPluginManager } from '../kubelet/plugin-manager.js';
import { memDeviceId, smDeviceId } from '../kubelet/resources.js';
import { DevicePluginMetrics } from '../metrics/metrics.js';
import { createGpuMonitor } from '../node/gpu-monitor.js';
import { createAllocationStore } from '../quota/allocation-store.js';
import { KubeletStub } from '../testing/kubelet-stub.js';
import { waitFor } from '../testing/wait.js';

const { values } = parseArgs({
  options: {
    calls: { type: 'string', default: '10000' },
    // Both processes compile their hot paths in background threads during the first few
    // thousand calls; on two cores that sets the p99 of a short run (measured: p99 2.4 ms after
    // 500 warm-up calls, 0.66 ms after 10,000). The plugin on a node is long past that.
    warmup: { type: 'string', default: '10000' },
    'state-dir': { type: 'string' },
    role: { type: 'string', default: 'plugin' },
    dir: { type: 'string', default: '' },
  },
});
const calls = Number(values.calls);
if (!Number.isInteger(calls) || calls < 100) throw new Error('--calls must be an integer >= 100');
const WARMUP = Number(values.warmup);
if (!Number.isInteger(WARMUP) || WARMUP < 0) {
  throw new Error('--warmup must be an integer >= 0');
}

interface Samples {
  sm: number[];
  mem: number[];
  /** GetDevicePluginOptions: the same socket and gRPC stack with no work behind it. */
  empty: number[];
}

/** The kubelet's side, in its own process: serve Registration, then time Allocate calls. */
async function runKubelet(dir: string): Promise<void> {
  const kubelet = await KubeletStub.start(dir);
  process.send?.('listening');
  await waitFor('registration', () => kubelet.resources().length === 2, 30_000);
  // Each container asks for 10..49 % SM (a sliding window, so allocation ids and their quota
  // directories vary) or 1..64 memory units, alternating, as the kubelet does for one container.
  const out: Samples = { sm: [], mem: [], empty: [] };
  for (let i = 0; i < calls + WARMUP; i++) {
    const isSm = i % 2 === 0;
    const size = isSm ? 10 + (i % 40) : 1 + (i % 64);
    const start = i % (isSm ? 100 - size : 320 - size);
    const ids = Array.from({ length: size }, (_, k) =>
      isSm ? smDeviceId(0, start + k) : memDeviceId(0, start + k),
    );
    const t0 = process.hrtime.bigint();
    await kubelet.allocate(isSm ? 'dilu.dev/gpu0-sm' : 'dilu.dev/gpu0-mem', [ids]);
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    if (i >= WARMUP) (isSm ? out.sm : out.mem).push(ms);
    if (i % 4 === 0) {
      const e0 = process.hrtime.bigint();
      await kubelet.fetchOptions('dilu.dev/gpu0-sm');
      if (i >= WARMUP) out.empty.push(Number(process.hrtime.bigint() - e0) / 1e6);
    }
  }
  await kubelet.stop();
  process.send?.(out);
}

function quantile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] ?? NaN;
}

function summary(name: string, samples: number[]): string {
  const s = [...samples].sort((a, b) => a - b);
  const f = (v: number): string => v.toFixed(3).padStart(7);
  return `${name.padEnd(12)} n=${String(s.length).padStart(6)}  p50 ${f(quantile(s, 0.5))}  p90 ${f(quantile(s, 0.9))}  p99 ${f(quantile(s, 0.99))}  max ${f(s.at(-1) ?? NaN)}  (ms)`;
}

/** The plugin's side: fake GPU, real plugin manager, Allocate served to the child process. */
async function runPlugin(): Promise<number> {
  // On tmpfs when the machine has one, like the production default /run/dilu/state.
  const root = mkdtempSync(join(existsSync('/dev/shm') ? '/dev/shm' : tmpdir(), 'dilu-bench-'));
  const stateDir = values['state-dir'] ?? join(root, 'state');
  const dir = join(root, 'device-plugins');
  mkdirSync(dir);
  writeFileSync(
    join(root, 'gpus.yaml'),
    'gpus:\n  - uuid: GPU-5f0e2bd4-7c1a-4d1e-9a4b-0c3e2f1a9b77\n    memoryMiB: 81920\n',
  );
  const log = pino({ level: 'silent' });
  const metrics = new DevicePluginMetrics();
  const monitor = createGpuMonitor({
    inventory: createNvidiaSmiInventory({
      run: createFakeNvidiaSmi({ file: join(root, 'gpus.yaml') }),
      binary: 'nvidia-smi',
      timeoutMs: 1000,
    }),
    intervalMs: 3_600_000,
    mps: false,
    numaNode: () => Promise.resolve(undefined),
    log,
    metrics,
  });
  const child = fork(fileURLToPath(import.meta.url), [
    '--role',
    'kubelet',
    '--dir',
    dir,
    '--calls',
    String(calls),
    '--warmup',
    String(WARMUP),
  ]);
  try {
    const results = new Promise<Samples>((resolve, reject) => {
      child.on('message', m => {
        if (typeof m === 'object') resolve(m as Samples);
      });
      child.once('exit', code => {
        reject(new Error(`kubelet process exited with ${code}`));
      });
    });
    await new Promise<void>(resolve => {
      child.once('message', () => {
        resolve();
      });
    });
    await monitor.start();
    const store = createAllocationStore({ stateDir, log });
    await store.load();
    const manager = createPluginManager({
      dir,
      monitor,
      allocator: createAllocator({
        config: { memoryUnitMiB: 256, mpsRoot: join(root, 'mps') },
        monitor,
        store,
      }),
      memoryUnitMiB: 256,
      memoryReservedMiB: 0,
      metrics,
      log,
      retryMs: 1000,
      checkIntervalMs: 60_000,
      dialTimeoutMs: 5000,
    });
    await manager.start();
    const { sm, mem, empty } = await results;
    await manager.stop();
    const all = [...sm, ...mem];
    const p99 = quantile(
      [...all].sort((a, b) => a - b),
      0.99,
    );
    console.log(
      `Allocate over a unix socket, ${calls} calls after ${WARMUP} warm-up; state dir ${stateDir}`,
    );
    console.log(
      `node ${process.version}; ${store.list().length} distinct allocations written; load average ${loadavg()
        .map(l => l.toFixed(2))
        .join(' ')}`,
    );
    console.log(summary('SM (+file)', sm));
    console.log(summary('memory', mem));
    console.log(summary('all', all));
    console.log(summary('empty RPC', empty));
    console.log(
      `Allocate p99 ${p99.toFixed(3)} ms: ${p99 <= 2 ? 'meets' : 'MISSES'} the 2 ms target`,
    );
    const emptyP99 = quantile(
      [...empty].sort((a, b) => a - b),
      0.99,
    );
    if (p99 > 2 && emptyP99 > 1) {
      console.log(
        `(an empty RPC's p99 is ${emptyP99.toFixed(3)} ms here: CPU contention on this machine sets the tail)`,
      );
    }
    // Figures, not a gate: a loaded machine must not fail `npm run bench`.
    return 0;
  } finally {
    monitor.stop();
    child.kill();
    rmSync(root, { recursive: true, force: true });
  }
}

if (values.role === 'kubelet') {
  await runKubelet(values.dir);
  process.exit(0);
} else {
  process.exitCode = await runPlugin();
}

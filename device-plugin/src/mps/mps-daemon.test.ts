import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from '@jest/globals';
import { pino } from 'pino';
import { DevicePluginMetrics } from '../metrics/metrics.js';
import { FAKE_MPS_CONTROL } from '../testing/fixtures.js';
import { waitFor } from '../testing/wait.js';
import { mpsEnv, runMpsCommand } from './mps-control.js';
import type { MpsEndpoint } from './mps-control.js';
import { createMpsDaemon } from './mps-daemon.js';

const UUID = 'GPU-5f0e2bd4-7c1a-4d1e-9a4b-0c3e2f1a9b77';
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function setup(env: Record<string, string> = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'dilu-mps-'));
  const endpoint: MpsEndpoint = {
    command: [process.execPath, FAKE_MPS_CONTROL],
    pipeDir: join(dir, 'gpu0', 'pipe'),
    logDir: join(dir, 'gpu0', 'log'),
    gpuUuid: UUID,
    env,
  };
  const health: boolean[] = [];
  const metrics = new DevicePluginMetrics();
  const daemon = createMpsDaemon({
    gpuIndex: 0,
    endpoint,
    initialBackoffMs: 50,
    maxBackoffMs: 400,
    probeIntervalMs: 100,
    probeTimeoutMs: 2000,
    startTimeoutMs: 5000,
    stopTimeoutMs: 3000,
    onHealth: (_gpu, up) => health.push(up),
    log: pino({ level: 'silent' }),
    metrics,
  });
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  cleanups.push(() => daemon.stop());
  return { dir, endpoint, daemon, health, metrics };
}

const pidOf = (ep: MpsEndpoint): number =>
  Number(readFileSync(join(ep.pipeDir, 'nvidia-cuda-mps-control.pid'), 'utf8').trim());

describe('createMpsDaemon with the fake control daemon', () => {
  it('starts one daemon scoped to the GPU, with its own pipe and log directories', async () => {
    const { endpoint, daemon, health } = setup();
    await daemon.start();
    expect(daemon.isUp()).toBe(true);
    expect(health).toEqual([true]);
    await expect(
      runMpsCommand(endpoint, 'get_default_active_thread_percentage', 2000),
    ).resolves.toBe('100.0');
    const log = readFileSync(join(endpoint.logDir, 'control.log'), 'utf8');
    expect(log).toContain(`CUDA_VISIBLE_DEVICES=${UUID}`);
  });

  it('restarts a daemon that crashed, counts the restart, and reports it down meanwhile', async () => {
    const { endpoint, daemon, health, metrics } = setup();
    await daemon.start();
    const firstPid = pidOf(endpoint);
    process.kill(firstPid, 'SIGKILL');
    await waitFor(
      'the daemon to come back',
      () => daemon.isUp() && daemon.restarts() === 1 && health.length === 3,
    );
    expect(health).toEqual([true, false, true]);
    expect(pidOf(endpoint)).not.toBe(firstPid);
    expect(
      await metrics.registry.getSingleMetricAsString('dilu_mps_daemon_restarts_total'),
    ).toContain('dilu_mps_daemon_restarts_total{gpu="0"} 1');
  });

  it('keeps retrying with backoff while the daemon cannot start', async () => {
    const { daemon } = setup({ FAKE_MPS_FAIL_START: '1' });
    await daemon.start();
    expect(daemon.isUp()).toBe(false);
    // Delays 50, 100, 200 ms: three restarts take at least 350 ms.
    const t0 = Date.now();
    await waitFor('three restart attempts', () => daemon.restarts() >= 3);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(300);
    expect(daemon.isUp()).toBe(false);
  });

  it('kills and restarts a daemon that stops answering', async () => {
    const { endpoint, daemon } = setup();
    await daemon.start();
    const pid = pidOf(endpoint);
    process.kill(pid, 'SIGSTOP'); // frozen: the socket accepts nothing, probes time out
    await waitFor('a new daemon', () => daemon.restarts() === 1 && daemon.isUp(), 15000);
    expect(pidOf(endpoint)).not.toBe(pid);
  }, 20000);

  it('stops cleanly with quit and does not restart afterwards', async () => {
    const { endpoint, daemon } = setup();
    await daemon.start();
    await daemon.stop();
    expect(daemon.isUp()).toBe(false);
    await expect(runMpsCommand(endpoint, 'get_server_list', 2000)).rejects.toThrow(
      /Cannot find MPS control daemon/,
    );
    await new Promise(r => setTimeout(r, 200));
    expect(daemon.restarts()).toBe(0);
  });

  it('asks a daemon left on the pipe directory to quit before starting its own', async () => {
    const { endpoint, daemon } = setup();
    // A daemon nobody supervises, e.g. left by an earlier run or started by hand.
    const stale = spawn(process.execPath, [FAKE_MPS_CONTROL, '-f'], {
      env: mpsEnv(endpoint),
      stdio: 'ignore',
    });
    const staleExit = new Promise(resolve => stale.once('exit', resolve));
    cleanups.push(() => void stale.kill('SIGKILL'));
    await waitFor('the stale daemon', () =>
      runMpsCommand(endpoint, 'get_server_list', 2000).then(
        () => true,
        () => false,
      ),
    );
    await daemon.start();
    await expect(staleExit).resolves.toBe(0);
    expect(daemon.isUp()).toBe(true);
    expect(pidOf(endpoint)).not.toBe(stale.pid);
  });
});

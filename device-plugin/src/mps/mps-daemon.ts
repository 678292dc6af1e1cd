import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import type { Logger } from 'pino';
import type { DevicePluginMetrics } from '../metrics/metrics.js';
import { mpsEnv, runMpsCommand } from './mps-control.js';
import type { MpsEndpoint } from './mps-control.js';

export interface MpsDaemonOptions {
  readonly gpuIndex: number;
  readonly endpoint: MpsEndpoint;
  /** First restart delay; doubles on each failure up to maxBackoffMs. */
  readonly initialBackoffMs: number;
  readonly maxBackoffMs: number;
  /** How often a running daemon is asked a question to prove it is not hung. */
  readonly probeIntervalMs: number;
  readonly probeTimeoutMs: number;
  /** How long a fresh daemon may take to answer its first probe. */
  readonly startTimeoutMs: number;
  /** How long `quit` may take before the daemon is killed. */
  readonly stopTimeoutMs: number;
  /** Called with every change of usability; the plugin reports the GPU's devices from it. */
  readonly onHealth: (gpuIndex: number, up: boolean) => void;
  readonly log: Logger;
  readonly metrics: DevicePluginMetrics;
}

export interface MpsDaemon {
  readonly gpuIndex: number;
  start(): Promise<void>;
  stop(): Promise<void>;
  isUp(): boolean;
  restarts(): number;
}

/**
 * Supervises one GPU's MPS control daemon. It runs `nvidia-cuda-mps-control -f` as a child
 * process (foreground mode), so an exit is seen at once instead of being found by polling a
 * double-forked `-d` daemon. A daemon that exits, or stops answering probes twice in a row, is
 * restarted with exponential backoff; the backoff resets once a daemon has stayed up for four
 * times the maximum backoff.
 */
export function createMpsDaemon(o: MpsDaemonOptions): MpsDaemon {
  const log = o.log.child({ gpu: o.gpuIndex, component: 'mps' });
  let child: ChildProcess | undefined;
  let up = false;
  let stopping = false;
  let restarts = 0;
  let backoff = o.initialBackoffMs;
  let restartTimer: NodeJS.Timeout | undefined;
  let probeTimer: NodeJS.Timeout | undefined;
  let failedProbes = 0;
  let startedAt = 0;

  function setUp(value: boolean): void {
    if (up === value) return;
    up = value;
    o.metrics.mpsDaemonUp(o.gpuIndex, value);
    o.onHealth(o.gpuIndex, value);
  }

  const ask = (cmd: string, timeoutMs = o.probeTimeoutMs): Promise<string> =>
    runMpsCommand(o.endpoint, cmd, timeoutMs);

  async function quitStale(): Promise<void> {
    // A daemon left from an earlier run of the plugin (or started by hand) owns the pipe
    // directory; a second one would refuse to start. Ask it to quit first.
    const alive = await ask('get_server_list').then(
      () => true,
      () => false,
    );
    if (!alive) return;
    log.warn('an MPS control daemon already runs on this pipe directory; asking it to quit');
    await ask('quit').catch(() => undefined);
  }

  async function launch(): Promise<void> {
    await mkdir(o.endpoint.pipeDir, { recursive: true, mode: 0o755 });
    await mkdir(o.endpoint.logDir, { recursive: true, mode: 0o755 });
    await quitStale();
    const [file, ...args] = o.endpoint.command;
    if (file === undefined) throw new Error('mps.controlCommand is empty');
    const proc = spawn(file, [...args, '-f'], {
      env: mpsEnv(o.endpoint),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child = proc;
    startedAt = Date.now();
    proc.stdout.on('data', (d: Buffer) => {
      log.info({ out: d.toString().trim() }, 'mps daemon');
    });
    proc.stderr.on('data', (d: Buffer) => {
      log.warn({ err: d.toString().trim() }, 'mps daemon');
    });
    proc.on('error', err => {
      log.error({ err }, 'cannot run the MPS control daemon');
    });
    proc.on('exit', (code, signal) => {
      if (child !== proc) return;
      child = undefined;
      stopProbing();
      setUp(false);
      if (stopping) return;
      log.error({ code, signal }, 'MPS control daemon exited');
      scheduleRestart();
    });
    await waitForFirstAnswer(proc);
  }

  async function waitForFirstAnswer(proc: ChildProcess): Promise<void> {
    const deadline = Date.now() + o.startTimeoutMs;
    for (;;) {
      if (child !== proc) throw new Error('MPS control daemon exited during start');
      try {
        await ask('get_default_active_thread_percentage');
        break;
      } catch (err) {
        if (Date.now() > deadline) {
          proc.kill('SIGKILL');
          throw new Error(`MPS control daemon did not answer within ${o.startTimeoutMs} ms`, {
            cause: err,
          });
        }
        await sleep(50);
      }
    }
    failedProbes = 0;
    setUp(true);
    log.info({ pid: proc.pid }, 'MPS control daemon running');
    startProbing();
  }

  function startProbing(): void {
    stopProbing();
    probeTimer = setInterval(() => void probe(), o.probeIntervalMs);
    probeTimer.unref();
  }

  function stopProbing(): void {
    if (probeTimer !== undefined) clearInterval(probeTimer);
    probeTimer = undefined;
  }

  async function probe(): Promise<void> {
    const proc = child;
    if (proc === undefined || stopping) return;
    try {
      await ask('get_default_active_thread_percentage');
      failedProbes = 0;
      setUp(true);
      if (Date.now() - startedAt > 4 * o.maxBackoffMs) backoff = o.initialBackoffMs;
    } catch (err) {
      failedProbes++;
      log.warn({ err: (err as Error).message, failedProbes }, 'MPS control daemon probe failed');
      if (failedProbes >= 2 && child === proc) {
        setUp(false);
        // A hung daemon: kill it; the exit handler schedules the restart.
        proc.kill('SIGKILL');
      }
    }
  }

  function scheduleRestart(): void {
    if (stopping || restartTimer !== undefined) return;
    const delay = backoff;
    backoff = Math.min(backoff * 2, o.maxBackoffMs);
    log.info({ delayMs: delay }, 'restarting the MPS control daemon');
    restartTimer = setTimeout(() => {
      restartTimer = undefined;
      restarts++;
      o.metrics.mpsDaemonRestarted(o.gpuIndex);
      launch().catch((err: unknown) => {
        log.error({ err: (err as Error).message }, 'MPS control daemon restart failed');
        scheduleRestart();
      });
    }, delay);
  }

  return {
    gpuIndex: o.gpuIndex,
    async start(): Promise<void> {
      stopping = false;
      o.metrics.mpsDaemonUp(o.gpuIndex, false);
      try {
        await launch();
      } catch (err) {
        log.error({ err: (err as Error).message }, 'MPS control daemon failed to start');
        scheduleRestart();
      }
    },
    async stop(): Promise<void> {
      stopping = true;
      if (restartTimer !== undefined) clearTimeout(restartTimer);
      restartTimer = undefined;
      stopProbing();
      const proc = child;
      if (proc === undefined || proc.exitCode !== null) {
        setUp(false);
        return;
      }
      const exited = new Promise<void>(resolve => {
        proc.once('exit', () => {
          resolve();
        });
      });
      await ask('quit', o.stopTimeoutMs).catch(() => undefined);
      const quitInTime = await Promise.race([
        exited.then(() => true),
        sleep(o.stopTimeoutMs).then(() => false),
      ]);
      if (!quitInTime) {
        log.warn('MPS control daemon ignored quit; terminating it');
        proc.kill('SIGTERM');
        const termInTime = await Promise.race([
          exited.then(() => true),
          sleep(2000).then(() => false),
        ]);
        if (!termInTime) proc.kill('SIGKILL');
        await exited;
      }
      setUp(false);
    },
    isUp: () => up,
    restarts: () => restarts,
  };
}

function sleep(ms: number): Promise<void> {
  return new Promise(resolve => setTimeout(resolve, ms).unref());
}

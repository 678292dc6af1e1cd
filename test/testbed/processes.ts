// Child processes of the test bed. Each one is stopped by the PID this module started (never by
// name), its output goes to a log file, and every child still running when this process exits is
// killed, so a crashed or interrupted test run leaves nothing behind.
import { spawn } from 'node:child_process';
import { closeSync, existsSync, openSync } from 'node:fs';
import { setTimeout as delay } from 'node:timers/promises';

export interface ExitStatus {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

export interface ManagedProcess {
  readonly name: string;
  readonly pid: number;
  readonly logFile: string;
  /** Set once the process has exited. */
  exitStatus(): ExitStatus | undefined;
  readonly exited: Promise<ExitStatus>;
  /** SIGTERM, then SIGKILL after graceMs; resolves when the process is gone. */
  stop(graceMs?: number): Promise<ExitStatus>;
}

/**
 * util-linux's setpriv, if present: started through it with --pdeathsig, a child is killed by
 * the kernel when this process dies, even by SIGKILL, which no handler here can catch.
 * setpriv execs the command, so the PID stays the command's own.
 */
const SETPRIV = ['/usr/bin/setpriv', '/bin/setpriv'].find(f => existsSync(f));

const running = new Map<number, string>();
const exitCleanups = new Set<() => void>();
let guardsInstalled = false;

/**
 * Kills every child still running, then runs the registered exit clean-ups (removing run
 * folders); synchronous so it works from an 'exit' handler.
 */
export function killAllChildren(): void {
  for (const pid of running.keys()) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }
  running.clear();
  for (const cleanup of exitCleanups) {
    try {
      cleanup();
    } catch {
      // Best effort: the process is ending.
    }
  }
  exitCleanups.clear();
}

/**
 * Registers a synchronous clean-up to run if this process exits or is signalled before the
 * owner cleans up normally; the returned function unregisters it.
 */
export function onAbnormalExit(cleanup: () => void): () => void {
  installGuards();
  exitCleanups.add(cleanup);
  return () => exitCleanups.delete(cleanup);
}

/** PIDs of children this process started and has not yet seen exit. */
export function runningChildren(): ReadonlyMap<number, string> {
  return running;
}

function installGuards(): void {
  if (guardsInstalled) return;
  guardsInstalled = true;
  process.once('exit', killAllChildren);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(signal, () => {
      killAllChildren();
      // Our listener replaced the default action; with it removed, re-raising ends the process
      // the way the signal would have.
      process.kill(process.pid, signal);
    });
  }
}

export function startProcess(opts: {
  name: string;
  command: string;
  args: readonly string[];
  logFile: string;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}): ManagedProcess {
  installGuards();
  const fd = openSync(opts.logFile, 'a');
  const child = (() => {
    try {
      const [command, args] =
        SETPRIV === undefined
          ? [opts.command, opts.args]
          : [SETPRIV, ['--pdeathsig', 'KILL', '--', opts.command, ...opts.args]];
      return spawn(command, args, {
        stdio: ['ignore', fd, fd],
        env: opts.env ?? process.env,
        ...(opts.cwd === undefined ? {} : { cwd: opts.cwd }),
      });
    } finally {
      // The child holds its own copy of the descriptor.
      closeSync(fd);
    }
  })();
  const pid = child.pid;
  if (pid === undefined) {
    throw new Error(`${opts.name}: could not start ${opts.command}`);
  }
  running.set(pid, opts.name);
  let status: ExitStatus | undefined;
  const exited = new Promise<ExitStatus>(resolve => {
    child.once('exit', (code, signal) => {
      status = { code, signal };
      running.delete(pid);
      resolve(status);
    });
  });

  return {
    name: opts.name,
    pid,
    logFile: opts.logFile,
    exitStatus: () => status,
    exited,
    async stop(graceMs = 10_000) {
      if (status !== undefined) return status;
      child.kill('SIGTERM');
      // The grace timer is cancelled as soon as the process exits, so it never holds the
      // event loop open.
      const grace = new AbortController();
      const timeout = delay(graceMs, undefined, { signal: grace.signal }).then(
        () => undefined,
        () => undefined,
      );
      const done = await Promise.race([exited, timeout]);
      grace.abort();
      if (done !== undefined) return done;
      child.kill('SIGKILL');
      return exited;
    },
  };
}

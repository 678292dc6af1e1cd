import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from '@jest/globals';
import { runningChildren, startProcess } from './processes.js';

const dir = mkdtempSync(join(tmpdir(), 'dilu-processes-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const logged = async (file: string, text: string) => {
  while (!readFileSync(file, 'utf8').includes(text)) await new Promise(r => setTimeout(r, 20));
};

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe('startProcess', () => {
  it('logs to a file and stops the process by its PID', async () => {
    const p = startProcess({
      name: 'sleeper',
      command: process.execPath,
      args: ['-e', 'console.log("up"); setInterval(() => {}, 1000)'],
      logFile: join(dir, 'sleeper.log'),
    });
    expect(runningChildren().get(p.pid)).toBe('sleeper');
    await logged(p.logFile, 'up');
    expect(alive(p.pid)).toBe(true);
    const status = await p.stop();
    expect(status.signal).toBe('SIGTERM');
    expect(alive(p.pid)).toBe(false);
    expect(runningChildren().has(p.pid)).toBe(false);
  });

  it('kills a process that ignores SIGTERM after the grace period', async () => {
    const p = startProcess({
      name: 'stubborn',
      command: process.execPath,
      args: [
        '-e',
        'process.on("SIGTERM", () => {}); console.log("ready"); setInterval(() => {}, 1000)',
      ],
      logFile: join(dir, 'stubborn.log'),
    });
    // Wait until the handler is installed, or SIGTERM would still end it.
    await logged(p.logFile, 'ready');
    const status = await p.stop(300);
    expect(status.signal).toBe('SIGKILL');
    expect(alive(p.pid)).toBe(false);
  });

  it('takes its children down when it is killed outright (SIGKILL)', async () => {
    // A separate Node process starts a child through the compiled module (Jest's global setup
    // has just run tsc -b) and is then killed with SIGKILL, which no handler can catch.
    const compiled = new URL('../dist/testbed/processes.js', import.meta.url).href;
    const parentLog = join(dir, 'parent.log');
    const parent = startProcess({
      name: 'parent',
      command: process.execPath,
      args: [
        '--input-type=module',
        '-e',
        `const { startProcess } = await import(${JSON.stringify(compiled)});
         const c = startProcess({ name: 'grandchild', command: process.execPath,
           args: ['-e', 'setInterval(() => {}, 1000)'], logFile: ${JSON.stringify(join(dir, 'gc.log'))} });
         console.log('grandchild=' + c.pid);
         setInterval(() => {}, 1000);`,
      ],
      logFile: parentLog,
    });
    await logged(parentLog, 'grandchild=');
    const grandchild = Number(/grandchild=(\d+)/.exec(readFileSync(parentLog, 'utf8'))?.[1]);
    expect(alive(grandchild)).toBe(true);
    // Not stop(): its SIGTERM would let the parent's own handler kill the grandchild.
    process.kill(parent.pid, 'SIGKILL');
    await parent.exited;
    const deadline = Date.now() + 5000;
    while (alive(grandchild) && Date.now() < deadline) await new Promise(r => setTimeout(r, 20));
    const survived = alive(grandchild);
    if (survived) process.kill(grandchild, 'SIGKILL'); // leave nothing behind even on failure
    expect(survived).toBe(false);
  });

  it('reports an early exit', async () => {
    const p = startProcess({
      name: 'quitter',
      command: process.execPath,
      args: ['-e', 'process.exit(3)'],
      logFile: join(dir, 'quitter.log'),
    });
    expect(await p.exited).toEqual({ code: 3, signal: null });
    expect(p.exitStatus()).toEqual({ code: 3, signal: null });
  });
});

import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from '@jest/globals';
import { acquireBuildLock } from './build-lock.js';

const dir = mkdtempSync(join(tmpdir(), 'dilu-lock-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('acquireBuildLock', () => {
  it('makes a second taker wait until the first releases', async () => {
    const lock = join(dir, 'a.lock');
    const release = await acquireBuildLock(lock, () => undefined, 10);
    const waits: number[] = [];
    let second: (() => void) | undefined;
    const pending = acquireBuildLock(lock, pid => waits.push(pid), 10).then(r => (second = r));
    await new Promise(r => setTimeout(r, 60));
    expect(second).toBeUndefined();
    expect(waits).toEqual([process.pid]);
    release();
    await pending;
    expect(second).toBeDefined();
    second?.();
    expect(existsSync(lock)).toBe(false);
  });

  it('takes over a lock whose owner is gone', async () => {
    const lock = join(dir, 'b.lock');
    mkdirSync(lock);
    // PIDs are below 2^22 on Linux; this one cannot be running.
    writeFileSync(join(lock, 'pid'), String(2 ** 22 + 1));
    const release = await acquireBuildLock(lock, () => undefined, 10);
    release();
  });
});

import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from '@jest/globals';
import { removeOrphanedRunDirs } from './control-plane.js';

const parent = mkdtempSync(join(tmpdir(), 'dilu-orphans-test-'));
afterAll(() => rmSync(parent, { recursive: true, force: true }));

function runDir(name: string, owner?: number): string {
  const dir = join(parent, name);
  mkdirSync(dir);
  if (owner !== undefined) writeFileSync(join(dir, 'owner.pid'), String(owner));
  return dir;
}

describe('removeOrphanedRunDirs', () => {
  it('removes only run folders whose owning process is gone', () => {
    // PIDs are at most 2^22 on Linux; this one cannot be running.
    const orphan = runDir('dilu-testbed-orphan', 2 ** 22 + 1);
    const live = runDir('dilu-testbed-live', process.pid);
    const unowned = runDir('dilu-testbed-starting');
    const other = runDir('something-else', 2 ** 22 + 1);

    expect(removeOrphanedRunDirs(parent)).toEqual([orphan]);
    expect(existsSync(orphan)).toBe(false);
    expect([live, unowned, other].every(d => existsSync(d))).toBe(true);
  });
});

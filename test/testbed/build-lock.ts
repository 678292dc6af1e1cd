// One build per cache folder at a time: CI and a developer may run the setup together on the
// same machine. mkdir is atomic, so the lock is a folder holding its owner's PID; a lock whose
// owner has died is taken over.
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: the process exists but belongs to someone else.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export async function acquireBuildLock(
  lockDir: string,
  onWait: (ownerPid: number) => void,
  pollMs = 2000,
): Promise<() => void> {
  let announced = false;
  for (;;) {
    try {
      mkdirSync(lockDir);
      writeFileSync(join(lockDir, 'pid'), String(process.pid));
      return () => rmSync(lockDir, { recursive: true, force: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    let owner = NaN;
    try {
      owner = Number(readFileSync(join(lockDir, 'pid'), 'utf8'));
    } catch {
      // The owner has made the folder but not yet written its PID: look again shortly.
    }
    if (Number.isInteger(owner) && owner > 0 && !alive(owner)) {
      rmSync(lockDir, { recursive: true, force: true });
      continue;
    }
    if (!announced && Number.isInteger(owner)) {
      onWait(owner);
      announced = true;
    }
    await delay(pollMs);
  }
}

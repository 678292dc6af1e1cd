import { describe, expect, it } from '@jest/globals';
import { createKeyedQueue } from './keyed-queue.js';

const tick = (ms = 5): Promise<void> => new Promise(r => setTimeout(r, ms));

describe('createKeyedQueue', () => {
  it('runs one reconcile per key at a time and coalesces requests made meanwhile', async () => {
    const running = new Map<string, number>();
    const runs: string[] = [];
    let maxSame = 0;
    const q = createKeyedQueue({
      worker: async key => {
        running.set(key, (running.get(key) ?? 0) + 1);
        maxSame = Math.max(maxSame, running.get(key) ?? 0);
        runs.push(key);
        await tick(20);
        running.set(key, (running.get(key) ?? 1) - 1);
      },
    });
    const first = q.enqueue('a');
    await tick(2);
    // While 'a' runs, three more requests: one rerun after it, not three.
    const more = [q.enqueue('a'), q.enqueue('a'), q.enqueue('a'), q.enqueue('b')];
    await Promise.all([first, ...more]);
    expect(maxSame).toBe(1);
    expect(runs.filter(k => k === 'a')).toHaveLength(2);
    expect(runs.filter(k => k === 'b')).toHaveLength(1);
    await q.close();
  });

  it('runs different keys concurrently up to the limit', async () => {
    let inFlight = 0;
    let peak = 0;
    const q = createKeyedQueue({
      concurrency: 3,
      worker: async () => {
        inFlight++;
        peak = Math.max(peak, inFlight);
        await tick(15);
        inFlight--;
      },
    });
    await Promise.all(['a', 'b', 'c', 'd', 'e', 'f'].map(k => q.enqueue(k)));
    expect(peak).toBe(3);
    expect(q.size()).toBe(0);
    await q.close();
  });

  it('retries a failing key with backoff until it succeeds, and reports each failure', async () => {
    let calls = 0;
    const errors: number[] = [];
    const q = createKeyedQueue({
      baseBackoffMs: 5,
      worker: () => {
        calls++;
        return calls < 3 ? Promise.reject(new Error(`fail ${calls}`)) : Promise.resolve();
      },
      onError: (_k, _e, attempt) => errors.push(attempt),
    });
    await q.enqueue('x');
    expect(calls).toBe(3);
    expect(errors).toEqual([1, 2]);
    await q.close();
  });

  it('forgets a key: pending retries stop and waiters are released', async () => {
    let calls = 0;
    const q = createKeyedQueue({
      baseBackoffMs: 1000,
      worker: () => {
        calls++;
        return Promise.reject(new Error('always'));
      },
    });
    const done = q.enqueue('gone');
    await tick(20);
    q.forget('gone');
    await done;
    await tick(30);
    expect(calls).toBe(1);
    await q.close();
  });
});

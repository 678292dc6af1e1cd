import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';
import type { Informer, KubernetesObject } from '@kubernetes/client-node';
import { pino } from 'pino';
import { keepInformerRunning } from './keep-informer-running.js';

/** An informer whose start() fails `failures` times, then lists; 'error' can be emitted. */
function flakyInformer(failures: number) {
  let left = failures;
  const handlers: ((err: unknown) => void)[] = [];
  const informer = {
    starts: 0,
    stopped: false,
    start(): Promise<void> {
      this.starts++;
      return left-- > 0 ? Promise.reject(new Error('connection refused')) : Promise.resolve();
    },
    stop(): Promise<void> {
      this.stopped = true;
      return Promise.resolve();
    },
    on(event: string, cb: (err: unknown) => void) {
      if (event === 'error') handlers.push(cb);
    },
    fail(err: unknown) {
      for (const h of handlers) h(err);
    },
  };
  return informer;
}

const asInformer = (x: ReturnType<typeof flakyInformer>) =>
  x as unknown as Informer<KubernetesObject>;

describe('keepInformerRunning', () => {
  beforeEach(() => {
    jest.useFakeTimers();
  });
  afterEach(() => {
    jest.useRealTimers();
  });
  const log = pino({ level: 'silent' });

  it('retries a failed list with doubling delays, then reports the sync', async () => {
    const inf = flakyInformer(2);
    const synced = jest.fn();
    const k = keepInformerRunning(asInformer(inf), 'pods', log, synced);
    await jest.advanceTimersByTimeAsync(0);
    expect(inf.starts).toBe(1);
    await jest.advanceTimersByTimeAsync(999);
    expect(inf.starts).toBe(1);
    await jest.advanceTimersByTimeAsync(1);
    expect(inf.starts).toBe(2);
    await jest.advanceTimersByTimeAsync(1999);
    expect(inf.starts).toBe(2);
    await jest.advanceTimersByTimeAsync(1);
    expect(inf.starts).toBe(3);
    expect(synced).toHaveBeenCalledTimes(1);
    await k.stop();
    expect(inf.stopped).toBe(true);
  });

  it('restarts after a watch error and not after stop()', async () => {
    const inf = flakyInformer(0);
    const synced = jest.fn();
    const k = keepInformerRunning(asInformer(inf), 'nodes', log, synced);
    await jest.advanceTimersByTimeAsync(0);
    inf.fail(new Error('watch closed'));
    await jest.advanceTimersByTimeAsync(1000);
    expect(inf.starts).toBe(2);
    expect(synced).toHaveBeenCalledTimes(2);
    await k.stop();
    inf.fail(new Error('after stop'));
    await jest.advanceTimersByTimeAsync(60_000);
    expect(inf.starts).toBe(2);
  });
});

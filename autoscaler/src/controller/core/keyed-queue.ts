/**
 * A reconcile queue keyed by object: at most one reconcile per key in flight, later requests
 * for a busy key coalesce into one rerun after it (the newest cluster state is read then, so
 * nothing is lost), and different keys run concurrently up to a limit. A failed reconcile is
 * retried with capped exponential backoff until one succeeds or the key is forgotten.
 */
export interface KeyedQueue {
  /** Resolves when a reconcile of `key` that started after this call has finished. */
  enqueue(key: string): Promise<void>;
  /** Drops pending work and retries for `key` (the object is gone). */
  forget(key: string): void;
  /** Keys queued or in flight. */
  size(): number;
  /** Stops retries and new work; waits for reconciles in flight. */
  close(): Promise<void>;
}

export interface KeyedQueueDeps {
  readonly worker: (key: string) => Promise<void>;
  readonly concurrency?: number;
  /** Called with every failure (the key is retried). */
  readonly onError?: (key: string, err: unknown, attempt: number) => void;
  /** First retry delay, doubled per failure up to maxBackoffMs. */
  readonly baseBackoffMs?: number;
  readonly maxBackoffMs?: number;
  /** Injectable for tests. */
  readonly setTimer?: (fn: () => void, ms: number) => { cancel(): void };
}

interface Entry {
  running: boolean;
  dirty: boolean;
  nextWaiters: (() => void)[];
  failures: number;
  retry?: { cancel(): void };
}

export function createKeyedQueue(deps: KeyedQueueDeps): KeyedQueue {
  const concurrency = deps.concurrency ?? 8;
  const base = deps.baseBackoffMs ?? 100;
  const cap = deps.maxBackoffMs ?? 30_000;
  const setTimer =
    deps.setTimer ??
    ((fn: () => void, ms: number) => {
      const t = setTimeout(fn, ms);
      t.unref();
      return {
        cancel: () => {
          clearTimeout(t);
        },
      };
    });
  const entries = new Map<string, Entry>();
  const ready: string[] = [];
  let running = 0;
  let closed = false;
  const idle: (() => void)[] = [];

  const pump = (): void => {
    while (!closed && running < concurrency && ready.length > 0) {
      const key = ready.shift();
      if (key === undefined) break;
      const e = entries.get(key);
      if (e === undefined || e.running) continue;
      void run(key, e);
    }
    if (running === 0) for (const w of idle.splice(0)) w();
  };

  const run = async (key: string, e: Entry): Promise<void> => {
    e.running = true;
    e.dirty = false;
    running++;
    const waiters = e.nextWaiters.splice(0);
    let ok = true;
    try {
      await deps.worker(key);
    } catch (err) {
      ok = false;
      e.failures++;
      deps.onError?.(key, err, e.failures);
    }
    running--;
    e.running = false;
    if (ok) {
      e.failures = 0;
      for (const w of waiters) w();
    } else {
      // The waiters stay until a reconcile succeeds (or the key is forgotten).
      e.nextWaiters.unshift(...waiters);
      if (!closed && !isDirty(e)) {
        const delay = Math.min(cap, base * 2 ** (e.failures - 1));
        e.retry = setTimer(() => {
          e.retry = undefined;
          schedule(key);
        }, delay);
      }
    }
    if (isDirty(e)) schedule(key);
    else if (ok && e.nextWaiters.length === 0 && e.retry === undefined) entries.delete(key);
    pump();
  };

  const schedule = (key: string): void => {
    const e = entries.get(key);
    if (e === undefined || closed) return;
    if (e.running) {
      e.dirty = true;
      return;
    }
    if (!ready.includes(key)) ready.push(key);
    pump();
  };

  return {
    enqueue(key) {
      if (closed) return Promise.resolve();
      let e = entries.get(key);
      if (e === undefined) {
        e = { running: false, dirty: false, nextWaiters: [], failures: 0 };
        entries.set(key, e);
      }
      const entry = e;
      const done = new Promise<void>(resolve => entry.nextWaiters.push(resolve));
      entry.retry?.cancel();
      entry.retry = undefined;
      schedule(key);
      return done;
    },
    forget(key) {
      const e = entries.get(key);
      if (e === undefined) return;
      e.retry?.cancel();
      const idx = ready.indexOf(key);
      if (idx >= 0) ready.splice(idx, 1);
      for (const w of e.nextWaiters.splice(0)) w();
      if (!e.running) entries.delete(key);
    },
    size: () => entries.size,
    async close() {
      closed = true;
      for (const [, e] of entries) {
        e.retry?.cancel();
        for (const w of e.nextWaiters.splice(0)) w();
      }
      if (running > 0) await new Promise<void>(resolve => idle.push(resolve));
    },
  };
}

/** Read through a call: a reconcile in flight may have set it meanwhile. */
function isDirty(e: { dirty: boolean }): boolean {
  return e.dirty;
}

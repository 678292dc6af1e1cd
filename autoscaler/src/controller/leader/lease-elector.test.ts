import { describe, expect, it } from '@jest/globals';
import { pino } from 'pino';
import type { LeaseElector } from './lease-elector.js';
import { createLeaseElector } from './lease-elector.js';
import type { LeaseRecord, LeaseStore } from './lease-store.js';

/** An in-memory Lease with the API server's optimistic concurrency (resourceVersion). */
function memoryStore(): LeaseStore & { record(): LeaseRecord | undefined; fail: boolean } {
  let stored: { record: LeaseRecord; version: number } | undefined;
  const store = {
    fail: false,
    record: () => stored?.record,
    get() {
      if (store.fail) return Promise.reject(new Error('API server unreachable'));
      return Promise.resolve(
        stored === undefined
          ? undefined
          : { record: stored.record, version: String(stored.version) },
      );
    },
    create(record: LeaseRecord) {
      if (store.fail) return Promise.reject(new Error('API server unreachable'));
      if (stored !== undefined) return Promise.resolve(false);
      stored = { record, version: 1 };
      return Promise.resolve(true);
    },
    update(record: LeaseRecord, version: string) {
      if (store.fail) return Promise.reject(new Error('API server unreachable'));
      if (stored === undefined || String(stored.version) !== version) return Promise.resolve(false);
      stored = { record, version: stored.version + 1 };
      return Promise.resolve(true);
    },
    describe: () => 'Lease test/leader',
  };
  return store;
}

const log = pino({ level: 'silent' });
const wait = (ms: number): Promise<void> => new Promise(r => setTimeout(r, ms));
const timing = { leaseDurationS: 0.3, renewDeadlineS: 0.2, retryPeriodS: 0.05 };

function elector(store: LeaseStore, identity: string, events: string[]): LeaseElector {
  return createLeaseElector({
    store,
    identity,
    log,
    ...timing,
    onStartedLeading: () => events.push(`${identity}:start`),
    onStoppedLeading: () => events.push(`${identity}:stop`),
  });
}

describe('createLeaseElector', () => {
  it('refuses timings that could let two leaders overlap', () => {
    expect(() =>
      createLeaseElector({
        store: memoryStore(),
        identity: 'a',
        log,
        leaseDurationS: 5,
        renewDeadlineS: 5,
        retryPeriodS: 1,
        onStartedLeading: () => undefined,
        onStoppedLeading: () => undefined,
      }),
    ).toThrow(/renewDeadline .* < leaseDuration/);
  });

  it('elects one of two candidates; the other takes over only after a lease duration', async () => {
    const store = memoryStore();
    const events: string[] = [];
    const a = elector(store, 'a', events);
    a.start();
    await wait(60);
    const b = elector(store, 'b', events);
    b.start();
    await wait(400);
    expect(a.isLeader()).toBe(true);
    expect(b.isLeader()).toBe(false);
    expect(b.leader()).toBe('a');
    // a dies without releasing (its loop stops, the record stops changing).
    const died = Date.now();
    await a.stop({ release: false });
    while (!b.isLeader()) await wait(10);
    const took = Date.now() - died;
    expect(took).toBeGreaterThanOrEqual(250);
    expect(took).toBeLessThan(600);
    expect(store.record()).toMatchObject({ holderIdentity: 'b', leaseTransitions: 1 });
    expect(events).toEqual(['a:start', 'a:stop', 'b:start']);
    await b.stop();
  });

  it('steps down when it cannot renew within the renew deadline', async () => {
    const store = memoryStore();
    const events: string[] = [];
    const a = elector(store, 'a', events);
    a.start();
    await wait(80);
    expect(a.isLeader()).toBe(true);
    store.fail = true;
    await wait(300);
    expect(a.isLeader()).toBe(false);
    expect(events).toEqual(['a:start', 'a:stop']);
    store.fail = false;
    await wait(100);
    expect(a.isLeader()).toBe(true);
    await a.stop();
  });

  it('releases the lease on a graceful stop so a standby takes over at once', async () => {
    const store = memoryStore();
    const events: string[] = [];
    const a = elector(store, 'a', events);
    a.start();
    await wait(60);
    const b = elector(store, 'b', events);
    b.start();
    await wait(60);
    await a.stop();
    expect(store.record()?.holderIdentity).toBe('');
    const t0 = Date.now();
    while (!b.isLeader()) await wait(5);
    expect(Date.now() - t0).toBeLessThan(150);
    await b.stop();
  });
});

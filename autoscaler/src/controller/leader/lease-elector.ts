import type { Logger } from 'pino';
import type { LeaseRecord, LeaseStore } from './lease-store.js';

/**
 * Leader election on a Lease, with client-go's rules: a candidate takes the lease when it is
 * free or when its record has not changed for a whole lease duration *as observed on the
 * candidate's own clock* (so clock skew between replicas does not matter); the leader renews
 * every retry period and steps down when it could not renew for the renew deadline, which is
 * shorter than the lease duration, so it stops acting before anyone else may start.
 */
export interface LeaseElector {
  /** Runs until stop(); calls the callbacks on every change of leadership. */
  start(): void;
  /** True while leading and the last renewal is within the renew deadline (a write fence). */
  isLeader(): boolean;
  /** The holder last seen in the lease ('' when free or unknown). */
  leader(): string;
  /** Stops; a leader releases the lease (holder '') so a standby takes over at once. */
  stop(opts?: { readonly release?: boolean }): Promise<void>;
}

export interface LeaseElectorDeps {
  readonly store: LeaseStore;
  readonly identity: string;
  readonly leaseDurationS: number;
  readonly renewDeadlineS: number;
  readonly retryPeriodS: number;
  readonly log: Logger;
  readonly onStartedLeading: () => void;
  readonly onStoppedLeading: () => void;
  readonly onNewLeader?: (identity: string) => void;
  readonly now?: () => number;
}

export function createLeaseElector(deps: LeaseElectorDeps): LeaseElector {
  if (!(deps.retryPeriodS < deps.renewDeadlineS && deps.renewDeadlineS < deps.leaseDurationS)) {
    throw new RangeError(
      `leader election: need retryPeriod (${deps.retryPeriodS}s) < renewDeadline ` +
        `(${deps.renewDeadlineS}s) < leaseDuration (${deps.leaseDurationS}s)`,
    );
  }
  const now = deps.now ?? Date.now;
  const log = deps.log.child({ lease: deps.store.describe(), identity: deps.identity });
  let leading = false;
  let lastRenewMs = 0;
  let observed: { key: string; atMs: number } | undefined;
  let holder = '';
  let timer: NodeJS.Timeout | undefined;
  let running = false;
  let inFlight: Promise<void> = Promise.resolve();

  const recordKey = (r: LeaseRecord): string =>
    `${r.holderIdentity}|${r.renewTimeMs}|${r.leaseTransitions}|${r.leaseDurationSeconds}`;

  const tryAcquireOrRenew = async (): Promise<boolean> => {
    const t = now();
    const mine = (acquireTimeMs: number, transitions: number): LeaseRecord => ({
      holderIdentity: deps.identity,
      leaseDurationSeconds: deps.leaseDurationS,
      acquireTimeMs,
      renewTimeMs: t,
      leaseTransitions: transitions,
    });
    const current = await deps.store.get();
    if (current === undefined) {
      observed = undefined;
      return deps.store.create(mine(t, 0));
    }
    const rec = current.record;
    const key = recordKey(rec);
    if (observed?.key !== key) observed = { key, atMs: t };
    if (rec.holderIdentity !== holder) {
      holder = rec.holderIdentity;
      if (holder !== '') deps.onNewLeader?.(holder);
    }
    const held = rec.holderIdentity !== '' && rec.holderIdentity !== deps.identity;
    const expired = observed.atMs + rec.leaseDurationSeconds * 1000 <= t;
    if (held && !expired) return false;
    const same = rec.holderIdentity === deps.identity;
    const next = mine(same ? rec.acquireTimeMs : t, rec.leaseTransitions + (same ? 0 : 1));
    return deps.store.update(next, current.version);
  };

  const stepDown = (why: string): void => {
    if (!leading) return;
    leading = false;
    log.warn({ why }, 'stopped leading');
    deps.onStoppedLeading();
  };

  const round = async (): Promise<void> => {
    let ok = false;
    try {
      ok = await tryAcquireOrRenew();
    } catch (err) {
      log.warn({ err: String(err) }, 'lease read or write failed');
    }
    if (!running) return;
    if (ok) {
      lastRenewMs = now();
      holder = deps.identity;
      if (!leading) {
        leading = true;
        log.info('started leading');
        deps.onStartedLeading();
      }
    } else if (leading && now() - lastRenewMs >= deps.renewDeadlineS * 1000) {
      stepDown(`no renewal for ${deps.renewDeadlineS}s`);
    }
  };

  const loop = (): void => {
    if (!running) return;
    inFlight = round().finally(() => {
      if (running) timer = setTimeout(loop, deps.retryPeriodS * 1000);
    });
  };

  return {
    start() {
      if (running) return;
      running = true;
      loop();
    },
    isLeader: () => leading && now() - lastRenewMs < deps.renewDeadlineS * 1000,
    leader: () => holder,
    async stop(opts = {}) {
      running = false;
      if (timer !== undefined) clearTimeout(timer);
      await inFlight.catch(() => undefined);
      const wasLeading = leading;
      stepDown('stopping');
      if (!wasLeading || opts.release === false) return;
      try {
        const current = await deps.store.get();
        if (current?.record.holderIdentity === deps.identity) {
          await deps.store.update(
            { ...current.record, holderIdentity: '', leaseDurationSeconds: 1, renewTimeMs: now() },
            current.version,
          );
          log.info('released the lease');
        }
      } catch (err) {
        log.warn({ err: String(err) }, 'could not release the lease');
      }
    },
  };
}

import type { KubeConfig, KubernetesListObject, KubernetesObject } from '@kubernetes/client-node';
import { makeInformer } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { describeApiError } from './api-error.js';

export type InformerEvent = 'add' | 'update' | 'delete';

/** A read-only view of an informer's cache. */
export interface ObjectStore<T> {
  get(name: string, namespace?: string): T | undefined;
  list(namespace?: string): T[];
}

export interface ResilientInformer<T> extends ObjectStore<T> {
  /** Resolves once the first list has landed in the cache. */
  start(): Promise<void>;
  stop(): Promise<void>;
  synced(): boolean;
}

export interface InformerOptions<T extends KubernetesObject> {
  readonly kc: KubeConfig;
  /** Watch path, e.g. `/api/v1/pods` or `/apis/apps/v1/namespaces/x/deployments`. */
  readonly path: string;
  readonly list: () => Promise<KubernetesListObject<T>>;
  readonly labelSelector?: string;
  readonly name: string;
  readonly log: Logger;
  readonly onEvent: (event: InformerEvent, obj: T) => void;
  /** Called on every list/watch failure before the restart. */
  readonly onError?: (err: unknown) => void;
  readonly maxBackoffMs?: number;
}

/**
 * client-node's informer with the retry policy its 1.x line leaves to the caller: any list or
 * watch error other than 410 stops it, so it is started again after a capped exponential
 * backoff (snyk/kubernetes-monitor's restartable handler). Event handlers never throw into
 * the informer: a failing handler is logged and the cache keeps going.
 */
export function createResilientInformer<T extends KubernetesObject>(
  opts: InformerOptions<T>,
): ResilientInformer<T> {
  // An object, not a boolean: it is set inside the informer's own async calls.
  const progress = { listed: false, stopped: false };
  const list = async (): Promise<KubernetesListObject<T>> => {
    const result = await opts.list();
    progress.listed = true;
    return result;
  };
  // The list function must use the same label selector as the watch.
  const informer = makeInformer<T>(opts.kc, opts.path, list, opts.labelSelector);
  const log = opts.log.child({ informer: opts.name });
  let isSynced = false;
  let failures = 0;
  let timer: NodeJS.Timeout | undefined;
  let firstSync: (() => void) | undefined;
  const firstSynced = new Promise<void>(resolve => (firstSync = resolve));

  const handle =
    (event: InformerEvent) =>
    (obj: T): void => {
      try {
        opts.onEvent(event, obj);
      } catch (err) {
        log.error({ err: String(err), event }, 'informer event handler failed');
      }
    };
  informer.on('add', handle('add'));
  informer.on('update', handle('update'));
  informer.on('delete', handle('delete'));
  informer.on('error', (err: unknown) => {
    if (progress.stopped) return;
    failures++;
    opts.onError?.(err);
    const delay = Math.min(opts.maxBackoffMs ?? 30_000, 250 * 2 ** Math.min(failures - 1, 10));
    log.warn({ err: describeApiError(err), retryInMs: delay }, 'list/watch failed; restarting');
    timer = setTimeout(() => void begin(), delay);
  });

  const begin = async (): Promise<void> => {
    if (progress.stopped) return;
    try {
      await informer.start();
    } catch (err) {
      log.warn({ err: describeApiError(err) }, 'informer start failed');
    }
    // start() resolves after the list and the watch request; an error reported meanwhile
    // has already scheduled a restart.
    if (!stillRunning(progress) || !progress.listed) return;
    {
      failures = 0;
      if (!isSynced) {
        isSynced = true;
        firstSync?.();
      }
    }
  };

  return {
    get: (name, namespace) => informer.get(name, namespace),
    list: namespace => [...informer.list(namespace)],
    async start() {
      void begin();
      await firstSynced;
    },
    async stop() {
      progress.stopped = true;
      if (timer !== undefined) clearTimeout(timer);
      await informer.stop();
    },
    synced: () => isSynced,
  };
}

/** Read through a call: stop() may have run while start() was awaited. */
function stillRunning(p: { readonly stopped: boolean }): boolean {
  return !p.stopped;
}

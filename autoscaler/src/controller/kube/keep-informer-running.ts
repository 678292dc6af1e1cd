import type { Informer, KubernetesObject } from '@kubernetes/client-node';
import type { Logger } from 'pino';

export interface StoppableInformer {
  stop(): Promise<void>;
}

/**
 * Starts an informer and keeps it running: client-node 1.x stops an informer on any watch
 * error other than 410, so it is restarted with capped exponential backoff (1 s doubling to
 * 30 s, back to 1 s after a good list). `onSynced` runs after each full list. Shared by the
 * placement service and the webhook, which both must outlive API-server hiccups.
 */
export function keepInformerRunning<T extends KubernetesObject>(
  informer: Informer<T>,
  what: string,
  log: Logger,
  onSynced: () => void,
): StoppableInformer {
  let stopped = false;
  let delay = 1000;
  let timer: NodeJS.Timeout | undefined;
  const start = (): void => {
    informer.start().then(
      () => {
        delay = 1000;
        onSynced();
      },
      (err: unknown) => {
        log.warn({ err, informer: what }, 'informer failed to list; retrying');
        schedule();
      },
    );
  };
  const schedule = (): void => {
    if (stopped) return;
    clearTimeout(timer);
    timer = setTimeout(start, delay);
    delay = Math.min(delay * 2, 30_000);
  };
  informer.on('error', (err: unknown) => {
    log.warn({ err, informer: what }, 'informer watch failed; restarting');
    schedule();
  });
  start();
  return {
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await informer.stop();
    },
  };
}

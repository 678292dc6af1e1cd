import { KubeConfig } from '@kubernetes/client-node';
import { pino } from 'pino';
import type { Autoscaler } from '../controller/autoscaler.js';
import { createAutoscaler } from '../controller/autoscaler.js';
import type { ControllerConfig } from '../controller/core/config.js';
import { parseControllerConfig } from '../controller/core/config.js';
import { readConfigFile } from '../controller/core/config-file.js';
import type { Mode } from '../controller/core/types.js';
import type { CliOutput } from './output.js';

export interface AutoscalerCommandOptions {
  readonly kubeconfig?: string;
  readonly mode?: Mode;
  readonly config?: string;
  readonly namespace?: string;
  readonly port?: number;
  readonly identity?: string;
  readonly logLevel: string;
}

/** Loads the configuration: file, then command-line flags over it. */
export function autoscalerConfig(opts: AutoscalerCommandOptions): ControllerConfig {
  const file = readConfigFile(opts.config);
  return parseControllerConfig({
    ...file,
    ...(opts.mode === undefined ? {} : { mode: opts.mode }),
    ...(opts.namespace === undefined ? {} : { namespace: opts.namespace }),
    ...(opts.port === undefined ? {} : { httpPort: opts.port }),
    ...(opts.identity === undefined ? {} : { identity: opts.identity }),
  });
}

export function loadKubeConfig(file: string | undefined): KubeConfig {
  const kc = new KubeConfig();
  if (file !== undefined) kc.loadFromFile(file);
  // An empty KUBERNETES_SERVICE_HOST does not mean in-cluster.
  else if ((process.env['KUBERNETES_SERVICE_HOST'] ?? '') !== '') kc.loadFromCluster();
  else kc.loadFromDefault();
  return kc;
}

/**
 * `dilu autoscaler`: runs the controller until SIGTERM/SIGINT, then hands the lease over
 * and exits 0. Losing the lease while running exits 1, so Kubernetes restarts the replica
 * as a fresh standby (client-go's convention).
 */
export async function runAutoscaler(
  opts: AutoscalerCommandOptions,
  output: CliOutput,
  signals: NodeJS.EventEmitter = process,
): Promise<number> {
  const config = autoscalerConfig(opts);
  const kc = loadKubeConfig(opts.kubeconfig);
  const log = pino({ name: 'dilu-autoscaler', level: opts.logLevel });
  let lost = false;
  let finish: (code: number) => void = () => undefined;
  const done = new Promise<number>(resolve => (finish = resolve));
  const autoscaler: Autoscaler = createAutoscaler({
    kc,
    config,
    log,
    onLostLeadership: () => {
      lost = true;
      finish(1);
    },
  });
  const onSignal = (sig: string) => () => {
    log.info({ signal: sig }, 'shutting down');
    finish(0);
  };
  const term = onSignal('SIGTERM');
  const int = onSignal('SIGINT');
  signals.once('SIGTERM', term);
  signals.once('SIGINT', int);
  try {
    // A signal while the caches are still syncing (say the API server is unreachable) must
    // not wait for the sync: the pod would sit out its whole grace period and be killed.
    const starting = autoscaler.start().then(() => 'started' as const);
    const first = await Promise.race([starting, done]);
    if (first !== 'started') {
      starting.catch(() => undefined);
      log.info('stopped before the caches synced');
      await autoscaler.stop({ release: false });
      return first;
    }
    output.err(
      `dilu autoscaler (${config.mode}) as ${autoscaler.identity}, http on :${autoscaler.port() ?? '-'}`,
    );
    const code = await done;
    await autoscaler.stop({ release: !lost });
    return code;
  } finally {
    signals.off('SIGTERM', term);
    signals.off('SIGINT', int);
  }
}

import { watch } from 'node:fs';
import type { FSWatcher } from 'node:fs';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { DevicePluginMetrics } from '../metrics/metrics.js';
import type { GpuMonitor } from '../node/gpu-monitor.js';
import type { Allocator } from './allocator.js';
import { createResourcePlugin } from './resource-plugin.js';
import type { ResourcePlugin } from './resource-plugin.js';
import { resourcesForGpu } from './resources.js';
import type { ResourceSpec } from './resources.js';

export interface PluginManagerDeps {
  /** The kubelet's device plugin directory, normally /var/lib/kubelet/device-plugins. */
  readonly dir: string;
  readonly monitor: GpuMonitor;
  readonly allocator: Allocator;
  readonly memoryUnitMiB: number;
  readonly memoryReservedMiB: number;
  readonly metrics: DevicePluginMetrics;
  readonly log: Logger;
  /** How long to wait before trying again after a failed start or registration. */
  readonly retryMs: number;
  /** Safety net for missed file events: how often the sockets are checked anyway. */
  readonly checkIntervalMs: number;
  readonly dialTimeoutMs: number;
}

export interface PluginManager {
  start(): Promise<void>;
  stop(): Promise<void>;
  /** True once every resource is registered with the current kubelet. */
  registered(): boolean;
  resources(): readonly ResourceSpec[];
  /** Resolves after any restart in progress (for tests and orderly shutdown). */
  settled(): Promise<void>;
}

/**
 * Serves every resource of every GPU and keeps them registered. The kubelet deletes all plugin
 * sockets and re-creates kubelet.sock when it restarts; the manager notices either (file
 * events, plus a periodic check because events can be missed on some mounts) and then serves
 * and registers everything again, as NVIDIA's plugin does.
 */
export function createPluginManager(deps: PluginManagerDeps): PluginManager {
  const log = deps.log.child({ component: 'plugins' });
  const kubeletSock = join(deps.dir, 'kubelet.sock');
  let plugins: ResourcePlugin[] = [];
  let registeredWith: string | undefined; // identity (inode) of the kubelet.sock we registered with
  let watcher: FSWatcher | undefined;
  let timer: NodeJS.Timeout | undefined;
  let retryTimer: NodeJS.Timeout | undefined;
  let running: Promise<void> = Promise.resolve();
  let again = false;
  let busy = false;
  let stopped = false;
  let unsubscribe: (() => void) | undefined;

  async function socketId(path: string): Promise<string | undefined> {
    try {
      const s = await stat(path);
      return `${s.dev}:${s.ino}:${s.ctimeMs}`;
    } catch {
      return undefined;
    }
  }

  async function needsRestart(): Promise<boolean> {
    const kubelet = await socketId(kubeletSock);
    if (kubelet === undefined) return false; // kubelet down: nothing to register with yet
    if (kubelet !== registeredWith) return true;
    for (const p of plugins) if ((await socketId(p.socketPath)) === undefined) return true;
    return false;
  }

  async function restartAll(reason: string): Promise<void> {
    log.info({ reason }, 'serving and registering all resources');
    registeredWith = undefined;
    for (const p of plugins) await p.stop();
    for (const p of plugins) await p.serve();
    const kubelet = await socketId(kubeletSock);
    if (kubelet === undefined) {
      log.warn({ socket: kubeletSock }, 'kubelet socket not there yet; waiting for it');
      return;
    }
    for (const p of plugins) await p.register();
    registeredWith = kubelet;
  }

  // Set from other callbacks while a run awaits; read through a function so the loop sees it.
  const runAgain = (): boolean => again && !stopped;

  /** Runs `check` one at a time; a trigger during a run causes one more run after it. */
  function trigger(reason: string): void {
    if (stopped) return;
    if (busy) {
      again = true;
      return;
    }
    busy = true;
    running = (async () => {
      try {
        do {
          again = false;
          if (reason === 'start' || (await needsRestart())) await restartAll(reason);
          reason = 'socket change';
        } while (runAgain());
      } catch (err) {
        registeredWith = undefined;
        log.error(
          { err: (err as Error).message, retryMs: deps.retryMs },
          'device plugin start failed; will retry',
        );
        retryTimer ??= setTimeout(() => {
          retryTimer = undefined;
          trigger('start');
        }, deps.retryMs);
      } finally {
        busy = false;
      }
    })();
  }

  return {
    async start() {
      stopped = false;
      plugins = deps.monitor.gpus().flatMap(gpu => {
        const specs = resourcesForGpu(
          gpu.index,
          gpu.memoryMiB,
          deps.memoryUnitMiB,
          deps.memoryReservedMiB,
        );
        deps.metrics.memoryAdvertised(gpu.index, specs[1].deviceIds.length * deps.memoryUnitMiB);
        return specs.map(resource => createResourcePlugin({ ...deps, resource }));
      });
      unsubscribe = deps.monitor.onHealthChange(index => {
        for (const p of plugins) if (p.resource.gpuIndex === index) p.notify();
      });
      watcher = watch(deps.dir, (_event, file) => {
        if (file === 'kubelet.sock' || plugins.some(p => p.resource.socketName === file))
          trigger('socket change');
      });
      watcher.on('error', err => {
        log.warn(
          { err: err.message },
          'cannot watch the device plugin directory; relying on the periodic check',
        );
      });
      timer = setInterval(() => {
        trigger('periodic check');
      }, deps.checkIntervalMs);
      timer.unref();
      trigger('start');
      await running;
    },
    async stop() {
      stopped = true;
      unsubscribe?.();
      watcher?.close();
      if (timer !== undefined) clearInterval(timer);
      if (retryTimer !== undefined) clearTimeout(retryTimer);
      await running;
      for (const p of plugins) await p.stop();
      registeredWith = undefined;
    },
    registered: () => registeredWith !== undefined && !busy,
    resources: () => plugins.map(p => p.resource),
    settled: () => running,
  };
}

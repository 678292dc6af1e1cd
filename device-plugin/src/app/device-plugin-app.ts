import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { createAllocationSync } from '../agent/allocation-sync.js';
import { createCachingReviewer, createKubeTokenReviewer } from '../agent/auth.js';
import type { TokenReviewer } from '../agent/auth.js';
import { createAgentApp } from '../agent/http-app.js';
import { createKubePodReader } from '../agent/pod-reader.js';
import type { PodReader } from '../agent/pod-reader.js';
import { createPodResourcesLister } from '../agent/pod-resources.js';
import { createQuotaService } from '../agent/quota-service.js';
import { createOpsApp, listenHttp, listenHttps } from '../agent/servers.js';
import type { Listening } from '../agent/servers.js';
import { loadTls, selfSignedTls } from '../agent/tls.js';
import type { Config } from '../config/config.js';
import { createExecRunner } from '../gpu/command-runner.js';
import type { CommandRunner } from '../gpu/command-runner.js';
import { createFakeNvidiaSmi } from '../gpu/fake-nvidia-smi.js';
import { createNvidiaSmiInventory } from '../gpu/nvidia-smi-inventory.js';
import { createAllocator, mpsDirs } from '../kubelet/allocator.js';
import { createPluginManager } from '../kubelet/plugin-manager.js';
import type { PluginManager } from '../kubelet/plugin-manager.js';
import { DevicePluginMetrics } from '../metrics/metrics.js';
import { createMpsDaemon } from '../mps/mps-daemon.js';
import type { MpsDaemon } from '../mps/mps-daemon.js';
import { createGpuMonitor } from '../node/gpu-monitor.js';
import type { GpuMonitor } from '../node/gpu-monitor.js';
import { readNumaNode } from '../node/numa.js';
import { createAllocationStore } from '../quota/allocation-store.js';
import { FAKE_MPS_CONTROL } from '../testing/fixtures.js';
import { publishMemoryUnit } from './node-annotations.js';

export interface DevicePluginAppDeps {
  readonly config: Config;
  readonly log: Logger;
  readonly metrics?: DevicePluginMetrics;
  /** Runs nvidia-smi; default: the real program, or its emulation when `config.fakeGpus` is set. */
  readonly run?: CommandRunner;
  /** API server access; default: in-cluster or $KUBECONFIG. */
  readonly kubeConfig?: () => KubeConfig;
  /** Overrides for tests: token review and pod reads without an API server. */
  readonly reviewer?: TokenReviewer;
  readonly pods?: PodReader;
}

export interface DevicePluginApp {
  start(): Promise<void>;
  stop(): Promise<void>;
  /** Reasons the node is not ready; empty when it is. */
  notReady(): string[];
  readonly metrics: DevicePluginMetrics;
  /** Ports actually bound (0 in the config picks a free one). */
  ports(): { agent?: number; ops?: number };
}

const s = (seconds: number): number => Math.round(seconds * 1000);

/** Wires discovery, MPS daemons, the kubelet plugins, the node agent and the probes. */
export function createDevicePluginApp(deps: DevicePluginAppDeps): DevicePluginApp {
  const { config: c, log } = deps;
  const metrics = deps.metrics ?? new DevicePluginMetrics({ processMetrics: true });
  const fake = c.fakeGpus !== null;
  const run =
    deps.run ?? (fake ? createFakeNvidiaSmi({ file: c.fakeGpus ?? '' }) : createExecRunner());
  const inventory = createNvidiaSmiInventory({
    run,
    binary: c.nvidiaSmi.path,
    timeoutMs: s(c.nvidiaSmi.timeoutSeconds),
  });
  const monitor: GpuMonitor = createGpuMonitor({
    inventory,
    intervalMs: s(c.health.intervalSeconds),
    mps: c.mps.enabled,
    numaNode: bus => readNumaNode(c.sysfsRoot, bus),
    log,
    metrics,
  });
  const store = createAllocationStore({ stateDir: c.stateDir, log });
  const controlCommand =
    c.mps.controlCommand ??
    (fake ? [process.execPath, FAKE_MPS_CONTROL] : ['nvidia-cuda-mps-control']);
  let daemons: MpsDaemon[] = [];
  let manager: PluginManager | undefined;
  const servers: Listening[] = [];
  const timers: NodeJS.Timeout[] = [];
  const closers: (() => void)[] = [];
  let kc: KubeConfig | undefined;
  const kube = (): KubeConfig => {
    if (kc === undefined) {
      kc = deps.kubeConfig?.() ?? new KubeConfig();
      if (deps.kubeConfig === undefined) kc.loadFromDefault();
    }
    return kc;
  };

  async function startMps(): Promise<void> {
    if (!c.mps.enabled) return;
    for (const gpu of monitor.gpus()) {
      if (c.mps.exclusiveProcess) {
        await inventory.setComputeMode(gpu.uuid, 'EXCLUSIVE_PROCESS').catch((err: unknown) => {
          log.warn(
            { gpu: gpu.index, err: (err as Error).message },
            'cannot set EXCLUSIVE_PROCESS compute mode',
          );
        });
      }
      const dirs = mpsDirs(c.mps.root, gpu.uuid);
      daemons.push(
        createMpsDaemon({
          gpuIndex: gpu.index,
          endpoint: {
            command: controlCommand,
            pipeDir: dirs.pipe,
            logDir: dirs.log,
            gpuUuid: gpu.uuid,
          },
          initialBackoffMs: s(c.mps.backoffInitialSeconds),
          maxBackoffMs: s(c.mps.backoffMaxSeconds),
          probeIntervalMs: s(c.mps.probeIntervalSeconds),
          probeTimeoutMs: s(c.mps.probeTimeoutSeconds),
          startTimeoutMs: s(c.mps.startTimeoutSeconds),
          stopTimeoutMs: s(c.mps.stopTimeoutSeconds),
          onHealth: (index, up) => {
            monitor.setMpsUp(index, up);
          },
          log,
          metrics,
        }),
      );
    }
    await Promise.all(daemons.map(d => d.start()));
  }

  async function startAgent(): Promise<void> {
    const lister = createPodResourcesLister(c.podResourcesSocket, 5000);
    closers.push(() => {
      lister.close();
    });
    const sync = createAllocationSync({
      lister,
      pods: deps.pods ?? createKubePodReader(kube()),
      store,
      gpuIndices: () => monitor.gpus().map(g => g.index),
      memoryUnitMiB: c.memory.unitMiB,
      freshMs: 60_000,
      orphanGraceMs: s(c.agent.orphanGraceSeconds),
      minIntervalMs: 250,
      log,
      metrics,
    });
    const tick = setInterval(() => {
      sync.sync().catch((err: unknown) => {
        log.warn({ err: (err as Error).message }, 'PodResources sync failed');
      });
    }, s(c.agent.syncIntervalSeconds));
    tick.unref();
    timers.push(tick);
    if (!c.agent.enabled) return;
    const reviewer = createCachingReviewer(
      deps.reviewer ?? createKubeTokenReviewer(kube(), c.agent.audiences),
      s(c.agent.tokenCacheSeconds),
    );
    const tls = c.agent.tls.selfSigned
      ? selfSignedTls(['dilu-node-agent', c.nodeName].filter(n => n !== ''))
      : loadTls(c.agent.tls.certFile, c.agent.tls.keyFile);
    const app = createAgentApp({
      monitor,
      store,
      sync,
      quotas: createQuotaService({ store, sync, metrics }),
      reviewer,
      allowedUsers: c.agent.allowedServiceAccounts.map(
        sa => `system:serviceaccount:${sa.replace('/', ':')}`,
      ),
      memoryUnitMiB: c.memory.unitMiB,
      metrics,
    });
    servers.push(await listenHttps(app, tls, c.agent.host, c.agent.port));
    log.info({ port: servers.at(-1)?.port }, 'node agent listening (HTTPS)');
  }

  function notReady(): string[] {
    const reasons: string[] = [];
    if (manager?.registered() !== true) reasons.push('resources not registered with the kubelet');
    for (const g of monitor.gpus())
      if (g.mpsUp === false) reasons.push(`MPS daemon of GPU ${g.index} down`);
    return reasons;
  }

  return {
    metrics,
    notReady,
    ports: () => ({ agent: servers[1]?.port, ops: servers[0]?.port }),
    async start() {
      // Probes first, so the kubelet sees a live process while GPUs and daemons come up.
      servers.push(
        await listenHttp(createOpsApp({ metrics, ready: notReady }), c.ops.host, c.ops.port),
      );
      await monitor.start();
      const { loaded, unreadable } = await store.load();
      log.info(
        { loaded, unreadable: unreadable.length, stateDir: join(c.stateDir, 'allocations') },
        'allocations loaded',
      );
      await startMps();
      manager = createPluginManager({
        dir: c.devicePluginDir,
        monitor,
        allocator: createAllocator({
          config: {
            memoryUnitMiB: c.memory.unitMiB,
            mpsRoot: c.mps.enabled ? c.mps.root : undefined,
          },
          monitor,
          store,
        }),
        memoryUnitMiB: c.memory.unitMiB,
        memoryReservedMiB: c.memory.reservedMiB,
        metrics,
        log,
        retryMs: s(c.kubelet.retrySeconds),
        checkIntervalMs: s(c.kubelet.checkIntervalSeconds),
        dialTimeoutMs: s(c.kubelet.dialTimeoutSeconds),
      });
      await manager.start();
      await startAgent();
      if (c.publishNodeAnnotations && c.nodeName !== '') {
        await publishMemoryUnit(kube(), c.nodeName, c.memory.unitMiB).catch((err: unknown) => {
          log.warn({ err: (err as Error).message }, 'cannot publish the memory unit on the node');
        });
      }
    },
    async stop() {
      for (const t of timers) clearInterval(t);
      for (const srv of servers.splice(0).reverse()) await srv.close();
      await manager?.stop();
      await Promise.all(daemons.map(d => d.stop()));
      if (c.mps.enabled && c.mps.exclusiveProcess) {
        for (const gpu of monitor.gpus())
          await inventory.setComputeMode(gpu.uuid, 'DEFAULT').catch(() => undefined);
      }
      daemons = [];
      monitor.stop();
      for (const close of closers.splice(0)) close();
    },
  };
}

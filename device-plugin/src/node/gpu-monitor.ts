import type { Logger } from 'pino';
import type { DevicePluginMetrics } from '../metrics/metrics.js';
import type { GpuInfo, GpuInventory } from '../gpu/types.js';

/** One GPU as the plugin advertises it: fixed identity, changing health. */
export interface GpuState {
  readonly index: number;
  readonly uuid: string;
  readonly name: string;
  readonly memoryMiB: number;
  readonly pciBusId: string;
  readonly numaNode: number | undefined;
  /** Problems from the last discovery pass; empty when the hardware is fine. */
  readonly problems: readonly string[];
  /** `undefined` when the plugin does not run MPS daemons. */
  readonly mpsUp: boolean | undefined;
  readonly healthy: boolean;
}

export interface GpuMonitor {
  /** First discovery: fixes the set of GPUs (and so of resources) for this run. */
  start(): Promise<void>;
  stop(): void;
  /** One discovery pass; called on a timer after start. */
  poll(): Promise<void>;
  gpus(): readonly GpuState[];
  get(index: number): GpuState | undefined;
  setMpsUp(index: number, up: boolean): void;
  /** Called with the GPU index whenever its `healthy` flips. Returns an unsubscribe function. */
  onHealthChange(listener: (index: number) => void): () => void;
  /** The inventory, for compute-mode changes. */
  readonly inventory: GpuInventory;
}

export interface GpuMonitorDeps {
  readonly inventory: GpuInventory;
  readonly intervalMs: number;
  /** Whether MPS daemons run; if so a GPU is healthy only while its daemon answers. */
  readonly mps: boolean;
  readonly numaNode: (pciBusId: string) => Promise<number | undefined>;
  readonly log: Logger;
  readonly metrics: DevicePluginMetrics;
}

export function createGpuMonitor(deps: GpuMonitorDeps): GpuMonitor {
  const log = deps.log.child({ component: 'gpus' });
  const states = new Map<number, GpuState>();
  const listeners = new Set<(index: number) => void>();
  let timer: NodeJS.Timeout | undefined;
  let polling: Promise<void> | undefined;

  function put(next: Omit<GpuState, 'healthy'>): void {
    const previous = states.get(next.index);
    const healthy = next.problems.length === 0 && next.mpsUp !== false;
    const state: GpuState = { ...next, healthy };
    states.set(next.index, state);
    deps.metrics.gpuHealth(state.index, state.uuid, healthy);
    if (previous !== undefined && previous.healthy !== healthy) {
      log.warn(
        { gpu: state.index, healthy, problems: state.problems, mpsUp: state.mpsUp },
        'GPU health changed',
      );
      for (const l of listeners) l(state.index);
    } else if (previous !== undefined && previous.problems.join() !== state.problems.join()) {
      log.warn({ gpu: state.index, problems: state.problems }, 'GPU problems changed');
    }
  }

  function problemsOf(known: GpuState, seen: GpuInfo | undefined, lost: boolean): string[] {
    if (seen === undefined)
      return [lost ? 'the driver cannot open this GPU (lost)' : 'no longer listed by nvidia-smi'];
    const problems = [...seen.problems];
    if (seen.uuid !== known.uuid)
      problems.push(`UUID changed from ${known.uuid} to ${seen.uuid}; restart the plugin`);
    if (seen.migMode === 'Enabled')
      problems.push('MIG mode is enabled; MPS slices need the whole GPU');
    return problems;
  }

  async function pollOnce(): Promise<void> {
    try {
      const d = await deps.inventory.discover();
      const byIndex = new Map(d.gpus.map(g => [g.index, g]));
      for (const known of states.values()) {
        const seen = byIndex.get(known.index);
        put({ ...known, problems: problemsOf(known, seen, d.lostBusIds.includes(known.pciBusId)) });
      }
      for (const g of d.gpus) {
        if (!states.has(g.index))
          log.warn(
            { gpu: g.index, uuid: g.uuid },
            'new GPU found; restart the plugin to advertise it',
          );
      }
    } catch (err) {
      const message = `GPU discovery failed: ${(err as Error).message}`;
      log.error({ err: (err as Error).message }, 'GPU discovery failed');
      for (const known of states.values()) put({ ...known, problems: [message] });
    }
  }

  return {
    inventory: deps.inventory,
    async start() {
      const d = await deps.inventory.discover();
      if (d.gpus.length === 0) throw new Error('nvidia-smi lists no GPU on this node');
      for (const g of d.gpus) {
        put({
          index: g.index,
          uuid: g.uuid,
          name: g.name,
          memoryMiB: g.memoryMiB,
          pciBusId: g.pciBusId,
          numaNode: await deps.numaNode(g.pciBusId),
          problems: problemsOf({ uuid: g.uuid } as GpuState, g, false),
          mpsUp: deps.mps ? false : undefined,
        });
      }
      log.info(
        {
          driver: d.driverVersion,
          gpus: d.gpus.map(g => ({
            index: g.index,
            uuid: g.uuid,
            name: g.name,
            memoryMiB: g.memoryMiB,
          })),
        },
        'GPUs discovered',
      );
      timer = setInterval(() => {
        polling ??= pollOnce().finally(() => (polling = undefined));
      }, deps.intervalMs);
      timer.unref();
    },
    stop() {
      if (timer !== undefined) clearInterval(timer);
      timer = undefined;
    },
    poll: () => (polling ??= pollOnce().finally(() => (polling = undefined))),
    gpus: () => [...states.values()].sort((a, b) => a.index - b.index),
    get: index => states.get(index),
    setMpsUp(index, up) {
      const s = states.get(index);
      if (s !== undefined && s.mpsUp !== up) put({ ...s, mpsUp: up });
    },
    onHealthChange(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}

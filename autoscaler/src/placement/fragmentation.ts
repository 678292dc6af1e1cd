import type { Cluster } from './cluster.js';
import { PlacementError } from './placement-error.js';
import { GPU_SM_PERCENT } from './types.js';

/**
 * Fragmentation as DESIGN.md §7 and Dilu's simulator define it: over the *active* GPUs (those
 * holding at least one instance), the mean share of SM not promised to anyone
 * (1 − Σr/100) and the mean share of memory not used (1 − Σm/memory). Idle GPUs do not
 * count: they are free capacity, not fragments.
 */
export interface Fragmentation {
  readonly activeGpus: number;
  /** Mean over active GPUs of 1 − min(1, Σr/100); 0 when no GPU is active. */
  readonly sm: number;
  /** Mean over active GPUs of 1 − Σm/memory; 0 when no GPU is active. */
  readonly memory: number;
}

/** O(1): read from the totals the cluster keeps on every change. */
export function fragmentation(cluster: Cluster): Fragmentation {
  const s = cluster.summary();
  if (s.activeGpus === 0) return { activeGpus: 0, sm: 0, memory: 0 };
  return {
    activeGpus: s.activeGpus,
    sm: clamp01(1 - s.activeSmRequestShare / s.activeGpus),
    memory: clamp01(1 - s.activeMemoryShare / s.activeGpus),
  };
}

/** The same figure recomputed from every GPU: O(GPUs). Checks the running totals. */
export function fragmentationByScan(cluster: Cluster): Fragmentation {
  let active = 0;
  let sm = 0;
  let memory = 0;
  for (const g of cluster.gpus()) {
    if (g.instanceCount === 0) continue;
    active++;
    sm += 1 - Math.min(1, g.sumSmRequest / GPU_SM_PERCENT);
    memory += 1 - g.sumMemoryMiB / g.memoryMiB;
  }
  if (active === 0) return { activeGpus: 0, sm: 0, memory: 0 };
  return { activeGpus: active, sm: clamp01(sm / active), memory: clamp01(memory / active) };
}

// Running sums can land a hair outside [0, 1] after many changes.
function clamp01(v: number): number {
  return Math.min(1, Math.max(0, v));
}

export interface ActiveGpuStats {
  /** Largest count observed. */
  readonly peak: number;
  /** Time-weighted mean over [first observation, end]; the last value if that span is 0. */
  readonly mean: number;
  /** ∫ active GPUs dt over the span. */
  readonly gpuSeconds: number;
  readonly durationSeconds: number;
  readonly observations: number;
}

/**
 * Counts active GPUs over time as a step function: a count observed at t holds until the
 * next observation. Feed it at every change (or every tick); O(1) per observation.
 */
export interface ActiveGpuCounter {
  observe(timeSeconds: number, activeGpus: number): void;
  /** Statistics up to `endSeconds` (default: the last observation). */
  summary(endSeconds?: number): ActiveGpuStats;
}

export function createActiveGpuCounter(): ActiveGpuCounter {
  let first: number | undefined;
  let lastTime = 0;
  let lastCount = 0;
  let peak = 0;
  let area = 0;
  let n = 0;
  const checkTime = (field: string, t: number): void => {
    if (!Number.isFinite(t)) throw new PlacementError(field, `must be a finite number, got ${t}`);
    if (first !== undefined && t < lastTime) {
      throw new PlacementError(field, `must not go back in time: ${t} < ${lastTime}`);
    }
  };
  return {
    observe(t, count) {
      checkTime('timeSeconds', t);
      if (!Number.isInteger(count) || count < 0) {
        throw new PlacementError('activeGpus', `must be an integer >= 0, got ${count}`);
      }
      if (first === undefined) first = t;
      else area += lastCount * (t - lastTime);
      lastTime = t;
      lastCount = count;
      peak = Math.max(peak, count);
      n++;
    },
    summary(end) {
      if (first === undefined) {
        return { peak: 0, mean: 0, gpuSeconds: 0, durationSeconds: 0, observations: 0 };
      }
      const until = end ?? lastTime;
      checkTime('endSeconds', until);
      const gpuSeconds = area + lastCount * (until - lastTime);
      const durationSeconds = until - first;
      const mean = durationSeconds > 0 ? gpuSeconds / durationSeconds : lastCount;
      return { peak, mean, gpuSeconds, durationSeconds, observations: n };
    },
  };
}

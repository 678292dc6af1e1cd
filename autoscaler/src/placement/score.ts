import type { InstanceClass } from './types.js';
import { GPU_SM_PERCENT } from './types.js';

/** What the scores read of a GPU (a GpuView, or a GPU with one instance taken out). */
export interface GpuLoad {
  readonly memoryMiB: number;
  readonly sumSmRequest: number;
  readonly sumSmLimit: number;
  readonly sumMemoryMiB: number;
  readonly instanceCount: number;
  readonly latencyCriticalCount: number;
  readonly bestEffortCount: number;
}

/** Weights of the complementary score; see {@link diluScore}. */
export interface DiluWeights {
  /** Dilu's weight on SM left idle after placing. */
  readonly smFit: number;
  /** Dilu's weight on memory left idle after placing. */
  readonly memoryFit: number;
  /** Penalty on |SM share − memory share| after placing (compute-heavy next to memory-heavy). */
  readonly balance: number;
  /** Penalty on the share of residents of the same class (latency-critical next to best-effort). */
  readonly classMix: number;
}

export const DILU_WEIGHTS: DiluWeights = {
  smFit: 0.6,
  memoryFit: 0.4,
  balance: 0.2,
  classMix: 0.15,
};

/** Dilu's plain best fit: the same fit term with the complementary terms switched off. */
export const BEST_FIT_WEIGHTS: DiluWeights = {
  smFit: 0.6,
  memoryFit: 0.4,
  balance: 0,
  classMix: 0,
};

export interface ScoredShape {
  readonly class: InstanceClass;
  readonly smRequest: number;
  readonly memoryMiB: number;
}

export interface DiluScoreParts {
  /** S' = (Σr + r) / 100: SM share promised on the GPU after placing. */
  readonly smShareAfter: number;
  /** U' = (Σm + m) / memory: memory share used after placing. */
  readonly memoryShareAfter: number;
  /** smFit·(1 − S') + memoryFit·(1 − U'): what stays idle; Dilu's best-fit score. */
  readonly fit: number;
  /** |S' − U'|: how lopsided the GPU becomes; the larger share strands the other resource. */
  readonly balance: number;
  /** Residents of the new instance's class ÷ residents (0 on an empty GPU). */
  readonly classMix: number;
  /** fit + balance·w + classMix·w. Lower is better. */
  readonly total: number;
}

/**
 * The complementary score of putting one instance on one GPU; lower is better.
 *
 * - fit: Dilu's best fit, 0.6·(1 − S') + 0.4·(1 − U'): prefer the GPU that is left fullest.
 * - balance: |S' − U'|. A GPU whose SM is promised but whose memory is empty (or the reverse)
 *   strands the idle resource: nothing can use idle memory when no SM is left. Penalising the
 *   gap after placing draws a memory-heavy instance to a GPU of compute-heavy residents and
 *   the reverse, which is Dilu's "compute-heavy next to memory-heavy".
 * - classMix: a latency-critical instance bursts toward its limit when its load rises; a
 *   best-effort neighbour yields (its quota is squeezed first), another latency-critical one
 *   competes at the same moment. So each class prefers GPUs whose residents are of the other.
 *
 * The complementary weights (0.2, 0.15) are small next to fit's range: they decide between
 * GPUs that fit about equally well and cannot outweigh a GPU left much fuller. They never open
 * a fresh GPU on their own — the placer tries active GPUs first.
 */
export function diluScoreParts(g: GpuLoad, x: ScoredShape, w: DiluWeights): DiluScoreParts {
  const smShareAfter = (g.sumSmRequest + x.smRequest) / GPU_SM_PERCENT;
  const memoryShareAfter = (g.sumMemoryMiB + x.memoryMiB) / g.memoryMiB;
  const fit = w.smFit * (1 - smShareAfter) + w.memoryFit * (1 - memoryShareAfter);
  const balance = Math.abs(smShareAfter - memoryShareAfter);
  const same = x.class === 'latency-critical' ? g.latencyCriticalCount : g.bestEffortCount;
  const classMix = g.instanceCount === 0 ? 0 : same / g.instanceCount;
  const total = fit + w.balance * balance + w.classMix * classMix;
  return { smShareAfter, memoryShareAfter, fit, balance, classMix, total };
}

/** The total of {@link diluScoreParts} without building the parts (hot path). */
export function diluScore(g: GpuLoad, x: ScoredShape, w: DiluWeights): number {
  const s = (g.sumSmRequest + x.smRequest) / GPU_SM_PERCENT;
  const u = (g.sumMemoryMiB + x.memoryMiB) / g.memoryMiB;
  let total = w.smFit * (1 - s) + w.memoryFit * (1 - u);
  if (w.balance !== 0) total += w.balance * Math.abs(s - u);
  if (w.classMix !== 0 && g.instanceCount > 0) {
    const same = x.class === 'latency-critical' ? g.latencyCriticalCount : g.bestEffortCount;
    total += (w.classMix * same) / g.instanceCount;
  }
  return total;
}

import { z } from 'zod';
import type { Measure, Measurement, Probe } from './measurement.js';
import { throughputEfficiency } from './measurement.js';

export interface PruningSearchOptions {
  /** Latency one batch may take, ms (Dilu's per-batch QoS target). */
  readonly sloMs: number;
  /** @default 10 */
  readonly smStep?: number;
  /** @default 12 */
  readonly budget?: number;
  /** Largest batch size to try. @default 1024 */
  readonly maxBatch?: number;
  /** Stop growing the batch once efficiency falls this fraction below the best. @default 0.1 */
  readonly efficiencyDrop?: number;
  /** Slack on the latency-floor prune, as a fraction of the SLO. @default 0.05 */
  readonly floorTolerance?: number;
}

export type StopReason =
  'max-batch' | 'not-runnable' | 'efficiency-drop' | 'latency-floor' | 'sm-exhausted' | 'budget';

export interface Choice extends Measurement {
  readonly batch: number;
  readonly smPercent: number;
}

export interface SearchResult {
  /** Cheapest configuration found that meets the SLO; undefined if none does. */
  readonly choice: Choice | undefined;
  readonly probes: readonly Probe[];
  readonly stopReason: StopReason;
}

/**
 * Multi-factor pruning search (after Dilu's HGSS): walk the frontier of least SM % that meets
 * the SLO while doubling the batch size, and keep the configuration with the best throughput
 * per SM %. Three things keep the probe count low:
 * - SM jumps: latency falls at most like 1/SM (L = a + w/SM with a >= 0), so after a miss at
 *   (b, s) with latency L, no SM below s * L / SLO can meet the SLO; the walk jumps there.
 * - Latency floor: two misses at one batch give a + w/SM; if even 100 % SM stays above the SLO
 *   (beyond a tolerance for noise), larger batches cannot meet it either, and the walk stops.
 * - Efficiency drop: once throughput per SM % falls clearly below the best, bigger batches only
 *   lose (the curve is unimodal along the frontier).
 * Leftover budget then probes one SM step above the best point, which catches batch sizes
 * whose efficiency still rises with SM.
 */
export async function pruningSearch(
  measure: Measure,
  options: PruningSearchOptions,
): Promise<SearchResult> {
  const cfg = resolve(options);
  const probes: Probe[] = [];
  const rowMisses = new Map<number, { s: number; l: number }[]>();
  let best: Choice | undefined;
  const run = async (batch: number, smPercent: number): Promise<Measurement | undefined> => {
    const m = await measure(batch, smPercent);
    const meetsSlo = m !== undefined && m.latencyMs <= cfg.sloMs;
    probes.push({ batch, smPercent, ran: m !== undefined, meetsSlo, ...m });
    if (m !== undefined && meetsSlo && efficiency(smPercent, m) > bestEfficiency()) {
      best = { batch, smPercent, ...m };
    }
    return m;
  };
  const bestEfficiency = (): number => (best ? throughputEfficiency(best) : 0);

  let batch = 1;
  let sm = cfg.smStep;
  let stopReason: StopReason = 'max-batch';
  for (;;) {
    if (probes.length >= cfg.budget) {
      stopReason = 'budget';
      break;
    }
    if (batch > cfg.maxBatch) {
      stopReason = 'max-batch';
      break;
    }
    const before = bestEfficiency();
    const m = await run(batch, sm);
    if (m === undefined) {
      stopReason = batch === 1 ? 'not-runnable' : 'max-batch';
      break;
    }
    if (m.latencyMs <= cfg.sloMs) {
      if (before > 0 && efficiency(sm, m) < before * (1 - cfg.efficiencyDrop)) {
        stopReason = 'efficiency-drop';
        break;
      }
      batch *= 2;
      continue;
    }
    const misses = rowMisses.get(batch) ?? [];
    misses.push({ s: sm, l: m.latencyMs });
    rowMisses.set(batch, misses);
    if (floorAboveSlo(misses, cfg)) {
      stopReason = 'latency-floor';
      break;
    }
    const next = nextSm(sm, m.latencyMs, cfg);
    if (next === undefined) {
      stopReason = 'sm-exhausted';
      break;
    }
    sm = next;
  }
  await refine(run, () => best, probes, cfg);
  return { choice: best, probes, stopReason };
}

/** Spends leftover budget one SM step above the best point while that keeps paying off. */
async function refine(
  run: (b: number, s: number) => Promise<Measurement | undefined>,
  current: () => Choice | undefined,
  probes: readonly Probe[],
  cfg: Resolved,
): Promise<void> {
  for (;;) {
    const b = current();
    if (!b || probes.length >= cfg.budget || b.smPercent + cfg.smStep > 100) return;
    const s = b.smPercent + cfg.smStep;
    if (probes.some(p => p.batch === b.batch && p.smPercent === s)) return;
    await run(b.batch, s);
    if (current() === b) return;
  }
}

const optionsSchema = z.object({
  sloMs: z.number().positive(),
  smStep: z.number().int().min(1).max(100).default(10),
  budget: z.number().int().min(1).default(12),
  maxBatch: z.number().int().min(1).default(1024),
  efficiencyDrop: z.number().min(0).max(1).default(0.1),
  floorTolerance: z.number().min(0).default(0.05),
});

type Resolved = z.infer<typeof optionsSchema>;

function resolve(o: PruningSearchOptions): Resolved {
  const parsed = optionsSchema.safeParse(o);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new RangeError(`${issue?.path.join('.') ?? 'options'}: ${issue?.message ?? 'invalid'}`);
  }
  return parsed.data;
}

function efficiency(smPercent: number, m: Measurement): number {
  return throughputEfficiency({ throughputRps: m.throughputRps, smPercent });
}

function floorAboveSlo(misses: readonly { s: number; l: number }[], cfg: Resolved): boolean {
  if (misses.length < 2) return false;
  const sorted = [...misses].sort((x, y) => x.s - y.s);
  const p1 = sorted.at(-2);
  const p2 = sorted.at(-1);
  if (!p1 || !p2) return false;
  if (p1.l <= p2.l) return p2.s >= 100;
  const w = (p1.l - p2.l) / (1 / p1.s - 1 / p2.s);
  const a = p1.l - w / p1.s;
  return a + w / 100 > cfg.sloMs * (1 + cfg.floorTolerance);
}

function nextSm(sm: number, latencyMs: number, cfg: Resolved): number | undefined {
  const needed = (sm * latencyMs) / cfg.sloMs;
  const onGrid = cfg.smStep * Math.ceil(needed / cfg.smStep - 1e-9);
  const next = Math.max(sm + cfg.smStep, onGrid);
  if (next <= 100) return next;
  return sm < 100 ? 100 : undefined;
}

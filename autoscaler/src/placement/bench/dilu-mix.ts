import { createRng } from '../rng.js';
import type { InstanceRequest } from '../types.js';

/**
 * A synthetic instance stream shaped like the generator of Dilu's placement simulator
 * (notes/papers.md §1.8): 60 % inference (3–10 GiB, r 20–40 %), 20 % LLM inference
 * (20–30 GiB, r 40–60 %, l up to 80 %), 20 % training workers (25–40 GiB, r 40–80 %,
 * l >= r + 20 %, best-effort, 2 or 4 workers of one job). One arrival per second;
 * 60 % of inference instances leave after 1–3 min, 10 % of training jobs after 10–15 min.
 */
export interface MixEvent {
  readonly t: number;
  readonly kind: 'arrive' | 'leave';
  readonly id: string;
  readonly request: InstanceRequest;
}

const GIB = 1024;

export function diluMix(arrivals: number, seed: number): MixEvent[] {
  const rnd = createRng(seed);
  const u = (a: number, b: number): number => a + (b - a) * rnd();
  const round = (x: number): number => Math.round(x * 10) / 10;
  const events: MixEvent[] = [];
  let job = 0;
  for (let t = 0, n = 0; n < arrivals; t++) {
    const roll = rnd();
    if (roll < 0.6) {
      const r = round(u(20, 40));
      const request: InstanceRequest = {
        functionId: `inf-${Math.floor(rnd() * 40)}`,
        class: 'latency-critical',
        smRequest: r,
        smLimit: Math.min(100, Math.max(r + 20, round(u(30, 60)))),
        memoryMiB: Math.round(u(3, 10) * GIB),
      };
      const id = `i${n++}`;
      events.push({ t, kind: 'arrive', id, request });
      if (rnd() < 0.6) events.push({ t: t + u(60, 180), kind: 'leave', id, request });
    } else if (roll < 0.8) {
      const r = round(u(40, 60));
      const request: InstanceRequest = {
        functionId: `llm-${Math.floor(rnd() * 10)}`,
        class: 'latency-critical',
        smRequest: r,
        smLimit: round(u(r, 80)),
        memoryMiB: Math.round(u(20, 30) * GIB),
      };
      const id = `l${n++}`;
      events.push({ t, kind: 'arrive', id, request });
      if (rnd() < 0.6) events.push({ t: t + u(60, 180), kind: 'leave', id, request });
    } else {
      const workers = rnd() < 0.5 ? 2 : 4;
      const r = round(u(40, 80));
      const leaves = rnd() < 0.1 ? t + u(600, 900) : undefined;
      const fn = `train-${job++}`;
      for (let w = 0; w < workers && n < arrivals; w++) {
        const request: InstanceRequest = {
          functionId: fn,
          class: 'best-effort',
          smRequest: r,
          smLimit: Math.min(100, round(r + u(20, 40))),
          memoryMiB: Math.round(u(25, 40) * GIB),
        };
        const id = `${fn}-w${w}`;
        n++;
        events.push({ t, kind: 'arrive', id, request });
        if (leaves !== undefined) events.push({ t: leaves, kind: 'leave', id, request });
      }
    }
  }
  // Leaves before arrivals at the same instant, so freed capacity is reusable.
  return events.sort((a, b) => a.t - b.t || (a.kind === b.kind ? 0 : a.kind === 'leave' ? -1 : 1));
}

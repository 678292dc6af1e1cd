import { describe, expect, it } from '@jest/globals';
import { fileURLToPath } from 'node:url';
import { loadProfiles } from './load-profile.js';
import { createPredictor } from './predictor.js';
import type { FunctionProfile } from './profile.js';

const profiles = loadProfiles([
  fileURLToPath(new URL('../../data/profiles/dilu-a100/', import.meta.url)),
]);
const byName = (n: string): FunctionProfile => {
  const p = profiles.find(x => x.name === n);
  if (!p) throw new Error(`no bundled profile ${n}`);
  return p;
};

describe('createPredictor on the bundled A100 profiles', () => {
  it.each(profiles.map(p => [p.name, p] as const))(
    '%s: latency is non-increasing in SM for every batch, measured or not',
    (_name, profile) => {
      const pr = createPredictor(profile);
      for (const b of [1, 3, 8, 12, 32, 48]) {
        let prev = Infinity;
        for (let s = 1; s <= 100; s += 0.5) {
          const l = pr.latencyMs(b, s);
          expect(Number.isFinite(l)).toBe(true);
          expect(l).toBeLessThanOrEqual(prev + 1e-9);
          prev = l;
        }
      }
    },
  );

  it('stays close to measured points (isotonic smoothing moves them only by noise)', () => {
    const profile = byName('resnet152');
    const pr = createPredictor(profile);
    const errs = profile.points.map(
      p => Math.abs(pr.latencyMs(p.batch, p.smPercent) - p.latencyMs) / p.latencyMs,
    );
    expect(Math.max(...errs)).toBeLessThan(0.05);
  });

  it('interpolates between measured SM values and batch sizes', () => {
    const pr = createPredictor(byName('resnet152'));
    const l35 = pr.latencyMs(16, 35);
    expect(l35).toBeLessThan(pr.latencyMs(16, 30));
    expect(l35).toBeGreaterThan(pr.latencyMs(16, 40));
    const b12 = pr.latencyMs(12, 50);
    expect(b12).toBeGreaterThan(pr.latencyMs(8, 50));
    expect(b12).toBeLessThan(pr.latencyMs(16, 50));
  });

  it('derives throughput from latency with the profile rho (LLM requests span decode steps)', () => {
    const llama = createPredictor(byName('llama2'));
    const l = llama.latencyMs(8, 50);
    expect(llama.throughputRps(8, 50)).toBeCloseTo((8 * 1000) / l / 32, 0);
    const resnet = createPredictor(byName('resnet152'));
    // rho is 1 up to the CSV's rounding for a model with one request per batch slot.
    expect(resnet.throughputRps(8, 50) / ((8 * 1000) / resnet.latencyMs(8, 50))).toBeCloseTo(1, 4);
  });

  it('gives a band from its own leave-one-out error, doubled when extrapolating', () => {
    const pr = createPredictor(byName('bert_base'));
    expect(pr.bandFraction).toBeGreaterThan(0.01);
    expect(pr.bandFraction).toBeLessThan(0.15);
    const inside = pr.predict(8, 50);
    expect(inside.extrapolated).toBe(false);
    expect(inside.latencyHighMs - inside.latencyMs).toBeCloseTo(
      inside.latencyMs * pr.bandFraction,
      9,
    );
    const outside = pr.predict(64, 5);
    expect(outside.extrapolated).toBe(true);
    expect(outside.latencyHighMs / outside.latencyMs - 1).toBeCloseTo(2 * pr.bandFraction, 9);
  });

  it('clamps SM to 1..100 and extrapolates larger batches upwards', () => {
    const pr = createPredictor(byName('resnet152'));
    expect(pr.latencyMs(4, 150)).toBe(pr.latencyMs(4, 100));
    expect(pr.latencyMs(64, 50)).toBeGreaterThanOrEqual(pr.latencyMs(32, 50));
  });
});

describe('createPredictor on small profiles', () => {
  const tiny: FunctionProfile = {
    name: 'tiny',
    source: 'tiny.csv',
    memoryMiB: 1000,
    points: [
      { batch: 1, smPercent: 20, latencyMs: 10, throughputRps: 100, memoryMiB: 900 },
      { batch: 4, smPercent: 20, latencyMs: 20, throughputRps: 200, memoryMiB: 1200 },
    ],
  };

  it('uses the default band when there are too few points to measure its error', () => {
    expect(createPredictor(tiny).bandFraction).toBe(0.25);
    expect(createPredictor(tiny, { defaultBandFraction: 0.4 }).bandFraction).toBe(0.4);
  });

  it('slows down as 1/SM below the only measured SM', () => {
    expect(createPredictor(tiny).latencyMs(1, 10)).toBeCloseTo(20, 9);
  });

  it('interpolates memory over batch and falls back to the profile figure', () => {
    const pr = createPredictor(tiny);
    expect(pr.memoryMiB(1)).toBe(900);
    expect(pr.memoryMiB(2)).toBe(1000);
    expect(pr.memoryMiB(8)).toBe(1600);
    const noPointMemory = createPredictor({
      ...tiny,
      points: tiny.points.map(({ memoryMiB: _m, ...p }) => p),
    });
    expect(noPointMemory.memoryMiB(4)).toBe(1000);
  });
});

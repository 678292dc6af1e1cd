import { describe, expect, it } from '@jest/globals';
import { join } from 'node:path';
import { createPredictor, instanceCapacityRps, loadProfile } from '@dilu/autoscaler';
import { A100_PROFILES_DIR } from '../test-support/harness.js';
import { createInterimSizing } from './sizing.js';

const predictor = createPredictor(loadProfile(join(A100_PROFILES_DIR, 'bs_sm_resnet152.csv')));
const size = createInterimSizing();

/** The check the rule promises: upper band, throttled to q = r under l. */
function pessimistic(batch: number, r: number, l: number): number {
  return predictor.predict(batch, l).latencyHighMs * (l / r);
}

describe('interim sizing (latency-critical)', () => {
  it.each([40, 80, 150, 400])(
    'meets a %d ms SLO pessimistically with the least SM on the grid',
    slo => {
      const result = size({ predictor, class: 'latency-critical', sloMs: slo });
      if (!result.ok) throw new Error(result.reason);
      const { batch, smRequest: r, smLimit: l } = result.size;
      expect(l).toBe(Math.min(100, Math.ceil(r * 1.5)));
      expect(pessimistic(batch, r, l)).toBeLessThanOrEqual(slo);
      // One step less SM for the same batch would not be safe.
      if (r > 5) {
        const r2 = r - 5;
        expect(pessimistic(batch, r2, Math.min(100, Math.ceil(r2 * 1.5)))).toBeGreaterThan(slo);
      }
      // No other measured batch, at its own least safe request, serves more per SM percent.
      const eff = instanceCapacityRps(predictor, { batch, smLimit: l, quota: r }) / r;
      for (const b of predictor.batches) {
        for (let s = 5; s <= 100; s += 5) {
          const ls = Math.min(100, Math.ceil(s * 1.5));
          if (pessimistic(b, s, ls) > slo) continue;
          expect(
            instanceCapacityRps(predictor, { batch: b, smLimit: ls, quota: s }) / s,
          ).toBeLessThanOrEqual(eff * (1 + 1e-9));
          break;
        }
      }
    },
  );

  it('uses a looser SLO to save SMs', () => {
    const tight = size({ predictor, class: 'latency-critical', sloMs: 40, batch: 1 });
    const loose = size({ predictor, class: 'latency-critical', sloMs: 400, batch: 1 });
    expect(tight.ok && loose.ok).toBe(true);
    if (tight.ok && loose.ok) expect(loose.size.smRequest).toBeLessThan(tight.size.smRequest);
  });

  it('keeps a user-fixed batch size', () => {
    const result = size({ predictor, class: 'latency-critical', sloMs: 200, batch: 2 });
    expect(result.ok && result.size.batch).toBe(2);
  });

  it('refuses an SLO the GPU cannot meet, saying how fast it can go', () => {
    const result = size({ predictor, class: 'latency-critical', sloMs: 3 });
    expect(result).toEqual({
      ok: false,
      reason: expect.stringMatching(
        /^no configuration meets a 3 ms batch SLO: even a whole GPU takes up to \d+\.\d ms per batch \(profile "resnet152"\)$/,
      ),
    });
  });

  it('needs an SLO', () => {
    expect(size({ predictor, class: 'latency-critical' })).toEqual({
      ok: false,
      reason: 'no latency SLO (dilu.dev/slo-ms) to size for',
    });
  });
});

describe('interim sizing (best-effort)', () => {
  it('caps at the knee of the most productive batch and guarantees half of it', () => {
    const result = size({ predictor, class: 'best-effort' });
    if (!result.ok) throw new Error(result.reason);
    const { batch, smRequest: r, smLimit: l } = result.size;
    const full = predictor.throughputRps(batch, 100);
    for (const b of predictor.batches)
      expect(predictor.throughputRps(b, 100)).toBeLessThanOrEqual(full);
    expect(predictor.throughputRps(batch, l)).toBeGreaterThanOrEqual(0.98 * full);
    if (l > 5) expect(predictor.throughputRps(batch, l - 5)).toBeLessThan(0.98 * full);
    expect(r).toBe(Math.max(5, Math.ceil(l / 2 / 5) * 5));
  });
});

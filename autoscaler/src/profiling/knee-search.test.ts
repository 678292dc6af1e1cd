import { describe, expect, it } from '@jest/globals';
import type { Measure } from './measurement.js';
import { kneeSearch } from './knee-search.js';

/** Throughput grows linearly up to `knee` % SM, then stays flat. */
const saturating =
  (knee: number): Measure =>
  (_b, s) =>
    Promise.resolve({ latencyMs: 10, throughputRps: 100 * Math.min(s, knee) });

describe('kneeSearch', () => {
  it.each([35, 50, 72, 100])('finds the knee of a job saturating at %i %% SM', async knee => {
    const r = await kneeSearch(saturating(knee), { batch: 8, threshold: 1 });
    expect(r.smPercent).toBe(Math.ceil(knee / 5) * 5);
    expect(r.probes.length).toBeLessThanOrEqual(7);
  });

  it('accepts 98 % of full throughput by default', async () => {
    const r = await kneeSearch(saturating(50), { batch: 1 });
    // 98 % of 5000 rps = 4900 rps, reached at 49 % -> 50 on the 5 % grid.
    expect(r.smPercent).toBe(50);
    expect(r.fullThroughputRps).toBe(5000);
  });

  it('reports a batch that cannot run', async () => {
    const r = await kneeSearch(() => Promise.resolve(undefined), { batch: 4 });
    expect(r.smPercent).toBeUndefined();
    expect(r.probes).toHaveLength(1);
  });

  it.each([
    [{ batch: 0 }, /batch must be an integer >= 1/],
    [{ batch: 1, threshold: 0 }, /threshold must be in \(0, 1\]/],
    [{ batch: 1, smStep: 0 }, /smStep must be an integer in 1..100/],
  ])('rejects %j', async (opts, msg) => {
    await expect(kneeSearch(saturating(50), opts)).rejects.toThrow(msg);
  });
});

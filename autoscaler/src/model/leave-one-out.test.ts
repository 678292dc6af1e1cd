import { describe, expect, it } from '@jest/globals';
import { fileURLToPath } from 'node:url';
import { loadProfiles } from './load-profile.js';
import { leaveOneOutErrors, leaveOneOutReport } from './leave-one-out.js';

const profiles = loadProfiles([
  fileURLToPath(new URL('../../data/profiles/dilu-a100/', import.meta.url)),
]);

describe('leave-one-out accuracy', () => {
  it.each(profiles.map(p => [p.name, p] as const))(
    '%s: mean absolute percentage error on latency is at most 5 %%',
    (_name, profile) => {
      const r = leaveOneOutReport(profile);
      expect(r.points).toBe(60);
      expect(r.mapePercent).toBeLessThanOrEqual(5);
      expect(r.worst).toHaveLength(3);
      expect(r.worst[0]!.relativeError * 100).toBeCloseTo(r.maxPercent, 9);
    },
  );

  it('skips points whose batch size nobody else measured', () => {
    const errs = leaveOneOutErrors([
      { batch: 1, smPercent: 10, latencyMs: 20, throughputRps: 50 },
      { batch: 1, smPercent: 20, latencyMs: 12, throughputRps: 80 },
      { batch: 2, smPercent: 10, latencyMs: 30, throughputRps: 66 },
    ]);
    expect(errs.map(e => [e.batch, e.smPercent])).toEqual([[1, 10]]);
  });
});

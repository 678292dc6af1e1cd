import { describe, expect, it } from '@jest/globals';
import { join } from 'node:path';
import { loadProfile } from '@dilu/autoscaler';
import { createProfileStore } from '../profiles/profile-store.js';
import { A100_PROFILES_DIR } from '../test-support/harness.js';
import type { DecideInput, DecisionDefaults } from './decide.js';
import { decide } from './decide.js';
import type { SizeInstance } from './sizing.js';

const defaults: DecisionDefaults = {
  smRequest: 25,
  smLimit: 50,
  memoryMiB: 4096,
  batch: 1,
  limitFactor: 1.5,
};
const store = createProfileStore();
store.set(
  'fns',
  {
    ...loadProfile(join(A100_PROFILES_DIR, 'bs_sm_resnet152.csv')),
    name: 'resnet',
    memoryMiB: 3300,
  },
  [{ sloMs: 100, batch: 8, smRequest: 40, smLimit: 60, memoryMiB: 3500, throughputRps: 300 }],
);
const profile = store.lookup('fns', 'resnet');
let sizingCalls = 0;
const sizing: SizeInstance = req => {
  sizingCalls++;
  return req.sloMs === 1
    ? { ok: false, reason: 'too tight' }
    : {
        ok: true,
        size: { batch: req.fixed?.batch ?? 4, smRequest: 20, smLimit: 30, memoryMiB: undefined },
      };
};

function run(partial: Partial<DecideInput>): ReturnType<typeof decide> {
  return decide({
    settings: { class: 'latency-critical' },
    requested: {},
    defaults,
    sizing,
    ...partial,
  });
}

describe('decide', () => {
  it('uses conservative defaults and asks for a profile when there is none', () => {
    expect(run({})).toEqual({
      ok: true,
      decision: {
        batch: 1,
        smRequest: 25,
        smLimit: 50,
        memoryMiB: 4096,
        sloMs: undefined,
        class: 'latency-critical',
        source: 'default',
        needsProfile: true,
        basis: 'defaults (no FunctionProfile)',
      },
    });
  });

  it('prefers the profile’s recommendation for the same SLO', () => {
    const r = run({ profile, settings: { class: 'latency-critical', sloMs: 100 } });
    expect(r).toMatchObject({
      ok: true,
      decision: {
        batch: 8,
        smRequest: 40,
        smLimit: 60,
        memoryMiB: 3500,
        source: 'profile',
        needsProfile: false,
      },
    });
  });

  it('sizes for other SLOs, once per SLO, with the profile’s memory', () => {
    sizingCalls = 0;
    for (let i = 0; i < 3; i++) {
      const r = run({ profile, settings: { class: 'latency-critical', sloMs: 70 } });
      expect(r).toMatchObject({
        decision: { batch: 4, smRequest: 20, smLimit: 30, memoryMiB: 3300, source: 'profile' },
      });
    }
    expect(sizingCalls).toBe(1);
  });

  it('prefers the autoscaler’s instance decision and takes its SLO', () => {
    const r = run({
      profile,
      instanceDecision: { batch: 2, smRequest: 15, smLimit: 45, memoryMiB: 3000, sloMs: 100 },
    });
    expect(r).toMatchObject({
      decision: {
        batch: 2,
        smRequest: 15,
        smLimit: 45,
        memoryMiB: 3000,
        sloMs: 100,
        source: 'decision',
      },
    });
  });

  it('lets the user override field by field', () => {
    const r = run({
      profile,
      settings: { class: 'latency-critical', sloMs: 100, smRequest: 50, batch: 16 },
      requested: { memoryMiB: 6000 },
    });
    // r = 50 over the recommendation's l = 60: the limit grows to 1.5 x 50.
    expect(r).toMatchObject({
      decision: { batch: 16, smRequest: 50, smLimit: 75, memoryMiB: 6000, source: 'explicit' },
    });
    const capped = run({
      profile,
      settings: { class: 'latency-critical', sloMs: 100, smLimit: 30 },
    });
    expect(capped).toMatchObject({ decision: { smRequest: 30, smLimit: 30, source: 'profile' } });
  });

  it('denies an SLO the profile cannot meet, unless the user fixed the request', () => {
    expect(run({ profile, settings: { class: 'latency-critical', sloMs: 1 } })).toEqual({
      ok: false,
      error: { field: 'metadata.annotations[dilu.dev/slo-ms]', message: 'too tight' },
    });
    expect(
      run({ profile, settings: { class: 'latency-critical', sloMs: 1, smRequest: 90 } }),
    ).toMatchObject({
      ok: true,
      decision: { smRequest: 90, smLimit: 100, source: 'explicit' },
    });
  });

  it('falls back to defaults with the profile’s memory when a latency-critical function has no SLO', () => {
    expect(run({ profile })).toMatchObject({
      decision: {
        smRequest: 25,
        smLimit: 50,
        memoryMiB: 3300,
        source: 'default',
        needsProfile: false,
      },
    });
  });
});

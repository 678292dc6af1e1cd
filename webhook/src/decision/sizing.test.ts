import { describe, expect, it } from '@jest/globals';
import { join } from 'node:path';
import { createPredictor, loadProfile, sizeInstance } from '@dilu/autoscaler';
import { A100_PROFILES_DIR } from '../test-support/harness.js';
import { createPolicySizing } from './sizing.js';

const predictor = createPredictor(loadProfile(join(A100_PROFILES_DIR, 'bs_sm_resnet152.csv')));
const size = createPolicySizing();

describe('sizing through the 2-D policy', () => {
  it.each([60, 100, 400])('gives what the policy sizes for a %d ms SLO', sloMs => {
    const policy = sizeInstance(predictor, { class: 'latency-critical', sloMs });
    expect(policy.feasible).toBe(true);
    expect(size({ predictor, class: 'latency-critical', sloMs })).toEqual({
      ok: true,
      size: {
        batch: policy.batch,
        smRequest: policy.smRequest,
        smLimit: policy.smLimit,
        memoryMiB: policy.memoryMiB,
      },
    });
    expect(policy.latencyBoundMs).toBeLessThanOrEqual(sloMs);
  });

  it('uses a looser SLO to save SMs per request', () => {
    const tight = size({ predictor, class: 'latency-critical', sloMs: 60 });
    const loose = size({ predictor, class: 'latency-critical', sloMs: 400 });
    if (!tight.ok || !loose.ok) throw new Error('both should be feasible');
    expect(loose.size.smRequest).toBeLessThan(tight.size.smRequest);
  });

  it('honours values the user pinned', () => {
    const r = size({
      predictor,
      class: 'latency-critical',
      sloMs: 200,
      fixed: { batch: 2, smLimit: 60 },
    });
    expect(r).toMatchObject({ ok: true, size: { batch: 2, smLimit: 60 } });
  });

  it('refuses an SLO no configuration meets, saying what the fastest promises', () => {
    expect(size({ predictor, class: 'latency-critical', sloMs: 3 })).toEqual({
      ok: false,
      reason: expect.stringMatching(
        /^no configuration meets a 3 ms SLO: the fastest \(batch \d+, SM \d+ %\) promises up to \d+\.\d ms per request \(profile "resnet152"\)$/,
      ),
    });
  });

  it('needs an SLO for a latency-critical function, none for best-effort work', () => {
    expect(size({ predictor, class: 'latency-critical' })).toEqual({
      ok: false,
      reason: 'no latency SLO (dilu.dev/slo-ms) to size for',
    });
    const be = size({ predictor, class: 'best-effort' });
    const policy = sizeInstance(predictor, { class: 'best-effort' });
    expect(be).toMatchObject({
      ok: true,
      size: { batch: policy.batch, smRequest: policy.smRequest, smLimit: policy.smLimit },
    });
  });
});

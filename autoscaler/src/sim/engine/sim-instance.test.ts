import { describe, expect, it } from '@jest/globals';
import { createPredictor } from '../../model/index.js';
import { flatProfile } from '../testing.js';
import { SimInstance } from './sim-instance.js';

const predictor = createPredictor(flatProfile(10));

function instance(quota: number, smLimit = 100, windowSeconds = 0.1): SimInstance {
  return new SimInstance({
    id: 1,
    fn: 0,
    gpu: 0,
    batch: 4,
    smRequest: quota,
    smLimit,
    quota,
    memoryMiB: 1,
    exclusive: false,
    requestFollowsQuota: false,
    createdAt: 0,
    readyAt: 0,
    predictor,
    windowSeconds,
  });
}

describe('SimInstance duty cycle', () => {
  it('runs at full speed at full duty', () => {
    const i = instance(100);
    expect(i.execute(1, 0)).toBeCloseTo(0.01, 9);
    expect(i.execute(4, 0.01)).toBeCloseTo(0.01, 9);
    expect(i.fullBatchSeconds).toBeCloseTo(0.01, 9);
  });

  it('spends the bucket at full speed, then runs at the duty rate', () => {
    // d = 0.5, bucket 0.05 s of GPU time: full speed lasts 0.05 / (1 - 0.5) = 0.1 s.
    const i = instance(50);
    let t = 0;
    for (let k = 0; k < 10; k++) {
      const wall = i.execute(1, t);
      expect(wall).toBeCloseTo(0.01, 9);
      t += wall;
    }
    // Bucket empty: 10 ms of work now takes 20 ms.
    expect(i.execute(1, t)).toBeCloseTo(0.02, 9);
  });

  it('serves T x q / l under sustained load (instance-performance throttled capacity)', () => {
    const i = instance(25, 50); // d = 0.5 again, with the limit at 50 %
    let t = 0;
    let n = 0;
    while (t < 10) {
      t += i.execute(4, t);
      n += 4;
    }
    // 4 per 10 ms = 400 rps unthrottled; half duty -> 200 rps, plus the initial bucket.
    expect(n / t).toBeGreaterThan(195);
    expect(n / t).toBeLessThan(210);
  });

  it('refills while idle, up to the window', () => {
    const i = instance(50);
    for (let k = 0; k < 20; k++) i.execute(1, k * 0.01); // drain the bucket
    // After a long pause the bucket is full again (0.05 s): a batch runs unthrottled.
    expect(i.execute(1, 100)).toBeCloseTo(0.01, 9);
  });

  it('switches to a new quota only from the time it takes effect', () => {
    const i = instance(10, 100); // d = 0.1: a bucket of 10 ms of GPU time
    i.setQuota(100, 5);
    expect(i.quota).toBe(100);
    expect(i.share).toBe(1);
    // Before t = 5 the duty is still 0.1: one batch empties the bucket, the next crawls.
    expect(i.execute(1, 4.8)).toBeCloseTo(0.01, 9);
    expect(i.execute(1, 4.81)).toBeGreaterThan(0.07);
    // From t = 5 it runs at full duty.
    expect(i.execute(1, 6)).toBeCloseTo(0.01, 9);
    expect(i.execute(1, 6.01)).toBeCloseTo(0.01, 9);
  });
});

describe('SimInstance execution counters (what the runtime measures)', () => {
  it('counts batches and their GPU busy time per batch size, throttled or not', () => {
    const i = instance(10); // duty 0.1: most batches run throttled
    let t = 0;
    for (const n of [1, 4, 4, 2, 4]) t += i.execute(n, t);
    expect(i.executedTotal).toBe(5);
    expect(Array.from(i.executedBatches)).toEqual([0, 1, 1, 0, 3]);
    // Busy time is the unthrottled work n / T(n, l): quota waits are not GPU time.
    expect(i.executedBusySeconds[4]).toBeCloseTo(3 * 0.01, 9);
    expect(i.executedBusySeconds[1]).toBeCloseTo(0.01, 9);
    expect(t).toBeGreaterThan(5 * 0.01);
  });
});

import { describe, expect, it } from '@jest/globals';
import type { KpaDeciderConfig } from './kpa-decider.js';
import { KpaDecider } from './kpa-decider.js';

/** Knative's defaults: stable 60 s, panic 10 % (6 s), threshold 200 %, rates 1000 / 2. */
const cfg = (targetPerPod: number): KpaDeciderConfig => ({
  targetPerPod,
  stableWindowSeconds: 60,
  panicWindowPercentage: 10,
  panicThresholdPercentage: 200,
  maxScaleUpRate: 1000,
  maxScaleDownRate: 2,
});

function feed(d: KpaDecider, from: number, to: number, value: number): void {
  for (let s = from; s < to; s++) d.record(s, value);
}

describe('KpaDecider', () => {
  it('holds the current count before any data', () => {
    expect(new KpaDecider(cfg(10), 1).decide(0, 3)).toBe(3);
  });

  it('stable mode: ceil(window average / target)', () => {
    const d = new KpaDecider(cfg(7), 1);
    feed(d, 0, 60, 20);
    // 20 / 7 = 2.86 -> 3 pods; the panic value 20 / 7 / 1 pod = 3 >= 2 would panic, so start with 2 ready.
    expect(d.decide(60, 2)).toBe(3);
    expect(d.panicking).toBe(false);
  });

  it('averages over the part of the window that has data', () => {
    const d = new KpaDecider(cfg(10), 1);
    feed(d, 0, 10, 30);
    expect(d.average(60)).toBe(30);
    feed(d, 10, 20, 0);
    expect(d.average(60)).toBe(15);
    expect(d.average(6)).toBe(0);
  });

  it('clamps scale-down to ready / maxScaleDownRate', () => {
    const d = new KpaDecider(cfg(10), 1);
    feed(d, 0, 60, 1);
    // Wants 1 pod from 8 ready, but may only halve: floor(8 / 2) = 4.
    expect(d.decide(60, 8)).toBe(4);
  });

  it('clamps scale-up to ceil(maxScaleUpRate x ready)', () => {
    const d = new KpaDecider({ ...cfg(1), maxScaleUpRate: 1.5 }, 1);
    feed(d, 0, 60, 100);
    // ready = max(1, 0) = 1: ceil(1.5 x 1) = 2 at most, in stable and panic alike.
    expect(d.decide(60, 0)).toBe(2);
  });

  it('panics when the 6 s value needs twice the ready pods, and never scales down in panic', () => {
    const d = new KpaDecider(cfg(10), 1);
    feed(d, 0, 54, 10); // 1 pod's worth
    feed(d, 54, 60, 50); // burst: panic avg 50 -> 5 pods; stable avg = (54 x 10 + 6 x 50) / 60 = 14 -> 2
    expect(d.decide(60, 1)).toBe(5);
    expect(d.panicking).toBe(true);
    // The burst ends: panic wants ceil(10 / 10) = 1, stable 2, but panic holds the maximum.
    feed(d, 60, 70, 10);
    expect(d.decide(70, 5)).toBe(5);
    // A full stable window after the threshold last held (t = 60), panic ends: stable again,
    // 1 pod wanted but at most halved from 5 ready: floor(5 / 2) = 2.
    feed(d, 70, 121, 10);
    expect(d.decide(121, 5)).toBe(2);
    expect(d.panicking).toBe(false);
  });

  it('stays in panic while the threshold keeps holding, and raises the count with it', () => {
    const d = new KpaDecider(cfg(10), 1);
    feed(d, 0, 6, 40);
    expect(d.decide(6, 1)).toBe(4);
    feed(d, 6, 12, 100);
    expect(d.decide(12, 4)).toBe(10); // 100 / 10 / 4 = 2.5 >= 2: still panicking, raised
    feed(d, 12, 70, 20);
    expect(d.decide(70, 10)).toBe(10); // 12 + 60 = 72 > 70: not yet out of panic
    feed(d, 70, 73, 20);
    expect(d.decide(73, 10)).toBe(5); // out of panic: stable 20 -> 2, clamped to floor(10 / 2) = 5
  });

  it('starts in panic when created with more than one ready pod (Knative restart rule)', () => {
    const d = new KpaDecider(cfg(10), 4, 0);
    expect(d.panicking).toBe(true);
    feed(d, 0, 10, 0);
    expect(d.decide(10, 4)).toBe(4);
    expect(new KpaDecider(cfg(10), 1).panicking).toBe(false);
  });

  it('rejects out-of-order seconds and a non-positive target', () => {
    const d = new KpaDecider(cfg(10), 1);
    d.record(5, 1);
    expect(() => d.record(5, 1)).toThrow('seconds must increase');
    expect(() => new KpaDecider(cfg(0), 1)).toThrow('targetPerPod must be > 0');
  });

  it('treats seconds missing from the record as zero', () => {
    const d = new KpaDecider(cfg(10), 1);
    d.record(0, 60);
    d.record(5, 60);
    // seconds 1..4 were zero: average over 6 s = 120 / 6 = 20
    expect(d.average(60)).toBe(20);
  });
});

import { describe, expect, it } from '@jest/globals';
import { createPredictor } from '../../model/index.js';
import { createRng } from '../rng.js';
import { flatProfile, listStream } from '../testing.js';
import type { ArrivalStream } from '../workload/arrival-stream.js';
import { poissonStream } from '../workload/arrival-stream.js';
import { FunctionRuntime } from './function-runtime.js';
import { LatencyHistogram } from './latency-histogram.js';
import { SimInstance } from './sim-instance.js';

const predictor = createPredictor(flatProfile(10));

function setup(
  stream: ArrivalStream,
  o: { timeout?: number; queueBatches?: number; slo?: number } = {},
): { rt: FunctionRuntime; hist: LatencyHistogram } {
  const hist = new LatencyHistogram();
  const rt = new FunctionRuntime({
    index: 0,
    sloSeconds: o.slo ?? 0.1,
    timeoutSeconds: o.timeout ?? 30,
    queueBatchesPerInstance: o.queueBatches ?? 10,
    endSeconds: 100,
    seriesSeconds: 200,
    stream,
    histogram: hist,
  });
  return { rt, hist };
}

function addInstance(
  rt: FunctionRuntime,
  o: { batch?: number; readyAt?: number; quota?: number; id?: number } = {},
): SimInstance {
  const quota = o.quota ?? 100;
  const inst = new SimInstance({
    id: o.id ?? rt.instances.length + 1,
    fn: 0,
    gpu: 0,
    batch: o.batch ?? 1,
    smRequest: quota,
    smLimit: 100,
    quota,
    memoryMiB: 1,
    exclusive: false,
    requestFollowsQuota: false,
    createdAt: 0,
    readyAt: o.readyAt ?? 0,
    predictor,
    windowSeconds: 0.1,
  });
  rt.instances.push(inst);
  return inst;
}

function tick(rt: FunctionRuntime, t: number): void {
  rt.beginTick(t);
  rt.process(t + 1);
  rt.endTick(t + 1);
}

describe('FunctionRuntime queueing and batching', () => {
  it('serves a lone request in one batch time', () => {
    const { rt, hist } = setup(listStream([0.1]));
    addInstance(rt);
    tick(rt, 0);
    expect(rt.completed).toBe(1);
    expect(hist.mean()).toBeCloseTo(0.01, 9);
  });

  it('queues what does not fit a batch behind the batch in progress', () => {
    const { rt, hist } = setup(listStream([0, 0, 0]));
    addInstance(rt, { batch: 2 });
    tick(rt, 0);
    // Two in the first batch (10 ms), the third waits for it (20 ms).
    expect(rt.completed).toBe(3);
    expect(hist.mean()).toBeCloseTo((0.01 + 0.01 + 0.02) / 3, 9);
    expect(hist.quantile(1)).toBeCloseTo(0.02, 3);
  });

  it('waits up to the batching delay for a batch to fill', () => {
    const { rt, hist } = setup(listStream([0.1, 0.102]));
    addInstance(rt, { batch: 4 });
    rt.batchWaitSeconds = 0.005;
    tick(rt, 0);
    // The batch starts at 0.105 (delay ran out) and ends at 0.115.
    expect(hist.mean()).toBeCloseTo((0.015 + 0.013) / 2, 9);
  });

  it('starts as soon as the batch is full', () => {
    const { rt, hist } = setup(listStream([0.1, 0.103]));
    addInstance(rt, { batch: 2 });
    rt.batchWaitSeconds = 1;
    tick(rt, 0);
    expect(hist.mean()).toBeCloseTo((0.013 + 0.01) / 2, 9);
  });

  it('serves across ticks and from an instance that becomes ready later', () => {
    const { rt, hist } = setup(listStream([0.2, 0.3]));
    addInstance(rt, { readyAt: 1.5 });
    tick(rt, 0);
    expect(rt.completed).toBe(0);
    expect(rt.queued(1)).toBe(2);
    tick(rt, 1);
    expect(rt.completed).toBe(2);
    // 0.2 -> 1.51 and 0.3 -> 1.52
    expect(hist.mean()).toBeCloseTo((1.31 + 1.22) / 2, 9);
  });

  it('drops a request that waited longer than the timeout, as a violation', () => {
    const { rt } = setup(listStream([0.1, 0.47]), { timeout: 0.05 });
    addInstance(rt, { readyAt: 0.5 });
    tick(rt, 0);
    expect(rt.dropped).toBe(1);
    expect(rt.completed).toBe(1);
    expect(rt.violated).toBe(1);
    expect(rt.series.violations[0]).toBe(1);
  });

  it('drops the oldest requests when the queue passes its bound', () => {
    const { rt } = setup(listStream([0.1, 0.2, 0.3, 0.4, 0.5]), { queueBatches: 2 });
    addInstance(rt, { readyAt: 2 }); // bound: 2 batches x 1
    tick(rt, 0);
    expect(rt.dropped).toBe(3);
    tick(rt, 1);
    tick(rt, 2);
    expect(rt.completed).toBe(2);
    expect(rt.generated).toBe(5);
  });

  it('counts violations against the SLO and observes latency quantiles per tick', () => {
    const { rt } = setup(listStream([0, 0, 0, 0]), { slo: 0.025 });
    addInstance(rt);
    tick(rt, 0);
    // Latencies 10, 20, 30, 40 ms: two over 25 ms.
    expect(rt.violated).toBe(2);
    expect(rt.series.completions[0]).toBe(4);
    const p50 = rt.observedLatency(0.5, 1, 1);
    expect(p50).toBeGreaterThanOrEqual(0.02);
    expect(p50).toBeLessThanOrEqual(0.02 + 0.025 / 16);
    expect(rt.observedLatency(0.5, 1, 5)).toBeUndefined();
  });

  it('throttled to half duty, serves half the requests a full instance would', () => {
    const times = Array.from({ length: 1000 }, () => 0);
    const { rt } = setup(listStream(times), { timeout: 1000, queueBatches: 10000 });
    addInstance(rt, { quota: 50 });
    tick(rt, 0);
    // Bucket: 0.1 s at full speed (10 batches), then 20 ms per batch: 10 + 0.9 / 0.02 = 55.
    expect(rt.completed).toBeGreaterThanOrEqual(54);
    expect(rt.completed).toBeLessThanOrEqual(56);
  });

  it("keeps Little's law: Σ concurrency x 1 s = Σ time in system", () => {
    const { rt, hist } = setup(poissonStream(80, createRng(3)), { timeout: 5 });
    addInstance(rt, { batch: 4 });
    addInstance(rt, { batch: 4 });
    rt.batchWaitSeconds = 0.002;
    for (let t = 0; t < 100; t++) tick(rt, t);
    rt.process(Infinity);
    let area = 0;
    for (const c of rt.series.concurrency) area += c;
    expect(rt.dropped).toBe(0);
    expect(area).toBeCloseTo(hist.mean() * hist.count, 1);
    let arrivals = 0;
    for (const a of rt.series.arrivals) arrivals += a;
    expect(arrivals).toBe(rt.generated);
    expect(rt.completed).toBe(rt.generated);
  });

  it('abandons what is still queued when the run stops', () => {
    const { rt } = setup(listStream([0.1, 0.2]));
    tick(rt, 0);
    rt.process(Infinity);
    rt.abandonQueue();
    expect(rt.dropped).toBe(2);
    expect(rt.violated).toBe(2);
  });
});

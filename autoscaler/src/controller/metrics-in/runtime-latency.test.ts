import { describe, expect, it } from '@jest/globals';
import type { CumulativeHistogram } from './runtime-latency.js';
import { createLatencyWindow, parseRequestDuration } from './runtime-latency.js';

const text = (counts: Record<string, number>): string =>
  [
    '# HELP dilu_request_duration_seconds arrival to response ready',
    '# TYPE dilu_request_duration_seconds histogram',
    ...Object.entries(counts).map(
      ([le, n]) => `dilu_request_duration_seconds_bucket{le="${le}"} ${n}`,
    ),
    `dilu_request_duration_seconds_count ${counts['+Inf'] ?? 0}`,
    'dilu_request_duration_seconds_sum 1',
    '# TYPE dilu_queue_depth gauge',
    'dilu_queue_depth 2',
    '',
  ].join('\n');
const h = (counts: Record<string, number>): CumulativeHistogram => {
  const parsed = parseRequestDuration(text(counts));
  if (parsed === undefined) throw new Error('no histogram');
  return parsed;
};

describe('runtime latency (runtime-metrics.md)', () => {
  it('parses the request-duration histogram in bound order', () => {
    expect(h({ '0.2': 8, '0.1': 5, '+Inf': 10 })).toEqual({
      le: [0.1, 0.2, Infinity],
      counts: [5, 8, 10],
    });
    expect(parseRequestDuration('dilu_queue_depth 1\n')).toBeUndefined();
  });

  it('takes the p95 of what finished since the last read, over all pods', () => {
    const w = createLatencyWindow();
    // First read: whole histories count. 100 requests, 90 under 0.1 s, 10 in (0.1, 0.2].
    const first = w.p95Ms(new Map([['a', h({ '0.1': 90, '0.2': 100, '+Inf': 100 })]]));
    expect(first).toBeCloseTo(150, 5);
    // Then only the new requests: 100 more on pod a, all slow; 100 new on pod b, all fast.
    const second = w.p95Ms(
      new Map([
        ['a', h({ '0.1': 90, '0.2': 100, '+Inf': 200 })],
        ['b', h({ '0.1': 100, '0.2': 100, '+Inf': 100 })],
      ]),
    );
    // 200 new: 100 ≤ 0.1 s, 100 > 0.2 s → the p95 lies in +Inf: the highest finite bound.
    expect(second).toBe(200);
    // Nothing new: no figure rather than a stale one.
    expect(
      w.p95Ms(
        new Map([
          ['a', h({ '0.1': 90, '0.2': 100, '+Inf': 200 })],
          ['b', h({ '0.1': 100, '0.2': 100, '+Inf': 100 })],
        ]),
      ),
    ).toBeUndefined();
  });

  it('treats counters that went back (a restarted runtime) as a fresh history', () => {
    const w = createLatencyWindow();
    w.p95Ms(new Map([['a', h({ '0.1': 500, '0.2': 500, '+Inf': 500 })]]));
    expect(w.p95Ms(new Map([['a', h({ '0.1': 0, '0.2': 20, '+Inf': 20 })]]))).toBeCloseTo(195, 5);
  });
});

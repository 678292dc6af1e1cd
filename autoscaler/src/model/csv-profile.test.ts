import { describe, expect, it } from '@jest/globals';
import { parseProfileCsv } from './csv-profile.js';
import { ProfileError } from './profile-error.js';

const good = '1,10,0.028,35.5\n2,10,0.036,54.2\n1,20,0.021,47.1\n';

function errorOf(text: string): ProfileError {
  try {
    parseProfileCsv(text, 'p.csv');
  } catch (err) {
    if (err instanceof ProfileError) return err;
    throw err;
  }
  throw new Error('expected a ProfileError');
}

describe('parseProfileCsv', () => {
  it('reads the headerless Dilu format, latency in seconds to milliseconds', () => {
    const p = parseProfileCsv(good, '/x/bs_sm_resnet152.csv');
    expect(p.name).toBe('resnet152');
    expect(p.points).toHaveLength(3);
    expect(p.points[0]).toEqual({
      batch: 1,
      smPercent: 10,
      latencyMs: 28,
      throughputRps: 35.5,
      line: 1,
    });
  });

  it('accepts the documented header, blank lines and comments', () => {
    const p = parseProfileCsv(
      '# measured on A100\nbatch_size,sm_percent,latency_s,throughput_rps\n\n' + good,
      'p.csv',
    );
    expect(p.points.map(x => x.line)).toEqual([4, 5, 6]);
  });

  it.each([
    ['1,10,0.02\n', 1, 'expected 4 columns'],
    ['1,10,0.02,40\n2,10,0.03\n', 2, 'expected 4 columns'],
    ['1,10,abc,40\n', 1, "latency_s must be a number, got 'abc'"],
    ['1,10,NaN,40\n', 1, "latency_s must be a number, got 'NaN'"],
    ['1,,0.02,40\n', 1, "sm_percent must be a number, got ''"],
    ['1,10,-0.02,40\n', 1, 'latency_s must not be negative'],
    ['1,0,0.02,40\n', 1, 'smPercent must be within 1..100, got 0'],
    ['1,120,0.02,40\n', 1, 'smPercent must be within 1..100, got 120'],
    ['1.5,10,0.02,40\n', 1, 'batch must be an integer >= 1'],
    ['1,10,0,40\n', 1, 'latency must be a finite number > 0'],
    ['1,10,0.02,0\n', 1, 'throughput must be a finite number > 0'],
    [
      '1,10,0.02,40\n1,10,0.03,30\n',
      2,
      'duplicate point: batch 1 at smPercent 10 is measured twice (first at line 1)',
    ],
  ])('rejects %j at line %i: %s', (text, line, rule) => {
    const err = errorOf(text);
    expect(err.file).toBe('p.csv');
    expect(err.line).toBe(line);
    expect(err.rule).toContain(rule);
    expect(err.message).toContain(`p.csv:${line}: `);
  });

  it('rejects an empty file', () => {
    expect(errorOf('\n\n').rule).toContain('no points');
  });
});

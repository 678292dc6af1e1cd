import { describe, expect, it } from '@jest/globals';
import { parseRateSeries } from './rate-series.js';

describe('parseRateSeries', () => {
  it('reads one value per line, skipping blanks and comments', () => {
    const s = parseRateSeries('# pattern\n0\n1.5\n\n3\n', 'p.txt');
    expect(Array.from(s.values)).toEqual([0, 1.5, 3]);
  });

  it('names the line of a value that is not a non-negative number', () => {
    expect(() => parseRateSeries('1\n2\nabc\n', 'p.txt')).toThrow(
      "p.txt:3: expected one non-negative number per line, got 'abc'",
    );
    expect(() => parseRateSeries('1\n-2\n', 'p.txt')).toThrow('p.txt:2:');
  });

  it('rejects an empty or all-zero series', () => {
    expect(() => parseRateSeries('\n# nothing\n', 'p.txt')).toThrow('rate series has no values');
    expect(() => parseRateSeries('0\n0\n', 'p.txt')).toThrow('rate series is all zeros');
  });
});

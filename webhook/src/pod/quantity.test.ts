import { describe, expect, it } from '@jest/globals';
import { parseIntegerQuantity } from './quantity.js';

describe('parseIntegerQuantity', () => {
  it.each([
    ['30', 30],
    ['1k', 1000],
    ['2Ki', 2048],
    ['1Mi', 1048576],
    ['3e3', 3000],
    [' 7 ', 7],
    [12, 12],
  ])('%p is %d', (raw, value) => {
    expect(parseIntegerQuantity(raw)).toEqual({ ok: true, value });
  });

  it.each(['1.5', '500m', '-1', 'ten', '', '1Qi'])('%p is refused', raw => {
    const q = parseIntegerQuantity(raw);
    expect(q.ok).toBe(false);
    if (!q.ok) expect(q.reason).toContain('whole number');
  });

  it('refuses non-strings and fractions given as numbers', () => {
    expect(parseIntegerQuantity(null)).toEqual({ ok: false, reason: 'must be a quantity string' });
    expect(parseIntegerQuantity(2.5).ok).toBe(false);
  });
});

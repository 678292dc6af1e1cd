import { describe, expect, it } from '@jest/globals';
import { parseInstanceDecision } from './instance-decision.js';

describe('parseInstanceDecision', () => {
  it('reads the published JSON', () => {
    expect(
      parseInstanceDecision(
        '{"batch":8,"smRequest":30,"smLimit":50,"memoryMiB":4096,"sloMs":40,"updatedAt":"2026-11-23T10:00:00Z"}',
      ),
    ).toEqual({
      ok: true,
      decision: {
        batch: 8,
        smRequest: 30,
        smLimit: 50,
        memoryMiB: 4096,
        sloMs: 40,
        updatedAt: '2026-11-23T10:00:00Z',
      },
    });
  });

  it.each([
    ['not json', /^not JSON/],
    ['{"batch":8,"smRequest":30,"smLimit":20,"memoryMiB":1}', /smLimit must be >= smRequest/],
    ['{"batch":8,"smRequest":130,"smLimit":150,"memoryMiB":1}', /^smRequest: /],
    ['{"batch":8,"smRequest":30,"smLimit":50}', /^memoryMiB: /],
  ])('refuses %s', (raw, reason) => {
    const r = parseInstanceDecision(raw);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.reason).toMatch(reason);
  });
});

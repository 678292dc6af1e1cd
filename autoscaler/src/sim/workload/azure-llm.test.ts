import { describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { TraceError } from '../errors.js';
import { parseAzureLlmTrace } from './azure-llm.js';

const traces = fileURLToPath(new URL('../../../data/traces/azure-llm-2023/', import.meta.url));
const HEADER = 'TIMESTAMP,ContextTokens,GeneratedTokens';

function errorOf(f: () => unknown): TraceError {
  try {
    f();
  } catch (err) {
    if (err instanceof TraceError) return err;
    throw err;
  }
  throw new Error('expected a TraceError');
}

describe('parseAzureLlmTrace', () => {
  it('turns each row into one arrival, in seconds since the first request', () => {
    const text = [
      HEADER,
      '2023-11-16 18:15:46.6805900,374,44',
      '2023-11-16 18:15:46.9805900,396,109',
      '2023-11-16 18:15:48.0000000,10,1',
      '',
    ].join('\n');
    const t = parseAzureLlmTrace(text, 'x.csv');
    expect(Array.from(t.times)).toEqual([0, expect.closeTo(0.3, 6), expect.closeTo(1.31941, 5)]);
    expect(t.spanSeconds).toBeCloseTo(1.31941, 5);
  });

  it('reads the shipped code trace whole', () => {
    const code = parseAzureLlmTrace(
      readFileSync(`${traces}AzureLLMInferenceTrace_code.csv`, 'utf8'),
      'code',
    );
    expect(code.times.length).toBe(8819);
    // About an hour (2023-11-16 18:17:03 to 19:14:19).
    expect(code.spanSeconds).toBeGreaterThan(3430);
    expect(code.spanSeconds).toBeLessThan(3440);
    for (let i = 1; i < code.times.length; i++) {
      expect(code.times[i]).toBeGreaterThanOrEqual(code.times[i - 1] ?? 0);
    }
    // Its busiest second holds 67 requests (the figure the scenarios README quotes).
    const perSecond = new Map<number, number>();
    for (const t of code.times) {
      const s = Math.floor(t);
      perSecond.set(s, (perSecond.get(s) ?? 0) + 1);
    }
    expect(Math.max(...perSecond.values())).toBe(67);
  });

  it('rejects a wrong header on line 1', () => {
    const e = errorOf(() => parseAzureLlmTrace('time,a,b\n', 't.csv'));
    expect(e.line).toBe(1);
    expect(e.message).toContain(`expected the header '${HEADER}'`);
  });

  it('names the line of a malformed timestamp, a bad token count and a missing column', () => {
    expect(
      errorOf(() => parseAzureLlmTrace(`${HEADER}\n2023-11-16T18:15:46,1,2\n`, 't.csv')),
    ).toMatchObject({ line: 2, rule: expect.stringContaining('TIMESTAMP must look like') });
    expect(
      errorOf(() =>
        parseAzureLlmTrace(
          `${HEADER}\n2023-11-16 18:15:46.1,1,2\n2023-11-16 18:15:47.1,-3,2\n`,
          't',
        ),
      ),
    ).toMatchObject({ line: 3, rule: "ContextTokens must be a non-negative integer, got '-3'" });
    expect(
      errorOf(() => parseAzureLlmTrace(`${HEADER}\n2023-11-16 18:15:46.1,1\n`, 't')),
    ).toMatchObject({ line: 2, rule: expect.stringContaining('expected 3 columns') });
  });

  it('rejects rows out of time order and a trace with no rows', () => {
    const e = errorOf(() =>
      parseAzureLlmTrace(`${HEADER}\n2023-11-16 18:15:47.0,1,1\n2023-11-16 18:15:46.0,1,1\n`, 't'),
    );
    expect(e).toMatchObject({ line: 3, rule: expect.stringContaining('time order') });
    expect(errorOf(() => parseAzureLlmTrace(`${HEADER}\n\n`, 't')).rule).toBe(
      'trace has no requests',
    );
  });
});

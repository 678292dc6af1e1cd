import { describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { TraceError } from '../errors.js';
import { parseAzureFunctionsTrace } from './azure-functions.js';

const fixture = fileURLToPath(
  new URL('../../../data/traces/azure-functions-2021/Azure2021_200.csv', import.meta.url),
);
const HEADER = 'app,func,end_timestamp,duration';

describe('parseAzureFunctionsTrace', () => {
  it('reads the shipped 2021 sample: arrival = end - duration, sorted, from 0', () => {
    const t = parseAzureFunctionsTrace(readFileSync(fixture, 'utf8'), fixture);
    expect(t.times.length).toBe(199);
    expect(t.times[0]).toBe(0);
    for (let i = 1; i < t.times.length; i++) {
      expect(t.times[i]).toBeGreaterThanOrEqual(t.times[i - 1] ?? 0);
    }
    expect(t.spanSeconds).toBeGreaterThan(100);
    expect(t.spanSeconds).toBeLessThan(1300);
  });

  it('computes arrivals from the end time and duration, and filters by app and func', () => {
    const text = [HEADER, 'a,f,10.5,0.5', 'a,g,4,1', 'b,f,7,2', ''].join('\n');
    expect(Array.from(parseAzureFunctionsTrace(text, 't').times)).toEqual([0, 2, 7]);
    expect(Array.from(parseAzureFunctionsTrace(text, 't', { app: 'a' }).times)).toEqual([0, 7]);
    expect(Array.from(parseAzureFunctionsTrace(text, 't', { func: 'f' }).times)).toEqual([0, 5]);
  });

  it('names the line and rule of bad rows', () => {
    const bad = (row: string): TraceError => {
      try {
        parseAzureFunctionsTrace(`${HEADER}\na,f,1,0.5\n${row}\n`, 't.csv');
      } catch (err) {
        if (err instanceof TraceError) return err;
        throw err;
      }
      throw new Error('expected an error');
    };
    expect(bad('a,f,1')).toMatchObject({
      line: 3,
      rule: expect.stringContaining('expected 4 columns'),
    });
    expect(bad('a,f,x,1')).toMatchObject({
      line: 3,
      rule: "end_timestamp must be a non-negative number, got 'x'",
    });
    expect(bad('a,f,1,2')).toMatchObject({
      line: 3,
      rule: expect.stringContaining('duration (2) must not exceed end_timestamp (1)'),
    });
  });

  it('rejects a wrong header and a filter that matches nothing', () => {
    expect(() => parseAzureFunctionsTrace('a,b,c,d\n', 't')).toThrow(/t:1: expected the header/);
    expect(() => parseAzureFunctionsTrace(`${HEADER}\na,f,1,0\n`, 't', { app: 'zz' })).toThrow(
      'no invocations matching the app/func filter',
    );
  });
});

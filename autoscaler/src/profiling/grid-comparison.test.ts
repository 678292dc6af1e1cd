import { describe, expect, it } from '@jest/globals';
import type { FunctionProfile } from '../model/index.js';
import { compareWithGrid } from './grid-comparison.js';
import type { SearchResult } from './pruning-search.js';

const profile: FunctionProfile = {
  name: 'g',
  source: 'g.csv',
  points: [
    { batch: 1, smPercent: 10, latencyMs: 20, throughputRps: 50 },
    { batch: 2, smPercent: 10, latencyMs: 30, throughputRps: 66 },
    { batch: 2, smPercent: 20, latencyMs: 18, throughputRps: 150 },
  ],
};

const result = (
  choice: SearchResult['choice'],
  probes: SearchResult['probes'] = [],
): SearchResult => ({
  choice,
  probes,
  stopReason: 'budget',
});

describe('compareWithGrid', () => {
  it('finds the grid optimum and accepts a search that reached it', () => {
    const c = compareWithGrid(
      profile,
      25,
      result({ batch: 2, smPercent: 20, latencyMs: 18, throughputRps: 150 }),
    );
    expect(c.gridBest).toMatchObject({ batch: 2, smPercent: 20 });
    expect(c.gridPointsMeetingSlo).toBe(2);
    expect(c.atLeastAsCheap).toBe(true);
    expect(c.explanation).toBeUndefined();
  });

  it('explains a search cut short before the optimum batch', () => {
    const c = compareWithGrid(
      profile,
      25,
      result({ batch: 1, smPercent: 10, latencyMs: 20, throughputRps: 50 }, [
        { batch: 1, smPercent: 10, ran: true, meetsSlo: true, latencyMs: 20, throughputRps: 50 },
      ]),
    );
    expect(c.atLeastAsCheap).toBe(false);
    expect(c.shortfallPercent).toBeCloseTo(33.33, 1);
    expect(c.explanation).toContain('before batch 2');
  });

  it('explains an optimum above the frontier SM', () => {
    const c = compareWithGrid(
      profile,
      35,
      result({ batch: 2, smPercent: 10, latencyMs: 30, throughputRps: 66 }, [
        { batch: 2, smPercent: 10, ran: true, meetsSlo: true, latencyMs: 30, throughputRps: 66 },
      ]),
    );
    expect(c.explanation).toContain('uses more SM than the least SM meeting the SLO');
  });

  it('has no best point when nothing meets the SLO', () => {
    const c = compareWithGrid(profile, 5, result(undefined));
    expect(c.gridBest).toBeUndefined();
    expect(c.atLeastAsCheap).toBe(true);
  });
});

import { describe, expect, it } from '@jest/globals';
import type { ProfilePoint } from './profile.js';
import { completeGrid, estimateCell, gridFromPoints } from './latency-grid.js';

const pt = (batch: number, smPercent: number, latencyMs: number): ProfilePoint => ({
  batch,
  smPercent,
  latencyMs,
  throughputRps: (batch * 1000) / latencyMs,
});

describe('gridFromPoints', () => {
  it('indexes cells by sorted batch and SM values', () => {
    const g = gridFromPoints([pt(4, 50, 30), pt(1, 10, 20), pt(1, 50, 10)]);
    expect(g.batches).toEqual([1, 4]);
    expect(g.sms).toEqual([10, 50]);
    expect(g.cells).toEqual([
      [20, 10],
      [undefined, 30],
    ]);
  });
});

describe('estimateCell', () => {
  it('interpolates along SM in 1/SM: exact for latency = a + w/SM', () => {
    const lat = (s: number): number => 5 + 1000 / s;
    const g = gridFromPoints([pt(1, 10, lat(10)), pt(1, 40, lat(40))]);
    const full = gridFromPoints([pt(1, 10, lat(10)), pt(1, 20, 0.001), pt(1, 40, lat(40))]);
    full.cells[0]![1] = undefined;
    expect(estimateCell(full, 0, 1)).toBeCloseTo(lat(20), 9);
    expect(g.cells[0]).toHaveLength(2);
  });

  it('transfers the SM ratio of a neighbouring batch to an edge cell', () => {
    // batch 2 is twice as slow as batch 1 everywhere; the missing edge cell follows.
    const g = gridFromPoints([pt(1, 10, 40), pt(1, 20, 20), pt(2, 20, 40)]);
    expect(g.cells[1]![0]).toBeUndefined();
    expect(estimateCell(g, 1, 0)).toBeCloseTo(80, 9);
  });

  it('returns undefined when no estimate reaches the cell', () => {
    const g = gridFromPoints([pt(1, 10, 40), pt(2, 20, 30)]);
    expect(estimateCell(g, 0, 1)).toBeUndefined();
  });
});

describe('completeGrid', () => {
  it('fills every cell and leaves rows non-increasing in SM', () => {
    const g = completeGrid(
      gridFromPoints([pt(1, 10, 40), pt(1, 30, 22), pt(1, 20, 23), pt(4, 20, 50), pt(4, 60, 30)]),
    );
    for (const row of g.cells) {
      expect(row.every(v => v !== undefined && Number.isFinite(v))).toBe(true);
      row.slice(1).forEach((v, i) => expect(v).toBeLessThanOrEqual(row[i]!));
    }
  });

  it('falls back to pessimistic fills when nothing else reaches a cell', () => {
    const g = completeGrid(gridFromPoints([pt(1, 10, 40), pt(2, 20, 30)]));
    // batch 1 above its only SM: flat; batch 2 below its only SM: ideal 1/SM slowdown.
    expect(g.cells[0]).toEqual([40, 40]);
    expect(g.cells[1]).toEqual([60, 30]);
  });
});

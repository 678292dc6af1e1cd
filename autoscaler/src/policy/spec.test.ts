import { describe, expect, it } from '@jest/globals';
import { PolicyInputError } from './policy-error.js';
import { parseFunctionSpec, scaleBounds } from './spec.js';

describe('parseFunctionSpec', () => {
  it('applies Knative defaults: min 0, max unlimited, initial 1, scale to zero allowed', () => {
    const s = parseFunctionSpec({ name: 'f', sloMs: 100 });
    expect(s).toMatchObject({
      class: 'latency-critical',
      minScale: 0,
      maxScale: 0,
      initialScale: 1,
      scaleToZero: true,
      fixed: {},
    });
    expect(s.knobs.scaleDownDelayS).toBe(30);
    expect(Object.isFrozen(s)).toBe(true);
    expect(Object.isFrozen(s.knobs)).toBe(true);
  });

  it('accepts a best-effort function without an SLO, and knob overrides', () => {
    const s = parseFunctionSpec({ name: 'train', class: 'best-effort', knobs: { podStartS: 5 } });
    expect(s.sloMs).toBeUndefined();
    expect(s.knobs.podStartS).toBe(5);
  });

  it.each([
    [{ name: 'f' }, 'spec.sloMs', /required/],
    [{ name: 'f', sloMs: 0 }, 'spec.sloMs', /0/],
    [{ name: '', sloMs: 10 }, 'spec.name', /./],
    [{ name: 'f', sloMs: 10, minScale: 3, maxScale: 2 }, 'spec.minScale', /maxScale/],
    [{ name: 'f', sloMs: 10, initialScale: 5, maxScale: 2 }, 'spec.initialScale', /maxScale/],
    [{ name: 'f', sloMs: 10, initialScale: 0, scaleToZero: false }, 'spec.initialScale', /0/],
    [{ name: 'f', sloMs: 10, minScale: -1 }, 'spec.minScale', /./],
    [{ name: 'f', sloMs: 10, minScale: 1.5 }, 'spec.minScale', /int/],
    [{ name: 'f', sloMs: 10, fixed: { smRequest: 50, smLimit: 40 } }, 'spec.fixed', /smLimit/],
    [{ name: 'f', sloMs: 10, fixed: { smLimit: 101 } }, 'spec.fixed.smLimit', /./],
    [{ name: 'f', sloMs: 10, fixed: { batches: 4 } }, 'spec.fixed', /batches/],
    [{ name: 'f', sloMs: 10, class: 'batch' }, 'spec.class', /./],
    [
      { name: 'f', sloMs: 10, knobs: { targetUtilization: 0 } },
      'spec.knobs.targetUtilization',
      /./,
    ],
  ])('rejects %j at %s', (input, field, rule) => {
    let caught: unknown;
    try {
      parseFunctionSpec(input);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(PolicyInputError);
    expect((caught as PolicyInputError).field).toBe(field);
    expect((caught as PolicyInputError).rule).toMatch(rule);
  });
});

describe('parseFunctionSpec knobs', () => {
  it('gives functions with the same knobs one shared object, and others their own', () => {
    const a = parseFunctionSpec({ name: 'a', sloMs: 100 });
    const b = parseFunctionSpec({ name: 'b', sloMs: 300, minScale: 2 });
    const c = parseFunctionSpec({ name: 'c', sloMs: 100, knobs: { panicThreshold: 3 } });
    const d = parseFunctionSpec({ name: 'd', sloMs: 50, knobs: { panicThreshold: 3 } });
    expect(b.knobs).toBe(a.knobs);
    expect(d.knobs).toBe(c.knobs);
    expect(c.knobs).not.toBe(a.knobs);
    expect(c.knobs.panicThreshold).toBe(3);
    expect(a.knobs.panicThreshold).not.toBe(3);
    expect(Object.isFrozen(a.knobs)).toBe(true);
  });
});

describe('scaleBounds', () => {
  it.each([
    [{ minScale: 0, maxScale: 0, scaleToZero: true }, 0, Infinity],
    [{ minScale: 0, maxScale: 5, scaleToZero: false }, 1, 5],
    [{ minScale: 2, maxScale: 5, scaleToZero: true }, 2, 5],
  ])('%j -> [%d, %d]', (bounds, lo, hi) => {
    expect(scaleBounds(parseFunctionSpec({ name: 'f', sloMs: 50, ...bounds }))).toEqual({ lo, hi });
  });
});

import { describe, expect, it } from '@jest/globals';
import { PlacementError } from './placement-error.js';
import type { InstanceRequest, NodeSpec } from './types.js';
import { validateInstanceRequest, validateNodeSpec } from './validate.js';

const ok: InstanceRequest = {
  functionId: 'resnet',
  class: 'latency-critical',
  smRequest: 30,
  smLimit: 50,
  memoryMiB: 4096,
};

function fieldOf(f: () => void): string {
  try {
    f();
  } catch (e) {
    if (e instanceof PlacementError) return e.field;
    throw e;
  }
  throw new Error('expected a PlacementError');
}

describe('validateInstanceRequest', () => {
  it('accepts a well-formed request, r = 0 and r = l = 100 included', () => {
    expect(() => validateInstanceRequest(ok)).not.toThrow();
    expect(() => validateInstanceRequest({ ...ok, smRequest: 0 })).not.toThrow();
    expect(() => validateInstanceRequest({ ...ok, smRequest: 100, smLimit: 100 })).not.toThrow();
    expect(() => validateInstanceRequest({ ...ok, gpuModels: ['A100'] })).not.toThrow();
  });

  it.each<[string, Partial<Record<keyof InstanceRequest, unknown>>, string, RegExp]>([
    ['negative r', { smRequest: -1 }, 'smRequest', /within \[0, 100\], got -1/],
    ['NaN r', { smRequest: NaN }, 'smRequest', /finite number, got NaN/],
    ['r above 100', { smRequest: 101, smLimit: 100 }, 'smRequest', /got 101/],
    ['r as a string', { smRequest: '30' }, 'smRequest', /finite number, got '30'/],
    ['r > l', { smRequest: 60, smLimit: 50 }, 'smLimit', /must be >= smRequest \(60\), got 50/],
    ['l = 0', { smRequest: 0, smLimit: 0 }, 'smLimit', /within \(0, 100\], got 0/],
    ['l above 100', { smLimit: 150 }, 'smLimit', /got 150/],
    ['infinite l', { smLimit: Infinity }, 'smLimit', /finite/],
    ['negative memory', { memoryMiB: -5 }, 'memoryMiB', /> 0, got -5/],
    ['zero memory', { memoryMiB: 0 }, 'memoryMiB', /> 0, got 0/],
    ['NaN memory', { memoryMiB: NaN }, 'memoryMiB', /got NaN/],
    ['unknown class', { class: 'batch' }, 'class', /latency-critical, best-effort, got 'batch'/],
    ['empty function', { functionId: ' ' }, 'functionId', /non-empty/],
    ['gpuModels not an array', { gpuModels: 'A100' }, 'gpuModels', /array/],
    ['empty model name', { gpuModels: ['A100', ''] }, 'gpuModels[1]', /non-empty/],
  ])('rejects %s, naming the field', (_name, patch, field, message) => {
    const bad = { ...ok, ...patch } as InstanceRequest;
    expect(fieldOf(() => validateInstanceRequest(bad))).toBe(field);
    expect(() => validateInstanceRequest(bad)).toThrow(message);
  });
});

describe('validateNodeSpec', () => {
  const node: NodeSpec = { id: 'n1', gpus: [{ model: 'A100', memoryMiB: 40960 }] };

  it('accepts a node, also one without GPUs', () => {
    expect(() => validateNodeSpec(node)).not.toThrow();
    expect(() => validateNodeSpec({ id: 'cpu', gpus: [] })).not.toThrow();
  });

  it.each<[string, unknown, string]>([
    ['empty id', { ...node, id: '' }, 'id'],
    ['gpus not an array', { id: 'n', gpus: {} }, 'gpus'],
    ['GPU without model', { id: 'n', gpus: [{ model: '', memoryMiB: 1 }] }, 'gpus[0].model'],
    [
      'GPU with negative memory',
      {
        id: 'n',
        gpus: [
          { model: 'A100', memoryMiB: 1 },
          { model: 'A100', memoryMiB: -1 },
        ],
      },
      'gpus[1].memoryMiB',
    ],
  ])('rejects %s', (_name, spec, field) => {
    expect(fieldOf(() => validateNodeSpec(spec as NodeSpec))).toBe(field);
  });
});

import { describe, expect, it } from '@jest/globals';
import {
  dumpFunctionProfileYaml,
  parseFunctionProfileYaml,
  toFunctionProfileResource,
} from './function-profile.js';
import { ProfileError } from './profile-error.js';

const yaml = `apiVersion: dilu.dev/v1alpha1
kind: FunctionProfile
metadata:
  name: resnet50
  namespace: fns
spec:
  gpuModel: NVIDIA H100 80GB HBM3
  memoryMiB: 2048
  modelLoadSeconds: 6
  points:
    - batch: 1
      smPercent: 10
      latencyMs: 12.5
      throughputRps: 80
    - batch: 2
      smPercent: 10
      latencyMs: 15
      throughputRps: 133.3
      memoryMiB: 2200
`;

function errorOf(text: string): ProfileError {
  try {
    parseFunctionProfileYaml(text, 'f.yaml');
  } catch (err) {
    if (err instanceof ProfileError) return err;
    throw err;
  }
  throw new Error('expected a ProfileError');
}

describe('parseFunctionProfileYaml', () => {
  it('reads a FunctionProfile resource with point lines', () => {
    const p = parseFunctionProfileYaml(yaml, 'f.yaml');
    expect(p.name).toBe('resnet50');
    expect(p.gpuModel).toBe('NVIDIA H100 80GB HBM3');
    expect(p.memoryMiB).toBe(2048);
    expect(p.modelLoadSeconds).toBe(6);
    expect(p.points.map(x => x.line)).toEqual([11, 15]);
    expect(p.points[1]?.memoryMiB).toBe(2200);
  });

  it('round-trips through toFunctionProfileResource and dump', () => {
    const p = parseFunctionProfileYaml(yaml, 'f.yaml');
    const text = dumpFunctionProfileYaml(
      toFunctionProfileResource(p, [
        { sloMs: 40, batch: 2, smRequest: 10, smLimit: 20, throughputRps: 133.3, probes: 5 },
      ]),
    );
    const again = parseFunctionProfileYaml(text, 'again.yaml');
    expect(again.points.map(({ line: _l, ...rest }) => rest)).toEqual(
      p.points.map(({ line: _l, ...rest }) => rest),
    );
    expect(text).toContain('recommendations:');
  });

  it('names the line of the offending point and the field', () => {
    const err = errorOf(
      yaml.replace('smPercent: 10\n      latencyMs: 15', 'smPercent: 140\n      latencyMs: 15'),
    );
    expect(err.line).toBe(15);
    expect(err.rule).toMatch(/^spec\.points\.1\.smPercent: /);
  });

  it('rejects unknown fields in a point (a typo must not pass silently)', () => {
    const err = errorOf(yaml.replace('latencyMs: 12.5', 'latencyMS: 12.5'));
    expect(err.line).toBe(11);
    expect(err.rule).toContain('spec.points.0');
  });

  it('rejects the wrong apiVersion or kind', () => {
    expect(errorOf(yaml.replace('dilu.dev/v1alpha1', 'dilu.dev/v2')).rule).toContain('apiVersion');
    expect(errorOf(yaml.replace('kind: FunctionProfile', 'kind: Pod')).rule).toContain('kind');
  });

  it('rejects duplicates with both lines', () => {
    const dup = yaml.replace('batch: 2\n      smPercent: 10', 'batch: 1\n      smPercent: 10');
    const err = errorOf(dup);
    expect(err.line).toBe(15);
    expect(err.rule).toContain('first at line 11');
  });

  it('reports YAML syntax errors with their line', () => {
    const err = errorOf('apiVersion: dilu.dev/v1alpha1\nkind: [unclosed\n');
    expect(err.rule).toContain('not valid YAML');
    expect(err.line).toBeGreaterThanOrEqual(2);
  });

  it('requires at least one point', () => {
    expect(errorOf(yaml.replace(/ {2}points:[\s\S]*$/, '  points: []\n')).rule).toContain(
      'spec.points',
    );
  });
});

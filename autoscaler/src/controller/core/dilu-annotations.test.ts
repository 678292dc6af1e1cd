import { describe, expect, it } from '@jest/globals';
import type { SettingProblem } from './dilu-annotations.js';
import { readDiluSettings } from './dilu-annotations.js';
import { buildFunctionSpec } from './function-spec.js';

const scale = { minScale: 1, maxScale: 0, initialScale: 1, scaleToZero: false, knobs: {} };

function read(annotations: Record<string, string>) {
  const problems: SettingProblem[] = [];
  return { settings: readDiluSettings(annotations, problems), problems };
}

describe('readDiluSettings', () => {
  it('reads every key the autoscaler uses', () => {
    const { settings, problems } = read({
      'dilu.dev/slo-ms': '80',
      'dilu.dev/class': 'best-effort',
      'dilu.dev/sm': '20',
      'dilu.dev/sm-limit': '60',
      'dilu.dev/gpu-memory': '4096',
      'dilu.dev/batch': '8',
      'dilu.dev/burst-half-life': '120',
      'dilu.dev/profile': 'ml/resnet152',
    });
    expect(problems).toEqual([]);
    expect(settings).toEqual({
      sloMs: 80,
      class: 'best-effort',
      fixed: { batch: 8, smRequest: 20, smLimit: 60, memoryMiB: 4096 },
      burstHalfLifeS: 120,
      profile: { namespace: 'ml', name: 'resnet152' },
    });
  });

  it('defaults to a latency-critical function with nothing fixed', () => {
    expect(read({})).toEqual({
      settings: {
        sloMs: undefined,
        class: 'latency-critical',
        fixed: {},
        burstHalfLifeS: undefined,
        profile: undefined,
      },
      problems: [],
    });
  });

  it.each([
    ['dilu.dev/slo-ms', '0', 'expected an integer 1..600000'],
    ['dilu.dev/class', 'batch', 'expected latency-critical or best-effort'],
    ['dilu.dev/sm', '101', 'expected an integer 1..100'],
    ['dilu.dev/burst-half-life', '30m', 'expected an integer 1..86400'],
    ['dilu.dev/burst-half-life', '0', 'expected an integer 1..86400'],
    ['dilu.dev/profile', 'a/b/c', 'expected <name> or <namespace>/<name>'],
  ])('reports %s=%s naming the key', (key, value, message) => {
    const { problems } = read({ [key]: value });
    expect(problems).toHaveLength(1);
    expect(problems[0]?.key).toBe(key);
    expect(problems[0]?.message).toContain(message);
  });

  it('requires the limit to be at least the request', () => {
    const { problems } = read({ 'dilu.dev/sm': '40', 'dilu.dev/sm-limit': '30' });
    expect(problems.map(p => p.key)).toEqual(['dilu.dev/sm-limit']);
  });
});

describe('buildFunctionSpec', () => {
  it('turns dilu.dev/burst-half-life into the keep-alive knob, over the platform knobs', () => {
    const problems: SettingProblem[] = [];
    const { settings } = read({ 'dilu.dev/slo-ms': '80', 'dilu.dev/burst-half-life': '45' });
    const spec = buildFunctionSpec(
      'f',
      { ...scale, knobs: { scaleDownDelayS: 10 } },
      settings,
      problems,
    );
    expect(problems).toEqual([]);
    expect(spec?.knobs.burstHalfLifeS).toBe(45);
    expect(spec?.knobs.scaleDownDelayS).toBe(10);
  });

  it('keeps the policy default when the annotation is absent', () => {
    const problems: SettingProblem[] = [];
    const spec = buildFunctionSpec(
      'f',
      scale,
      read({ 'dilu.dev/slo-ms': '80' }).settings,
      problems,
    );
    expect(spec?.knobs.burstHalfLifeS).toBe(1800);
  });

  it('reports a spec the policy refuses under the annotation it came from', () => {
    const problems: SettingProblem[] = [];
    expect(buildFunctionSpec('f', scale, read({}).settings, problems)).toBeUndefined();
    expect(problems[0]?.key).toBe('dilu.dev/slo-ms');
  });
});

import { describe, expect, it } from '@jest/globals';
import type { SettingProblem } from '../core/dilu-annotations.js';
import { KNATIVE_DEFAULTS, parseConfigAutoscaler } from './config-autoscaler.js';
import { parseDurationSeconds } from './duration.js';
import { knativeScaleSettings } from './scale-settings.js';

const settings = (
  annotations: Record<string, string>,
  defaults = KNATIVE_DEFAULTS,
  reachable = true,
) => {
  const problems: SettingProblem[] = [];
  const s = knativeScaleSettings(annotations, defaults, { reachable }, problems);
  return { s, problems };
};
const k = (key: string): string => `autoscaling.knative.dev/${key}`;

describe('parseDurationSeconds', () => {
  it('reads Go durations and bare seconds', () => {
    expect(parseDurationSeconds('60s')).toBe(60);
    expect(parseDurationSeconds('1m30s')).toBe(90);
    expect(parseDurationSeconds('1.5h')).toBe(5400);
    expect(parseDurationSeconds('500ms')).toBe(0.5);
    expect(parseDurationSeconds('45')).toBe(45);
  });
  it('refuses what is not a duration', () => {
    for (const bad of ['', '1x', 's', '1m 30s', '-5s'])
      expect(parseDurationSeconds(bad)).toBeUndefined();
  });
});

describe('parseConfigAutoscaler', () => {
  it("keeps Knative's defaults when the ConfigMap is empty or absent", () => {
    expect(parseConfigAutoscaler(undefined)).toEqual({ defaults: KNATIVE_DEFAULTS, problems: [] });
    expect(parseConfigAutoscaler({ _example: 'ignored' }).defaults).toEqual(KNATIVE_DEFAULTS);
  });
  it('reads the keys the class honours', () => {
    const { defaults, problems } = parseConfigAutoscaler({
      'enable-scale-to-zero': 'false',
      'stable-window': '2m',
      'scale-down-delay': '15s',
      'max-scale-up-rate': '10',
      'max-scale-limit': '20',
      'target-burst-capacity': '-1',
    });
    expect(problems).toEqual([]);
    expect(defaults).toMatchObject({
      enableScaleToZero: false,
      stableWindowS: 120,
      scaleDownDelayS: 15,
      maxScaleUpRate: 10,
      maxScaleLimit: 20,
      targetBurstCapacity: -1,
    });
  });
  it('names a bad key and what is allowed, and keeps the default for it', () => {
    const { defaults, problems } = parseConfigAutoscaler({
      'stable-window': '2s',
      'max-scale-down-rate': '1',
    });
    expect(defaults.stableWindowS).toBe(60);
    expect(defaults.maxScaleDownRate).toBe(2);
    expect(problems).toEqual([
      { key: 'stable-window', message: '"2s" is not allowed; expected a duration from 6s to 1h' },
      { key: 'max-scale-down-rate', message: '"1" is not allowed; expected a number > 1' },
    ]);
  });
});

describe('knativeScaleSettings', () => {
  it('maps bounds and windows onto the policy as KPA reads them', () => {
    const { s, problems } = settings({
      [k('min-scale')]: '2',
      [k('max-scale')]: '8',
      [k('initial-scale')]: '3',
      [k('window')]: '30s',
      [k('panic-window-percentage')]: '20',
      [k('panic-threshold-percentage')]: '300',
      [k('scale-down-delay')]: '10s',
      [k('activation-scale')]: '2',
    });
    expect(problems).toEqual([]);
    expect(s).toMatchObject({ minScale: 2, maxScale: 8, initialScale: 3, scaleToZero: true });
    expect(s.knobs).toEqual({
      panicWindowS: 6,
      panicThreshold: 3,
      panicExitS: 30,
      scaleToZeroGraceS: 60,
      maxScaleUpRate: 1000,
      maxScaleDownRate: 2,
      scaleDownDelayS: 10,
      activationScale: 2,
    });
  });
  it('reads the legacy camelCase aliases, the current key winning', () => {
    expect(settings({ [k('minScale')]: '4' }).s.minScale).toBe(4);
    expect(settings({ [k('minScale')]: '4', [k('min-scale')]: '1' }).s.minScale).toBe(1);
  });
  it('ignores min-scale for an unreachable revision, as Knative does', () => {
    expect(settings({ [k('min-scale')]: '3' }, KNATIVE_DEFAULTS, false).s.minScale).toBe(0);
  });
  it('caps max-scale at max-scale-limit and keeps the policy delay unless one is set', () => {
    const limited = { ...KNATIVE_DEFAULTS, maxScaleLimit: 5 };
    expect(settings({}, limited).s.maxScale).toBe(5);
    expect(settings({ [k('max-scale')]: '9' }, limited).s.maxScale).toBe(5);
    expect(settings({}).s.knobs.scaleDownDelayS).toBeUndefined();
  });
  it('reports bad values by key and falls back', () => {
    const { s, problems } = settings({
      [k('min-scale')]: '-1',
      [k('window')]: '3s',
      [k('initial-scale')]: '0',
    });
    expect(s.minScale).toBe(0);
    expect(s.initialScale).toBe(1);
    expect(problems.map(p => p.key)).toEqual([k('min-scale'), k('initial-scale'), k('window')]);
    expect(problems[1]?.message).toMatch(/allow-zero-initial-scale/);
  });
  it('clamps min-scale above max-scale and says so', () => {
    const { s, problems } = settings({ [k('min-scale')]: '5', [k('max-scale')]: '3' });
    expect(s.minScale).toBe(3);
    expect(problems[0]?.message).toBe('5 is above max-scale 3; using 3');
  });
});

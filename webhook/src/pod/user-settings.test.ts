import { describe, expect, it } from '@jest/globals';
import { parseUserSettings } from './user-settings.js';

describe('parseUserSettings', () => {
  it('reads every user key with its type', () => {
    const { settings, errors } = parseUserSettings({
      'dilu.dev/profile': 'ml/resnet152',
      'dilu.dev/slo-ms': '40',
      'dilu.dev/class': 'best-effort',
      'dilu.dev/sm': '30',
      'dilu.dev/sm-limit': '50',
      'dilu.dev/gpu-memory': '4096',
      'dilu.dev/batch': '8',
      'dilu.dev/gpu-container': 'model',
      'dilu.dev/enabled': 'true',
      'dilu.dev/burst-half-life': '600',
      'other.io/key': 'ignored',
    });
    expect(errors).toEqual([]);
    expect(settings).toEqual({
      profile: { namespace: 'ml', name: 'resnet152' },
      sloMs: 40,
      class: 'best-effort',
      smRequest: 30,
      smLimit: 50,
      memoryMiB: 4096,
      batch: 8,
      gpuContainer: 'model',
    });
  });

  it('defaults the class and leaves unset keys out', () => {
    expect(parseUserSettings({})).toEqual({ settings: { class: 'latency-critical' }, errors: [] });
  });

  it('accepts the keys the webhook writes (a re-created pod carries them)', () => {
    const { errors } = parseUserSettings({
      'dilu.dev/decision': '{}',
      'dilu.dev/gpu-index': '0',
      'dilu.dev/reservation': 'r-1',
    });
    expect(errors).toEqual([]);
  });

  it.each([
    ['dilu.dev/slo-ms', '0', 'must be an integer number of milliseconds in 1..600000, got "0"'],
    [
      'dilu.dev/slo-ms',
      '12.5',
      'must be an integer number of milliseconds in 1..600000, got "12.5"',
    ],
    ['dilu.dev/slo-ms', '600001', 'in 1..600000, got "600001"'],
    ['dilu.dev/sm', '-5', 'must be an integer percentage in 1..100, got "-5"'],
    ['dilu.dev/sm-limit', '101', 'must be an integer percentage in 1..100, got "101"'],
    ['dilu.dev/gpu-memory', '4Gi', 'must be an integer number of MiB >= 1, got "4Gi"'],
    ['dilu.dev/batch', '5000', 'must be an integer in 1..4096, got "5000"'],
    ['dilu.dev/burst-half-life', '0', 'must be an integer number of seconds in 1..86400, got "0"'],
    [
      'dilu.dev/burst-half-life',
      '30m',
      'must be an integer number of seconds in 1..86400, got "30m"',
    ],
    ['dilu.dev/class', 'batch', 'must be one of latency-critical, best-effort, got "batch"'],
    ['dilu.dev/profile', 'Resnet', 'must be <name> or <namespace>/<name>'],
    ['dilu.dev/profile', 'a/b/c', 'must be <name> or <namespace>/<name>'],
    ['dilu.dev/gpu-container', 'User_Container', 'must be a container name'],
    ['dilu.dev/enabled', 'yes', 'must be "true" or "false", got "yes"'],
    ['dilu.dev/smlimit', '50', 'unknown dilu.dev annotation (allowed: dilu.dev/enabled,'],
  ])('%s=%s is an error naming the annotation', (key, value, message) => {
    const { errors } = parseUserSettings({ [key]: value });
    expect(errors).toHaveLength(1);
    expect(errors[0]?.field).toBe(`metadata.annotations[${key}]`);
    expect(errors[0]?.message).toContain(message);
  });

  it('refuses an SM limit below the SM request', () => {
    const { errors } = parseUserSettings({ 'dilu.dev/sm': '40', 'dilu.dev/sm-limit': '30' });
    expect(errors).toEqual([
      {
        field: 'metadata.annotations[dilu.dev/sm-limit]',
        message: 'must be at least dilu.dev/sm (40), got "30"',
      },
    ]);
  });
});

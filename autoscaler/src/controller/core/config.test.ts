import { describe, expect, it } from '@jest/globals';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, parseControllerConfig } from './config.js';
import { readConfigFile } from './config-file.js';

describe('parseControllerConfig', () => {
  it('fills every default', () => {
    const c = parseControllerConfig({});
    expect(c).toMatchObject({
      mode: 'knative',
      namespace: 'dilu-system',
      leaseDurationS: 15,
      renewDeadlineS: 10,
      retryPeriodS: 2,
      tickIntervalMs: 1000,
      queueProxyStatsPort: 9090,
      nodeAgentPort: 9450,
      knativeNamespace: 'knative-serving',
    });
    expect(c.openfaas.functionNamespace).toBe('openfaas-fn');
  });
  it('names the field and the rule of a bad value', () => {
    const err = (input: unknown): ConfigError => {
      try {
        parseControllerConfig(input);
      } catch (e) {
        if (e instanceof ConfigError) return e;
      }
      throw new Error('no ConfigError');
    };
    expect(err({ mode: 'kubeless' }).field).toBe('mode');
    expect(err({ openfaas: { rateWindow: 'ten' } }).message).toBe(
      'config openfaas.rateWindow: a Prometheus duration such as 10s',
    );
    expect(err({ leaseDurationS: 5, renewDeadlineS: 10 }).message).toMatch(
      /renewDeadlineS: need retryPeriodS < renewDeadlineS < leaseDurationS/,
    );
    expect(err({ tickIntervalMs: 1, typo: true }).field).toBe('tickIntervalMs');
  });
});

describe('readConfigFile', () => {
  it('reads YAML and refuses what is not a mapping', () => {
    const dir = mkdtempSync(join(tmpdir(), 'dilu-config-'));
    try {
      writeFileSync(join(dir, 'ok.yaml'), 'mode: openfaas\nopenfaas:\n  rateWindow: 30s\n');
      writeFileSync(join(dir, 'list.yaml'), '- a\n- b\n');
      expect(readConfigFile(join(dir, 'ok.yaml'))).toEqual({
        mode: 'openfaas',
        openfaas: { rateWindow: '30s' },
      });
      expect(() => readConfigFile(join(dir, 'list.yaml'))).toThrow(/expected a mapping/);
      expect(() => readConfigFile(join(dir, 'missing.yaml'))).toThrow(/--config/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

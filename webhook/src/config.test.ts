import { describe, expect, it } from '@jest/globals';
import { ConfigError, envName, loadConfig } from './config.js';

const required = { tlsCert: '/tls/tls.crt', tlsKey: '/tls/tls.key' };

describe('loadConfig', () => {
  it('documents its defaults', () => {
    expect(loadConfig(required, {})).toMatchObject({
      port: 8443,
      host: '0.0.0.0',
      placementUrl: 'http://dilu-autoscaler.dilu-system:8080',
      memoryUnitMiB: 256,
      defaultSmRequest: 25,
      defaultSmLimit: 50,
      defaultMemoryMiB: 4096,
      sidecars: ['queue-proxy', 'istio-proxy', 'linkerd-proxy'],
      bodyLimit: '4mb',
    });
  });

  it('takes environment variables and lets flags win', () => {
    const env = {
      DILU_WEBHOOK_PORT: '9443',
      DILU_WEBHOOK_PLACEMENT_URL: 'http://p:1',
      DILU_WEBHOOK_SIDECARS: 'envoy, queue-proxy',
    };
    const config = loadConfig({ ...required, placementUrl: 'http://flag:2' }, env);
    expect(config).toMatchObject({
      port: 9443,
      placementUrl: 'http://flag:2',
      sidecars: ['envoy', 'queue-proxy'],
    });
    expect(Object.isFrozen(config)).toBe(true);
    expect(envName('tlsCert')).toBe('DILU_WEBHOOK_TLS_CERT');
  });

  it('names the flag and the variable of a bad or missing value', () => {
    expect(() => loadConfig({ tlsKey: 'k', port: 70000 }, {})).toThrow(ConfigError);
    expect(() => loadConfig({ tlsKey: 'k' }, {})).toThrow(
      /--tls-cert \(or DILU_WEBHOOK_TLS_CERT\)/,
    );
    expect(() => loadConfig({ ...required, port: 70000 }, {})).toThrow(
      /--port \(or DILU_WEBHOOK_PORT\): Too big/,
    );
    expect(() => loadConfig({ ...required, defaultSmRequest: 60 }, {})).toThrow(
      '--default-sm-limit (50) must be at least --default-sm-request (60)',
    );
  });
});

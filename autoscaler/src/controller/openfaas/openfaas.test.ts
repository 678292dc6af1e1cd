import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Server } from 'node:http';
import type { V1Deployment } from '@kubernetes/client-node';
import { pino } from 'pino';
import { AutoscalerMetrics } from '../core/autoscaler-metrics.js';
import { createHttpApp } from '../core/http-app.js';
import { close } from '../testing/listen.js';
import { createAlertBook, splitFunctionName } from './alert-book.js';
import { openfaasFunction } from './openfaas-functions.js';

const deployment = (labels: Record<string, string>, annotations: Record<string, string> = {}) =>
  ({
    metadata: {
      name: 'resnet',
      namespace: 'openfaas-fn',
      labels: { faas_function: 'resnet', ...labels },
      annotations: { 'dilu.dev/slo-ms': '200', ...annotations },
    },
    spec: { selector: {}, template: { metadata: { labels: {} } } },
  }) as V1Deployment;

describe('openfaasFunction', () => {
  it('reads the CE and Pro scaling labels', () => {
    const f = openfaasFunction(
      deployment({
        'com.openfaas.scale.min': '2',
        'com.openfaas.scale.max': '12',
        'com.openfaas.scale.down.window': '2m',
      }),
    );
    expect(f).toMatchObject({
      key: 'openfaas/openfaas-fn/resnet',
      deployment: 'resnet',
      bounds: { min: 2, max: 12 },
      problems: [],
      profile: { namespace: 'openfaas-fn', name: 'resnet' },
      functionLabel: 'openfaas.openfaas-fn.resnet',
    });
    expect(f.spec).toMatchObject({ minScale: 2, maxScale: 12, scaleToZero: false, sloMs: 200 });
    expect(f.spec?.knobs).toMatchObject({ scaleDownDelayS: 120, panicExitS: 120 });
  });
  it('defaults to min 1 and no cap of its own; scales to zero only when asked with min 0', () => {
    expect(openfaasFunction(deployment({})).bounds).toEqual({ min: 1, max: 0 });
    const zero = openfaasFunction(
      deployment({
        'com.openfaas.scale.min': '0',
        'com.openfaas.scale.zero': 'true',
        'com.openfaas.scale.zero-duration': '15m',
      }),
    );
    expect(zero.spec).toMatchObject({ minScale: 0, scaleToZero: true });
    expect(zero.spec?.knobs.scaleToZeroGraceS).toBe(900);
    expect(openfaasFunction(deployment({ 'com.openfaas.scale.min': '0' })).bounds.min).toBe(1);
  });
  it('names bad labels and annotations and what is allowed', () => {
    const f = openfaasFunction(
      deployment({ 'com.openfaas.scale.min': 'two' }, { 'dilu.dev/class': 'urgent' }),
    );
    expect(f.problems).toEqual([
      { key: 'com.openfaas.scale.min', message: '"two" is not allowed; expected an integer >= 0' },
      {
        key: 'dilu.dev/class',
        message: '"urgent" is not allowed; expected latency-critical or best-effort',
      },
    ]);
  });
  it('has no spec (and says why) for a latency-critical function without an SLO', () => {
    const d = deployment({});
    d.metadata = { name: 'x', namespace: 'n', labels: { faas_function: 'x' } };
    const f = openfaasFunction(d);
    expect(f.spec).toBeUndefined();
    expect(f.problems).toEqual([
      { key: 'dilu.dev/slo-ms', message: 'is required for a latency-critical function' },
    ]);
  });
});

describe('the /system/alert receiver', () => {
  let server: Server;
  let url = '';
  let firings = 0;
  const book = createAlertBook();
  beforeAll(async () => {
    const app = createHttpApp({
      metrics: new AutoscalerMetrics({ defaultMetrics: false }),
      log: pino({ level: 'silent' }),
      healthy: () => true,
      ready: () => true,
      leader: () => ({ isLeader: true, holder: 'me' }),
      alerts: {
        book,
        defaultNamespace: 'openfaas-fn',
        basicAuth: { user: 'admin', password: 's3cret' },
        onFiring: () => {
          firings++;
        },
      },
    });
    server = app.listen(0, '127.0.0.1');
    await new Promise(r => server.once('listening', r));
    const a = server.address();
    url = `http://127.0.0.1:${typeof a === 'object' && a !== null ? a.port : 0}`;
  });
  afterAll(async () => {
    await close(server);
  });
  const post = (body: string, auth = 'admin:s3cret') =>
    fetch(`${url}/system/alert`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        authorization: `Basic ${Buffer.from(auth).toString('base64')}`,
      },
      body,
    });

  it('splits function_name at the last dot, as the gateway does', () => {
    expect(splitFunctionName('my.fn.team-a', 'openfaas-fn')).toEqual({
      namespace: 'team-a',
      name: 'my.fn',
    });
    expect(splitFunctionName('resnet', 'openfaas-fn')).toEqual({
      namespace: 'openfaas-fn',
      name: 'resnet',
    });
  });
  it('records firing and resolved alerts and asks for a decision on firing', async () => {
    const res = await post(
      JSON.stringify({
        status: 'firing',
        receiver: 'scale-up',
        alerts: [
          {
            status: 'firing',
            labels: { alertname: 'APIHighInvocationRate', function_name: 'resnet' },
          },
          { status: 'firing', labels: { alertname: 'Other' } },
        ],
      }),
    );
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ firing: ['openfaas-fn/resnet'], resolved: [], ignored: 1 });
    expect(book.firing('openfaas-fn', 'resnet')).toBe(true);
    expect(firings).toBe(1);
    await post(
      JSON.stringify({
        alerts: [{ status: 'resolved', labels: { function_name: 'resnet.openfaas-fn' } }],
      }),
    );
    expect(book.firing('openfaas-fn', 'resnet')).toBe(false);
  });
  it('refuses bad credentials, non-JSON and payloads that are not Alertmanager webhooks', async () => {
    expect((await post('{}', 'admin:guess')).status).toBe(401);
    const notJson = await post('{');
    expect(notJson.status).toBe(400);
    expect(await notJson.json()).toMatchObject({ field: 'body' });
    const wrong = await post(JSON.stringify({ alerts: 'many' }));
    expect(wrong.status).toBe(400);
    expect(await wrong.json()).toMatchObject({ field: 'alerts' });
  });
  it('serves metrics, health and readiness', async () => {
    const m = await fetch(`${url}/metrics`);
    expect(m.headers.get('content-type')).toMatch(/text\/plain/);
    expect(await m.text()).toMatch(/dilu_autoscaler_alerts_received_total\{status="firing"\} 1/);
    expect(await (await fetch(`${url}/readyz`)).json()).toEqual({
      ready: true,
      isLeader: true,
      holder: 'me',
    });
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
    expect((await fetch(`${url}/nope`)).status).toBe(404);
  });
});

import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import type { Container, Pod } from '../pod/pod-types.js';
import type { Operation } from 'fast-json-patch';
import jsonPatch from 'fast-json-patch';
import type { Harness } from '../test-support/harness.js';
import { startHarness } from '../test-support/harness.js';
import {
  admissionReviewFor,
  knativeRevisionPod,
  openfaasFunctionPod,
} from '../test-support/fixtures.js';
import { httpsRequest, postJson } from '../test-support/https-client.js';

interface Review {
  apiVersion: string;
  kind: string;
  response: {
    uid: string;
    allowed: boolean;
    patchType?: string;
    patch?: string;
    status?: { code: number; message: string };
    warnings?: string[];
  };
}

let h: Harness;

beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h.close();
});
beforeEach(() => {
  h.placement.failWith = undefined;
  h.placement.delayMs = 0;
});

async function review(pod: Pod, opts: { dryRun?: boolean } = {}): Promise<Review> {
  const body = admissionReviewFor(pod, opts);
  const reply = await postJson(h.url, h.certs.caPem, body);
  expect(reply.status).toBe(200);
  const parsed = JSON.parse(reply.text) as Review;
  expect(parsed.apiVersion).toBe('admission.k8s.io/v1');
  expect(parsed.kind).toBe('AdmissionReview');
  expect(parsed.response.uid).toBe((body.request as { uid: string }).uid);
  return parsed;
}

function applied(pod: Pod, r: Review): Pod {
  expect(r.response.allowed).toBe(true);
  expect(r.response.patchType).toBe('JSONPatch');
  const patch = JSON.parse(
    Buffer.from(r.response.patch ?? '', 'base64').toString('utf8'),
  ) as Operation[];
  return jsonPatch.applyPatch(structuredClone(pod), patch, true, false).newDocument;
}

function envOf(c: Container | undefined): Record<string, string | undefined> {
  return Object.fromEntries((c?.env ?? []).map(e => [e.name, e.value]));
}

interface DecisionJson {
  batch: number;
  smRequest: number;
  smLimit: number;
  memoryMiB: number;
  node: string;
  gpuIndex: number;
  reservation: string;
  source: string;
}

function expectWired(after: Pod, containerIndex: number, sloMs: string | undefined): DecisionJson {
  const annotations = after.metadata?.annotations ?? {};
  const d = JSON.parse(annotations['dilu.dev/decision'] ?? '{}') as DecisionJson;
  expect(annotations['dilu.dev/gpu-index']).toBe(String(d.gpuIndex));
  expect(annotations['dilu.dev/reservation']).toBe(d.reservation);
  const c = after.spec?.containers[containerIndex];
  expect(c?.resources?.limits?.[`dilu.dev/gpu${d.gpuIndex}-sm`]).toBe(String(d.smRequest));
  expect(c?.resources?.limits?.[`dilu.dev/gpu${d.gpuIndex}-mem`]).toBe(
    String(Math.ceil(d.memoryMiB / 256)),
  );
  expect(envOf(c)).toMatchObject({
    CUDA_MPS_ACTIVE_THREAD_PERCENTAGE: String(d.smLimit),
    DILU_BATCH: String(d.batch),
    DILU_SM_REQUEST: String(d.smRequest),
    DILU_SM_LIMIT: String(d.smLimit),
    DILU_GPU_MEMORY_MIB: String(d.memoryMiB),
  });
  expect(envOf(c).DILU_SLO_MS).toBe(sloMs);
  expect(
    after.spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution,
  ).toEqual({
    nodeSelectorTerms: [
      { matchFields: [{ key: 'metadata.name', operator: 'In', values: [d.node] }] },
    ],
  });
  expect(d.smRequest).toBeGreaterThanOrEqual(1);
  expect(d.smLimit).toBeGreaterThanOrEqual(d.smRequest);
  expect(d.smLimit).toBeLessThanOrEqual(100);
  return d;
}

describe('Knative revision pod over HTTPS', () => {
  it('comes back with resources, env, affinity and annotations, queue-proxy byte-for-byte unchanged', async () => {
    const pod = knativeRevisionPod({ annotations: { 'dilu.dev/slo-ms': '100' } });
    const r = await review(pod);
    const after = applied(pod, r);
    const d = expectWired(after, 0, '100');
    expect(d.source).toBe('profile');
    const labels = after.metadata!.labels!;
    expect(labels['dilu.dev/function']).toBe('knative.fns.resnet-00001');
    expect(labels['dilu.dev/needs-profile']).toBeUndefined();
    const [user, queueProxy] = after.spec!.containers;
    const [userBefore, queueProxyBefore] = pod.spec!.containers;
    // The user's own resources survive next to the GPU share.
    expect(user!.resources!.limits).toMatchObject({ cpu: '4', memory: '8Gi' });
    expect(queueProxy!.name).toBe('queue-proxy');
    expect(JSON.stringify(queueProxy)).toBe(JSON.stringify(queueProxyBefore));
    expect(JSON.stringify(after.spec!.volumes)).toBe(JSON.stringify(pod.spec!.volumes));
    // The existing env stays first and unchanged; the webhook's env follows.
    expect(user!.env!.slice(0, 4)).toEqual(userBefore!.env);
    const sent = h.placement.requests.at(-1) as Record<string, unknown>;
    expect(sent).toEqual({
      namespace: 'fns',
      generateName: 'resnet-00001-deployment-5f7c9d8b6d-',
      function: 'knative.fns.resnet-00001',
      class: 'latency-critical',
      smRequest: d.smRequest,
      smLimit: d.smLimit,
      memoryMiB: d.memoryMiB,
    });
    expect(d.memoryMiB).toBe(3300);
  });

  it('follows a FunctionProfile recommendation for the same SLO', async () => {
    h.profiles.set(
      'fns',
      {
        ...(h.profiles.lookup('fns', 'resnet')?.profile ?? { name: 'x', source: 'x', points: [] }),
        name: 'resnet-rec',
      },
      [{ sloMs: 80, batch: 4, smRequest: 30, smLimit: 45, memoryMiB: 3000, throughputRps: 100 }],
    );
    const pod = knativeRevisionPod({
      annotations: { 'dilu.dev/slo-ms': '80', 'dilu.dev/profile': 'resnet-rec' },
    });
    const after = applied(pod, await review(pod));
    const d = expectWired(after, 0, '80');
    expect(d).toMatchObject({
      batch: 4,
      smRequest: 30,
      smLimit: 45,
      memoryMiB: 3000,
      source: 'profile',
    });
  });
});

describe('OpenFaaS function pod over HTTPS', () => {
  it('wires the function container (the watchdog lives in it) and records the decision', async () => {
    const pod = openfaasFunctionPod({ annotations: { 'dilu.dev/slo-ms': '50' } });
    const after = applied(pod, await review(pod));
    const d = expectWired(after, 0, '50');
    expect(d.source).toBe('profile');
    const labels = after.metadata!.labels!;
    expect(labels['dilu.dev/function']).toBe('openfaas.openfaas-fn.bert');
    expect(labels.faas_function).toBe('bert');
    const containers = after.spec!.containers;
    const before = pod.spec!.containers[0]!;
    expect(containers).toHaveLength(1);
    expect(containers[0]!.livenessProbe).toEqual(before.livenessProbe);
    expect(containers[0]!.resources!.requests).toEqual({
      ...before.resources!.requests,
      [`dilu.dev/gpu${d.gpuIndex}-sm`]: String(d.smRequest),
      [`dilu.dev/gpu${d.gpuIndex}-mem`]: String(Math.ceil(d.memoryMiB / 256)),
    });
  });

  it('uses the autoscaler’s published instance decision over the profile', async () => {
    h.decisions.set('openfaas-fn', 'bert', {
      batch: 8,
      smRequest: 35,
      smLimit: 60,
      memoryMiB: 2500,
      sloMs: 50,
    });
    try {
      const pod = openfaasFunctionPod();
      const d = expectWired(applied(pod, await review(pod)), 0, '50');
      expect(d).toMatchObject({
        batch: 8,
        smRequest: 35,
        smLimit: 60,
        memoryMiB: 2500,
        source: 'decision',
      });
    } finally {
      h.decisions.set('openfaas-fn', 'bert', undefined);
    }
  });

  it('lets explicit requests override, rewriting generic resources into per-GPU ones', async () => {
    const pod = openfaasFunctionPod({
      annotations: { 'dilu.dev/sm-limit': '70', 'dilu.dev/batch': '2' },
    });
    const c = pod.spec?.containers[0];
    if (c?.resources?.limits)
      Object.assign(c.resources.limits, { 'dilu.dev/sm': '40', 'dilu.dev/gpu-memory': '5000' });
    const after = applied(pod, await review(pod));
    const d = expectWired(after, 0, undefined);
    expect(d).toMatchObject({
      batch: 2,
      smRequest: 40,
      smLimit: 70,
      memoryMiB: 5000,
      source: 'explicit',
    });
    expect(after.spec?.containers[0]?.resources?.limits?.['dilu.dev/sm']).toBeUndefined();
    expect(after.spec?.containers[0]?.resources?.limits?.['dilu.dev/gpu-memory']).toBeUndefined();
  });
});

describe('pods without a profile, dry runs and other pods', () => {
  it('sizes an unprofiled function with the defaults and labels it for profiling', async () => {
    const pod = knativeRevisionPod({ service: 'whisper' });
    const r = await review(pod);
    const after = applied(pod, r);
    const d = expectWired(after, 0, undefined);
    expect(d).toMatchObject({
      batch: 1,
      smRequest: 25,
      smLimit: 50,
      memoryMiB: 4096,
      source: 'default',
    });
    expect(after.metadata?.labels?.['dilu.dev/needs-profile']).toBe('true');
    expect(r.response.warnings?.[0]).toMatch(/no FunctionProfile "whisper"/);
  });

  it('answers a dry run without reserving anything', async () => {
    const before = h.placement.requests.length;
    const r = await review(knativeRevisionPod({ annotations: { 'dilu.dev/slo-ms': '100' } }), {
      dryRun: true,
    });
    expect(r.response.allowed).toBe(true);
    expect(r.response.patch).toBeUndefined();
    expect(r.response.warnings?.[0]).toMatch(/dry run: GPU placement skipped/);
    expect(h.placement.requests.length).toBe(before);
  });

  it('lets pods that are no function through untouched', async () => {
    const pod = knativeRevisionPod();
    delete pod.metadata?.labels?.['serving.knative.dev/revision'];
    const r = await review(pod);
    expect(r.response).toEqual({ uid: r.response.uid, allowed: true });
  });

  it('honours an opt-out label', async () => {
    const pod = openfaasFunctionPod();
    (pod.metadata?.labels ?? {})['dilu.dev/enabled'] = 'false';
    const r = await review(pod);
    expect(r.response.patch).toBeUndefined();
    expect(r.response.allowed).toBe(true);
  });
});

describe('invalid pods are denied with the field named', () => {
  async function denied(pod: Pod): Promise<string> {
    const r = await review(pod);
    expect(r.response.allowed).toBe(false);
    expect(r.response.patch).toBeUndefined();
    expect(r.response.status?.code).toBe(400);
    return r.response.status?.message ?? '';
  }

  it('a container that sets CUDA_MPS_* itself', async () => {
    const pod = knativeRevisionPod();
    pod.spec?.containers[0]?.env?.push({ name: 'CUDA_MPS_PIPE_DIRECTORY', value: '/tmp/mps' });
    expect(await denied(pod)).toMatch(
      /^spec\.containers\[0\]\.env\[4\]\.name: container "user-container" sets CUDA_MPS_PIPE_DIRECTORY/,
    );
  });

  it('a CUDA_MPS_ACTIVE_THREAD_PERCENTAGE override in a sidecar too', async () => {
    const pod = knativeRevisionPod();
    pod.spec?.containers[1]?.env?.push({ name: 'CUDA_MPS_ACTIVE_THREAD_PERCENTAGE', value: '100' });
    expect(await denied(pod)).toMatch(
      /spec\.containers\[1\]\.env\[\d+\]\.name: container "queue-proxy" sets CUDA_MPS_ACTIVE_THREAD_PERCENTAGE/,
    );
  });

  it('a hostPath volume over the MPS pipe directory', async () => {
    const pod = openfaasFunctionPod();
    pod.spec?.volumes?.push({ name: 'mps', hostPath: { path: '/run/nvidia/mps/pipe' } });
    pod.spec?.containers[0]?.volumeMounts?.push({ name: 'mps', mountPath: '/mps' });
    expect(await denied(pod)).toMatch(
      /spec\.volumes\[1\]\.hostPath\.path: volume "mps" mounts \/run\/nvidia\/mps\/pipe/,
    );
  });

  it('per-GPU resources of two GPU indices', async () => {
    const pod = openfaasFunctionPod();
    Object.assign(pod.spec?.containers[0]?.resources?.limits ?? {}, {
      'dilu.dev/gpu0-sm': '30',
      'dilu.dev/gpu1-mem': '8',
    });
    const message = await denied(pod);
    expect(message).toContain('spec.containers[0].resources.limits[dilu.dev/gpu0-sm]');
    expect(message).toContain('spec.containers[0].resources.limits[dilu.dev/gpu1-mem]');
    expect(message).toContain('GPU indices 0 and 1');
  });

  it('malformed, out-of-range and unknown dilu.dev annotations, all reported at once', async () => {
    const pod = knativeRevisionPod({
      annotations: { 'dilu.dev/slo-ms': 'fast', 'dilu.dev/sm': '130', 'dilu.dev/slo': '40' },
    });
    const message = await denied(pod);
    expect(message).toContain(
      'metadata.annotations[dilu.dev/slo-ms]: must be an integer number of milliseconds in 1..600000, got "fast"',
    );
    expect(message).toContain(
      'metadata.annotations[dilu.dev/sm]: must be an integer percentage in 1..100, got "130"',
    );
    expect(message).toContain('metadata.annotations[dilu.dev/slo]: unknown dilu.dev annotation');
  });

  it('dilu.dev resources on the queue-proxy sidecar', async () => {
    const pod = knativeRevisionPod();
    Object.assign(pod.spec?.containers[1]?.resources?.requests ?? {}, { 'dilu.dev/sm': '10' });
    expect(await denied(pod)).toMatch(
      /spec\.containers\[1\]\.resources\.requests\[dilu\.dev\/sm\]: container "queue-proxy" is not the GPU container \("user-container"\)/,
    );
  });

  it('an SLO that no configuration can meet', async () => {
    const message = await denied(knativeRevisionPod({ annotations: { 'dilu.dev/slo-ms': '2' } }));
    expect(message).toMatch(
      /^metadata\.annotations\[dilu\.dev\/slo-ms\]: no configuration meets a 2 ms SLO: the fastest/,
    );
  });
});

describe('placement failures are visible denials, never a wrong pod', () => {
  it('placement service down: denied 503 with the reason, and counted', async () => {
    h.placement.failWith = 503;
    const r = await review(knativeRevisionPod({ annotations: { 'dilu.dev/slo-ms': '100' } }));
    expect(r.response.allowed).toBe(false);
    expect(r.response.status?.code).toBe(503);
    expect(r.response.status?.message).toMatch(/placement service answered HTTP 503/);
    const metrics = await h.metrics.render();
    expect(metrics.body).toMatch(
      /dilu_webhook_placement_fallbacks_total\{reason="unavailable"\} [1-9]/,
    );
  });

  it('no GPU fits: denied 503 saying so', async () => {
    const pod = openfaasFunctionPod({ annotations: { 'dilu.dev/gpu-memory': '900000' } });
    const r = await review(pod);
    expect(r.response.allowed).toBe(false);
    expect(r.response.status?.message).toMatch(
      /no GPU has room for this instance now: no GPU fits/,
    );
  });
});

describe('malformed AdmissionReviews get a 4xx or a deny, and the server keeps serving', () => {
  const post = (body: string | Buffer, contentType = 'application/json') =>
    httpsRequest({
      url: h.url,
      ca: h.certs.caPem,
      method: 'POST',
      body,
      headers: { 'content-type': contentType },
    });

  async function stillServes(): Promise<void> {
    const pod = openfaasFunctionPod({ annotations: { 'dilu.dev/slo-ms': '50' } });
    expect((await review(pod)).response.allowed).toBe(true);
  }

  it.each([
    [
      'not JSON',
      400,
      '{"apiVersion": "admission.k8s.io/v1", kind: AdmissionReview',
      /not valid JSON/,
    ],
    ['a JSON array', 400, '[1,2,3]', /must be a JSON object/],
    [
      'the wrong kind',
      400,
      JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'Pod', request: { uid: 'x' } }),
      /kind: must be "AdmissionReview", got "Pod"/,
    ],
    [
      'the v1beta1 API',
      400,
      JSON.stringify({
        apiVersion: 'admission.k8s.io/v1beta1',
        kind: 'AdmissionReview',
        request: { uid: 'x' },
      }),
      /apiVersion: must be "admission.k8s.io\/v1"/,
    ],
    [
      'no request.uid',
      400,
      JSON.stringify({
        apiVersion: 'admission.k8s.io/v1',
        kind: 'AdmissionReview',
        request: { operation: 'CREATE' },
      }),
      /request\.uid: must be a non-empty string/,
    ],
  ])('%s -> HTTP %d', async (_what, status, body, message) => {
    const reply = await post(body);
    expect(reply.status).toBe(status);
    expect((JSON.parse(reply.text) as { error: string }).error).toMatch(message);
    await stillServes();
  });

  it('a body that is not declared JSON -> 415', async () => {
    const reply = await post('uid=1', 'application/x-www-form-urlencoded');
    expect(reply.status).toBe(415);
    await stillServes();
  });

  it('a 10 MB body -> 413', async () => {
    const big = JSON.stringify({
      apiVersion: 'admission.k8s.io/v1',
      kind: 'AdmissionReview',
      request: { uid: 'big', padding: 'x'.repeat(10 * 1024 * 1024) },
    });
    const reply = await post(big);
    expect(reply.status).toBe(413);
    expect((JSON.parse(reply.text) as { error: string }).error).toMatch(
      /larger than the limit of 4mb/,
    );
    await stillServes();
  });

  it('a request with a uid but no usable pod -> a deny in the review', async () => {
    const body = admissionReviewFor(openfaasFunctionPod());
    (body.request as { object: unknown }).object = { kind: 'Pod', spec: {} };
    const reply = await postJson(h.url, h.certs.caPem, body);
    const r = JSON.parse(reply.text) as Review;
    expect(r.response.allowed).toBe(false);
    expect(r.response.status?.message).toMatch(
      /request\.object: must be a Pod with spec\.containers/,
    );
    await stillServes();
  });
});

describe('health, readiness and metrics', () => {
  it('serves /healthz, /readyz and /metrics', async () => {
    const get = (path: string) => httpsRequest({ url: `${h.base}${path}`, ca: h.certs.caPem });
    expect((await get('/healthz')).status).toBe(200);
    expect((await get('/readyz')).text).toBe('ok');
    const metrics = await get('/metrics');
    expect(metrics.status).toBe(200);
    expect(metrics.text).toMatch(
      /dilu_webhook_admission_duration_seconds_bucket\{le="0.01",outcome="mutated"\} \d+/,
    );
    expect(metrics.text).toMatch(
      /dilu_webhook_admissions_total\{outcome="denied",source="none"\} \d+/,
    );
    expect(metrics.text).toMatch(/dilu_webhook_errors_total\{kind="bad-request"\} [1-9]/);
  });
});

describe('admission deadline', () => {
  it('denies with 504 when placement is slower than the deadline, and keeps serving', async () => {
    const slow = await startHarness({ config: { admissionTimeoutMs: 300 } });
    try {
      slow.placement.delayMs = 1000;
      const pod = openfaasFunctionPod({ annotations: { 'dilu.dev/slo-ms': '50' } });
      const started = Date.now();
      const reply = await postJson(slow.url, slow.certs.caPem, admissionReviewFor(pod));
      const r = JSON.parse(reply.text) as Review;
      expect(Date.now() - started).toBeLessThan(900);
      expect(r.response.allowed).toBe(false);
      expect(r.response.status).toEqual({
        code: 504,
        reason: 'Timeout',
        message: 'the webhook could not decide within 300 ms',
      });
      slow.placement.delayMs = 0;
      const again = JSON.parse(
        (await postJson(slow.url, slow.certs.caPem, admissionReviewFor(pod))).text,
      ) as Review;
      expect(again.response.allowed).toBe(true);
      expect((await slow.metrics.render()).body).toMatch(
        /dilu_webhook_errors_total\{kind="timeout"\} 1/,
      );
    } finally {
      await slow.close();
    }
  });
});

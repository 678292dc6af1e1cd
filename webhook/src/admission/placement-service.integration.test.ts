import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { PlacementService } from '@dilu/autoscaler/placement-service';
import {
  PlacementServiceMetrics,
  createPlacementApp,
  createPlacementService,
} from '@dilu/autoscaler/placement-service';
import type { Operation } from 'fast-json-patch';
import jsonPatch from 'fast-json-patch';
import { silentLogger } from '../logger.js';
import type { Pod } from '../pod/pod-types.js';
import {
  admissionReviewFor,
  knativeRevisionPod,
  openfaasFunctionPod,
} from '../test-support/fixtures.js';
import type { Harness } from '../test-support/harness.js';
import { startHarness } from '../test-support/harness.js';
import { postJson } from '../test-support/https-client.js';

/**
 * The webhook against the real placement service (autoscaler/src/placement-service) over HTTP
 * on 127.0.0.1: two emulated GPU nodes (node objects as the device plugin makes them appear),
 * pods fed back to the service as its pod informer would.
 */
let service: PlacementService;
let server: http.Server;
let h: Harness;

function gpuNode(name: string, gpus: number): object {
  const allocatable: Record<string, string> = {};
  for (let i = 0; i < gpus; i++) {
    allocatable[`dilu.dev/gpu${i}-sm`] = '100';
    allocatable[`dilu.dev/gpu${i}-mem`] = '160';
  }
  return {
    metadata: { name, annotations: { 'dilu.dev/memory-unit-mib': '256' } },
    status: { allocatable },
  };
}

beforeAll(async () => {
  service = createPlacementService();
  service.applyNode(gpuNode('gpu-node-a', 2));
  service.applyNode(gpuNode('gpu-node-b', 1));
  server = http.createServer(
    createPlacementApp({
      service,
      metrics: new PlacementServiceMetrics({ defaultMetrics: false }),
      log: silentLogger(),
      notReady: () => [],
    }),
  );
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve));
  h = await startHarness({
    placementUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
  });
});
afterAll(async () => {
  await h.close();
  await new Promise<void>(resolve => {
    server.close(() => {
      resolve();
    });
    server.closeAllConnections();
  });
});

interface Answer {
  response: { allowed: boolean; patch?: string; status?: { message: string } };
}

async function admit(pod: Pod): Promise<Answer> {
  return JSON.parse((await postJson(h.url, h.certs.caPem, admissionReviewFor(pod))).text) as Answer;
}

function created(pod: Pod, answer: Answer, uid: string): Pod {
  const patch = JSON.parse(
    Buffer.from(answer.response.patch ?? '', 'base64').toString(),
  ) as Operation[];
  const after = jsonPatch.applyPatch(structuredClone(pod), patch).newDocument;
  return {
    ...after,
    metadata: { ...after.metadata, uid, name: `${pod.metadata?.generateName ?? ''}${uid}` },
  };
}

function decisionOf(pod: Pod): {
  node: string;
  gpuIndex: number;
  smRequest: number;
  reservation: string;
} {
  return JSON.parse(pod.metadata?.annotations?.['dilu.dev/decision'] ?? '{}') as never;
}

describe('webhook with the placement service', () => {
  it('places Knative and OpenFaaS pods on reserved GPUs that the pods then hold', async () => {
    const kn = knativeRevisionPod({ annotations: { 'dilu.dev/slo-ms': '100' } });
    const knAnswer = await admit(kn);
    expect(knAnswer.response.allowed).toBe(true);
    const knPod = created(kn, knAnswer, 'uid-kn');
    const d = decisionOf(knPod);
    expect(service.stats()).toMatchObject({ reservations: 1, instances: 0 });
    // The pod informer sees the created pod: it takes the reservation over.
    service.applyPod(knPod);
    expect(service.stats()).toMatchObject({ reservations: 0, instances: 1 });
    const held = service.cluster.instance('pod/uid-kn');
    expect(held).toMatchObject({ nodeId: d.node, gpuIndex: d.gpuIndex, smRequest: d.smRequest });
    expect(knPod.spec?.containers[0]?.resources?.limits?.[`dilu.dev/gpu${d.gpuIndex}-sm`]).toBe(
      String(d.smRequest),
    );

    const of = openfaasFunctionPod({ annotations: { 'dilu.dev/slo-ms': '50' } });
    const ofAnswer = await admit(of);
    expect(ofAnswer.response.allowed).toBe(true);
    service.applyPod(created(of, ofAnswer, 'uid-of'));
    expect(service.stats()).toMatchObject({ reservations: 0, instances: 2 });
    service.deletePod(created(of, ofAnswer, 'uid-of'));
    service.deletePod(knPod);
    expect(service.stats()).toMatchObject({ instances: 0 });
  });

  it('gives parallel admissions distinct capacity, then denies with the service’s reason when full', async () => {
    // Pinned sizes: 40 % each, so two fit a GPU by request (and 2 x 60 within the 150 % limit cap).
    const pod = (): Pod =>
      openfaasFunctionPod({
        annotations: {
          'dilu.dev/sm': '40',
          'dilu.dev/sm-limit': '60',
          'dilu.dev/gpu-memory': '4096',
        },
      });
    const answers = await Promise.all(Array.from({ length: 10 }, () => admit(pod())));
    const allowed = answers.filter(a => a.response.allowed);
    expect(allowed).toHaveLength(6);
    const perGpu = new Map<string, number>();
    allowed.forEach((a, i) => {
      const d = decisionOf(created(pod(), a, `p${i}`));
      const key = `${d.node}/${d.gpuIndex}`;
      perGpu.set(key, (perGpu.get(key) ?? 0) + d.smRequest);
    });
    expect([...perGpu.values()].sort()).toEqual([80, 80, 80]);
    const denied = answers.filter(a => !a.response.allowed);
    expect(denied[0]?.response.status?.message).toMatch(
      /^no GPU has room for this instance now: no GPU fits \(\{"smRequest":40,.*"gpus":3,"rejected":\{.*"sm-request":3/,
    );
  });
});

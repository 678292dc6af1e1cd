import { describe, expect, it } from '@jest/globals';
import { deriveReady, setCondition } from './conditions.js';
import type { PaStatusInput } from './pa-status.js';
import { computePaStatus, sameStatus } from './pa-status.js';
import { desiredSks, ownedBy, sksMode, sksNeedsUpdate } from './sks.js';
import type { PodAutoscaler, ServerlessService } from './types.js';

const T0 = '2026-11-23T10:00:00.000Z';
const T1 = '2026-11-23T10:00:05.000Z';

const pa = (status?: PodAutoscaler['status']): PodAutoscaler => ({
  metadata: {
    name: 'fn-00001',
    namespace: 'ns',
    uid: 'pa-uid',
    generation: 3,
    labels: { 'serving.knative.dev/revision': 'fn-00001' },
    annotations: { 'autoscaling.knative.dev/metric': 'concurrency' },
  },
  spec: {
    protocolType: 'h2c',
    scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'fn-00001-deployment' },
  },
  ...(status === undefined ? {} : { status }),
});
const readySks: ServerlessService = {
  metadata: { name: 'fn-00001', namespace: 'ns' },
  spec: { mode: 'Serve', objectRef: { name: 'fn-00001-deployment' }, protocolType: 'h2c' },
  status: {
    serviceName: 'fn-00001',
    privateServiceName: 'fn-00001-private',
    conditions: [{ type: 'Ready', status: 'True' }],
  },
};
const input = (over: Partial<PaStatusInput>): PaStatusInput => ({
  pa: pa(),
  sks: readySks,
  sksNotOwned: false,
  want: 1,
  ready: 1,
  initialThreshold: 1,
  minScale: 0,
  nowIso: T0,
  ...over,
});
const cond = (s: ReturnType<typeof computePaStatus>, type: string) =>
  s.conditions?.find(c => c.type === type);

describe('Knative conditions', () => {
  it('moves lastTransitionTime only when status, reason or message change', () => {
    let c = setCondition([], { type: 'Active', status: 'True' }, T0);
    c = setCondition(c, { type: 'Active', status: 'True' }, T1);
    expect(c[0]?.lastTransitionTime).toBe(T0);
    c = setCondition(c, { type: 'Active', status: 'False', reason: 'NoTraffic' }, T1);
    expect(c[0]).toEqual({
      type: 'Active',
      status: 'False',
      reason: 'NoTraffic',
      lastTransitionTime: T1,
    });
  });
  it('derives Ready: False wins over Unknown, True needs every dependent', () => {
    const deps = ['A', 'B'];
    const unknown = deriveReady([{ type: 'A', status: 'True' }], deps, T0);
    expect(unknown.find(c => c.type === 'Ready')?.status).toBe('Unknown');
    const failed = deriveReady(
      [
        { type: 'A', status: 'Unknown', reason: 'Wait' },
        { type: 'B', status: 'False', reason: 'Broken', message: 'b failed' },
      ],
      deps,
      T0,
    );
    expect(failed.find(c => c.type === 'Ready')).toMatchObject({
      status: 'False',
      reason: 'Broken',
      message: 'b failed',
    });
    const ok = deriveReady(
      [
        { type: 'A', status: 'True' },
        { type: 'B', status: 'True' },
      ],
      deps,
      T0,
    );
    expect(ok.find(c => c.type === 'Ready')?.status).toBe('True');
  });
});

describe('computePaStatus', () => {
  it('is Ready with the fields the revision reconciler reads once pods are ready', () => {
    const s = computePaStatus(input({}));
    expect(s).toMatchObject({
      observedGeneration: 3,
      serviceName: 'fn-00001',
      metricsServiceName: 'fn-00001-private',
      desiredScale: 1,
      actualScale: 1,
    });
    for (const t of ['Active', 'ScaleTargetInitialized', 'SKSReady', 'Ready']) {
      expect(cond(s, t)?.status).toBe('True');
    }
  });
  it('waits for the SKS names before anything is initialized', () => {
    const s = computePaStatus(input({ sks: undefined }));
    expect(s.serviceName).toBe('');
    expect(cond(s, 'SKSReady')).toMatchObject({
      status: 'Unknown',
      reason: 'NoPrivateServiceName',
    });
    expect(cond(s, 'ScaleTargetInitialized')?.status).toBe('Unknown');
    expect(cond(s, 'Ready')?.status).toBe('Unknown');
  });
  it('is not initialized below max(min-scale, initial-scale), then latches', () => {
    const waiting = computePaStatus(input({ want: 3, ready: 2, initialThreshold: 3 }));
    expect(cond(waiting, 'ScaleTargetInitialized')?.status).toBe('Unknown');
    expect(cond(waiting, 'Active')).toMatchObject({ status: 'Unknown', reason: 'Queued' });
    const reached = computePaStatus(input({ want: 3, ready: 3, initialThreshold: 3 }));
    expect(cond(reached, 'ScaleTargetInitialized')?.status).toBe('True');
    // Latched: fewer ready pods later do not undo it.
    const later = computePaStatus(
      input({ pa: pa(reached), want: 3, ready: 1, initialThreshold: 3 }),
    );
    expect(cond(later, 'ScaleTargetInitialized')?.status).toBe('True');
  });
  it('marks Inactive/NoTraffic at zero and keeps the revision initialized', () => {
    const first = computePaStatus(input({}));
    const zero = computePaStatus(input({ pa: pa(first), want: 0, ready: 0 }));
    expect(cond(zero, 'Active')).toMatchObject({ status: 'False', reason: 'NoTraffic' });
    expect(cond(zero, 'Ready')?.status).toBe('False');
    expect(cond(zero, 'ScaleTargetInitialized')?.status).toBe('True');
  });
  it('reports an SKS someone else controls', () => {
    const s = computePaStatus(input({ sksNotOwned: true }));
    expect(cond(s, 'SKSReady')).toMatchObject({ status: 'False', reason: 'NotOwned' });
    expect(cond(s, 'Ready')).toMatchObject({ status: 'False', reason: 'NotOwned' });
  });
  it('compares statuses by value so an unchanged status is not written again', () => {
    const s = computePaStatus(input({}));
    expect(sameStatus(s, computePaStatus(input({ pa: pa(s), nowIso: T1 })))).toBe(true);
    expect(sameStatus(s, computePaStatus(input({ pa: pa(s), want: 2 })))).toBe(false);
    expect(sameStatus(undefined, s)).toBe(false);
  });
});

describe('the ServerlessService', () => {
  it('is named, labelled and owned as Knative makes it', () => {
    const s = desiredSks(pa(), 'Serve');
    expect(s.metadata).toEqual({
      name: 'fn-00001',
      namespace: 'ns',
      labels: { 'serving.knative.dev/revision': 'fn-00001' },
      annotations: { 'autoscaling.knative.dev/metric': 'concurrency' },
      ownerReferences: [
        {
          apiVersion: 'autoscaling.internal.knative.dev/v1alpha1',
          kind: 'PodAutoscaler',
          name: 'fn-00001',
          uid: 'pa-uid',
          controller: true,
          blockOwnerDeletion: true,
        },
      ],
    });
    expect(s.spec).toEqual({
      mode: 'Serve',
      objectRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'fn-00001-deployment' },
      protocolType: 'h2c',
      numActivators: 0,
    });
  });
  it('serves when instances are wanted, proxies at zero or with the activator pinned', () => {
    expect(sksMode(2, 211)).toBe('Serve');
    expect(sksMode(0, 211)).toBe('Proxy');
    expect(sksMode(-1, 211)).toBe('Proxy');
    expect(sksMode(2, -1)).toBe('Proxy');
  });
  it('knows ownership and what needs an update', () => {
    const live = desiredSks(pa(), 'Proxy');
    expect(ownedBy(live, pa())).toBe(true);
    const other = {
      ...live,
      metadata: {
        ...live.metadata,
        ownerReferences: [{ ...live.metadata.ownerReferences![0]!, uid: 'x' }],
      },
    };
    expect(ownedBy(other, pa())).toBe(false);
    expect(sksNeedsUpdate(live, desiredSks(pa(), 'Serve'))).toBe(true);
    expect(sksNeedsUpdate(live, desiredSks(pa(), 'Proxy'))).toBe(false);
  });
});

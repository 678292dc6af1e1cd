import { describe, expect, it } from '@jest/globals';
import { knativeRevisionPod, openfaasFunctionPod } from '../test-support/fixtures.js';
import { labelValue, targetPod } from './function-identity.js';

describe('targetPod', () => {
  it('knows a Knative revision pod by its labels', () => {
    expect(targetPod(knativeRevisionPod(), 'fns')).toEqual({
      targeted: true,
      identity: {
        kind: 'knative',
        namespace: 'fns',
        profileName: 'resnet',
        functionLabel: 'knative.fns.resnet-00001',
        deployment: 'resnet-00001-deployment',
      },
    });
  });

  it('knows an OpenFaaS function pod by faas_function', () => {
    expect(targetPod(openfaasFunctionPod(), 'openfaas-fn')).toEqual({
      targeted: true,
      identity: {
        kind: 'openfaas',
        namespace: 'openfaas-fn',
        profileName: 'bert',
        functionLabel: 'openfaas.openfaas-fn.bert',
        deployment: 'bert',
      },
    });
  });

  it('takes any pod opted in by label or annotation, named after its generateName', () => {
    const pod = {
      metadata: { generateName: 'trainer-6c9f-', labels: { 'dilu.dev/enabled': 'true' } },
      spec: { containers: [{ name: 'main' }] },
    };
    expect(targetPod(pod, 'ml')).toMatchObject({
      targeted: true,
      identity: { kind: 'pod', profileName: 'trainer-6c9f', functionLabel: 'pod.ml.trainer-6c9f' },
    });
    const byAnnotation = {
      metadata: { name: 'job-1', annotations: { 'dilu.dev/enabled': 'true' } },
      spec: { containers: [{ name: 'main' }] },
    };
    expect(targetPod(byAnnotation, 'ml')).toMatchObject({ identity: { profileName: 'job-1' } });
  });

  it('leaves other pods and opted-out functions alone', () => {
    expect(targetPod({ spec: { containers: [{ name: 'web' }] } }, 'x').targeted).toBe(false);
    const pod = knativeRevisionPod({ annotations: { 'dilu.dev/enabled': 'false' } });
    expect(targetPod(pod, 'fns')).toEqual({
      targeted: false,
      reason: 'opted out (dilu.dev/enabled=false)',
    });
  });
});

describe('labelValue', () => {
  it('keeps short ids and shortens long ones to a valid, distinct label value', () => {
    expect(labelValue('knative.fns.resnet-00001')).toBe('knative.fns.resnet-00001');
    const a = labelValue(`knative.${'n'.repeat(40)}.${'r'.repeat(50)}-00001`);
    const b = labelValue(`knative.${'n'.repeat(40)}.${'r'.repeat(50)}-00002`);
    for (const v of [a, b]) {
      expect(v.length).toBeLessThanOrEqual(63);
      expect(v).toMatch(/^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/);
    }
    expect(a).not.toBe(b);
  });
});

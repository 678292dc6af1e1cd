import { describe, expect, it } from '@jest/globals';
import { knativeRevisionPod, openfaasFunctionPod } from '../test-support/fixtures.js';
import type { Pod } from './pod-types.js';
import type { PodRules } from './validate-pod.js';
import { checkPod } from './validate-pod.js';

const rules: PodRules = {
  mpsHostDirs: ['/run/dilu', '/var/lib/dilu', '/run/nvidia/mps'],
  mpsContainerDirs: ['/tmp/nvidia-mps', '/var/run/dilu'],
  memoryUnitMiB: 256,
};

function check(pod: Pod, opts: { gpu?: number; mutated?: boolean; settings?: object } = {}) {
  return checkPod(
    pod,
    opts.gpu ?? 0,
    { class: 'latency-critical', ...opts.settings },
    opts.mutated ?? false,
    rules,
  );
}

function limits(pod: Pod, i = 0): Record<string, string> {
  const c = pod.spec!.containers[i]!;
  c.resources ??= {};
  return (c.resources.limits ??= {});
}

describe('checkPod', () => {
  it('passes the realistic Knative and OpenFaaS pods', () => {
    expect(check(knativeRevisionPod())).toEqual({ errors: [], requested: {} });
    expect(check(openfaasFunctionPod())).toEqual({ errors: [], requested: {} });
  });

  it('reads generic and per-GPU requests into SM and MiB', () => {
    const generic = openfaasFunctionPod();
    Object.assign(limits(generic), { 'dilu.dev/sm': '30', 'dilu.dev/gpu-memory': '4k' });
    expect(check(generic).requested).toEqual({ smRequest: 30, memoryMiB: 4000 });
    const perGpu = openfaasFunctionPod();
    Object.assign(limits(perGpu), { 'dilu.dev/gpu2-sm': '40', 'dilu.dev/gpu2-mem': '8' });
    expect(check(perGpu)).toEqual({ errors: [], requested: { smRequest: 40, memoryMiB: 2048 } });
  });

  it('ignores its own per-GPU resources on a pod an earlier admission mutated', () => {
    const pod = openfaasFunctionPod();
    Object.assign(limits(pod), { 'dilu.dev/gpu0-sm': '40', 'dilu.dev/gpu0-mem': '8' });
    pod.spec!.containers[0]!.env!.push({ name: 'CUDA_MPS_ACTIVE_THREAD_PERCENTAGE', value: '60' });
    expect(check(pod, { mutated: true })).toEqual({ errors: [], requested: {} });
  });

  it('names every problem at once', () => {
    const pod = knativeRevisionPod();
    pod.spec!.nodeName = 'node-7';
    pod.spec!.containers[0]!.env!.push(
      { name: 'DILU_BATCH', value: '4' },
      { name: 'DILU_QUOTA_FILE', value: '/x' },
    );
    pod.spec!.containers[0]!.securityContext = { privileged: true };
    pod.spec!.containers[1]!.volumeMounts!.push({
      name: 'q',
      mountPath: '/var/run/dilu/quota.json',
    });
    Object.assign(limits(pod), {
      'nvidia.com/gpu': '1',
      'dilu.dev/sm': '0.5',
      'dilu.dev/gpus': '1',
    });
    pod.spec!.initContainers = [{ name: 'init', resources: { limits: { 'dilu.dev/sm': '10' } } }];
    const fields = check(pod).errors.map(e => e.field);
    expect(fields).toEqual([
      'spec.nodeName',
      'spec.containers[0].env[4].name',
      'spec.containers[0].env[5].name',
      'spec.containers[1].volumeMounts[1].mountPath',
      'spec.initContainers[0].resources.limits[dilu.dev/sm]',
      'spec.containers[0].securityContext.privileged',
      'spec.containers[0].resources.limits[dilu.dev/sm]',
      'spec.containers[0].resources.limits[nvidia.com/gpu]',
      'spec.containers[0].resources.limits[dilu.dev/gpus]',
    ]);
  });

  it('refuses hostPath volumes on, under or above the MPS and state directories', () => {
    for (const path of [
      '/run/nvidia/mps',
      '/run/nvidia/mps/pipe/',
      '/run',
      '/',
      '/var/lib/dilu/allocations',
    ]) {
      const pod = openfaasFunctionPod();
      pod.spec!.volumes!.push({ name: 'h', hostPath: { path } });
      expect(check(pod).errors.map(e => e.field)).toEqual(['spec.volumes[1].hostPath.path']);
    }
    const fine = openfaasFunctionPod();
    fine.spec!.volumes!.push({ name: 'h', hostPath: { path: '/data/models' } });
    expect(check(fine).errors).toEqual([]);
  });

  it('allows a mount above the plugin’s mount paths but not on or inside them', () => {
    const pod = openfaasFunctionPod();
    pod.spec!.containers[0]!.volumeMounts!.push(
      { name: 'a', mountPath: '/var' },
      { name: 'b', mountPath: '/tmp/nvidia-mps' },
    );
    expect(check(pod).errors.map(e => e.field)).toEqual([
      'spec.containers[0].volumeMounts[2].mountPath',
    ]);
  });

  it('refuses requests and limits that disagree, and explicit values that contradict annotations', () => {
    const pod = openfaasFunctionPod();
    Object.assign(limits(pod), { 'dilu.dev/sm': '30', 'dilu.dev/gpu-memory': '4000' });
    Object.assign(pod.spec!.containers[0]!.resources!.requests!, { 'dilu.dev/sm': '20' });
    const errors = check(pod, { settings: { smRequest: 25, memoryMiB: 5000, smLimit: 20 } }).errors;
    expect(errors.map(e => e.field)).toEqual([
      'spec.containers[0].resources.requests[dilu.dev/sm]',
      'metadata.annotations[dilu.dev/sm]',
      'metadata.annotations[dilu.dev/gpu-memory]',
      'metadata.annotations[dilu.dev/sm-limit]',
    ]);
    expect(errors[0]?.message).toBe(
      'must equal spec.containers[0].resources.limits[dilu.dev/sm] (30), got 20',
    );
  });

  it('refuses a generic and a per-GPU request that disagree, and a bad dilu.dev/enabled label', () => {
    const pod = openfaasFunctionPod();
    Object.assign(limits(pod), { 'dilu.dev/sm': '30', 'dilu.dev/gpu0-sm': '40' });
    pod.metadata!.labels!['dilu.dev/enabled'] = 'on';
    expect(check(pod).errors.map(e => e.message)).toEqual([
      'must be "true" or "false", got "on"',
      'conflicts with the generic dilu.dev request of the same container (30)',
    ]);
  });
});

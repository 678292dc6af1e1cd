import type { NodeObject, PodObject } from './kube-objects.js';

/** A GPU node as the API server shows it once the device plugin advertises its GPUs. */
export function gpuNode(name: string, gpus: number, memUnits = 160, unitMiB?: number): NodeObject {
  const allocatable: Record<string, string> = { cpu: '32', memory: '256Gi', pods: '110' };
  for (let i = 0; i < gpus; i++) {
    allocatable[`dilu.dev/gpu${i}-sm`] = '100';
    allocatable[`dilu.dev/gpu${i}-mem`] = String(memUnits);
  }
  return {
    metadata: {
      name,
      labels: { 'nvidia.com/gpu.product': 'NVIDIA-A100-SXM4-40GB' },
      annotations: unitMiB === undefined ? {} : { 'dilu.dev/memory-unit-mib': String(unitMiB) },
    },
    status: { allocatable },
  };
}

/** A pod the webhook placed, as the pod informer sees it. */
export function placedPod(o: {
  uid: string;
  node: string;
  gpuIndex: number;
  smRequest: number;
  smLimit?: number;
  memoryMiB?: number;
  reservation?: string;
  bound?: boolean;
  phase?: string;
}): PodObject {
  const decision = {
    batch: 4,
    smRequest: o.smRequest,
    smLimit: o.smLimit ?? o.smRequest,
    memoryMiB: o.memoryMiB ?? 2048,
    node: o.node,
    gpuIndex: o.gpuIndex,
    reservation: o.reservation ?? 'rsv-unknown',
    source: 'profile',
  };
  return {
    metadata: {
      name: `fn-${o.uid}`,
      namespace: 'fns',
      uid: o.uid,
      labels: { 'dilu.dev/function': 'knative.fns.fn-00001' },
      annotations: {
        'dilu.dev/decision': JSON.stringify(decision),
        'dilu.dev/reservation': decision.reservation,
      },
    },
    spec: o.bound === false ? {} : { nodeName: o.node },
    status: { phase: o.phase ?? (o.bound === false ? 'Pending' : 'Running') },
  };
}

import type { KnativeCondition } from './conditions.js';

/** The parts of Knative's PodAutoscaler (v1alpha1) the controller reads and writes. */
export interface PodAutoscaler {
  apiVersion?: string;
  kind?: string;
  metadata: {
    name: string;
    namespace: string;
    uid?: string;
    generation?: number;
    resourceVersion?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    ownerReferences?: OwnerReference[];
  };
  spec: {
    scaleTargetRef: { apiVersion?: string; kind?: string; name: string };
    containerConcurrency?: number;
    protocolType?: string;
    reachability?: '' | 'Reachable' | 'Unreachable';
  };
  status?: PodAutoscalerStatus;
}

export interface PodAutoscalerStatus {
  observedGeneration?: number;
  conditions?: KnativeCondition[];
  serviceName?: string;
  metricsServiceName?: string;
  desiredScale?: number;
  actualScale?: number;
}

export interface OwnerReference {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  controller?: boolean;
  blockOwnerDeletion?: boolean;
}

/** Knative networking's ServerlessService (v1alpha1). */
export interface ServerlessService {
  apiVersion?: string;
  kind?: string;
  metadata: {
    name: string;
    namespace: string;
    uid?: string;
    resourceVersion?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    ownerReferences?: OwnerReference[];
  };
  spec: {
    mode: 'Serve' | 'Proxy';
    objectRef: { apiVersion?: string; kind?: string; name: string };
    protocolType: string;
    numActivators?: number;
  };
  status?: {
    serviceName?: string;
    privateServiceName?: string;
    conditions?: KnativeCondition[];
    observedGeneration?: number;
  };
}

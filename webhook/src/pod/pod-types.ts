/**
 * The parts of a core/v1 Pod the webhook reads or writes, as the JSON it arrives in. Plain
 * structural types rather than client-node's model classes: an AdmissionReview carries JSON,
 * never class instances. Every object keeps unknown fields (`[key: string]: unknown`), so
 * nothing the webhook does not know about is lost on the way through.
 */
export interface EnvVar {
  name: string;
  value?: string;
  [key: string]: unknown;
}

export interface VolumeMount {
  name: string;
  mountPath: string;
  [key: string]: unknown;
}

export interface ResourceRequirements {
  limits?: Record<string, string>;
  requests?: Record<string, string>;
  [key: string]: unknown;
}

export interface Container {
  name: string;
  env?: EnvVar[];
  resources?: ResourceRequirements;
  volumeMounts?: VolumeMount[];
  securityContext?: { privileged?: boolean; [key: string]: unknown };
  [key: string]: unknown;
}

export interface Volume {
  name: string;
  hostPath?: { path: string; [key: string]: unknown };
  [key: string]: unknown;
}

export interface NodeSelectorRequirement {
  key: string;
  operator: string;
  values?: string[];
}

export interface NodeSelectorTerm {
  matchExpressions?: NodeSelectorRequirement[];
  matchFields?: NodeSelectorRequirement[];
  [key: string]: unknown;
}

export interface Affinity {
  nodeAffinity?: {
    requiredDuringSchedulingIgnoredDuringExecution?: {
      nodeSelectorTerms: NodeSelectorTerm[];
      [key: string]: unknown;
    };
    [key: string]: unknown;
  };
  [key: string]: unknown;
}

export interface PodSpec {
  containers: Container[];
  initContainers?: Container[];
  volumes?: Volume[];
  nodeName?: string;
  affinity?: Affinity;
  [key: string]: unknown;
}

export interface ObjectMeta {
  name?: string;
  generateName?: string;
  namespace?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  [key: string]: unknown;
}

export interface Pod {
  apiVersion?: string;
  kind?: string;
  metadata?: ObjectMeta;
  spec?: PodSpec;
  [key: string]: unknown;
}

/**
 * The parts of core/v1 Nodes and Pods the placement service reads, as the JSON the API server
 * sends. Structural types rather than client-node's model classes, so tests and informers pass
 * plain objects.
 */
export interface ObjectMeta {
  name?: string | undefined;
  namespace?: string | undefined;
  uid?: string | undefined;
  labels?: Record<string, string> | undefined;
  annotations?: Record<string, string> | undefined;
  deletionTimestamp?: unknown;
}

export interface NodeObject {
  metadata?: ObjectMeta | undefined;
  spec?: { unschedulable?: boolean | undefined } | undefined;
  status?: { allocatable?: Record<string, string> | undefined } | undefined;
}

export interface PodObject {
  metadata?: ObjectMeta | undefined;
  spec?: { nodeName?: string | undefined } | undefined;
  status?: { phase?: string | undefined } | undefined;
}

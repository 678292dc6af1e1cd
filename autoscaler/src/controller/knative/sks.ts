import { METRIC_ANNOTATION, PA_API, SKS_API } from './constants.js';
import type { OwnerReference, PodAutoscaler, ServerlessService } from './types.js';

export type SksMode = ServerlessService['spec']['mode'];

/** The controller reference an owned object carries back to its PodAutoscaler. */
export function paOwnerReference(pa: PodAutoscaler): OwnerReference {
  return {
    apiVersion: `${PA_API.group}/${PA_API.version}`,
    kind: PA_API.kind,
    name: pa.metadata.name,
    uid: pa.metadata.uid ?? '',
    controller: true,
    blockOwnerDeletion: true,
  };
}

/**
 * The SKS Knative's own autoscalers would make for this PA (`resources/sks.go` MakeSKS):
 * same name, the PA's labels, only the metric annotation, controlled by the PA; the SKS
 * reconciler in Knative's controller turns it into the public and private Services.
 * `numActivators: 0` means every activator, as the HPA class does.
 */
export function desiredSks(pa: PodAutoscaler, mode: SksMode): ServerlessService {
  const metric = pa.metadata.annotations?.[METRIC_ANNOTATION];
  return {
    apiVersion: `${SKS_API.group}/${SKS_API.version}`,
    kind: SKS_API.kind,
    metadata: {
      name: pa.metadata.name,
      namespace: pa.metadata.namespace,
      labels: { ...pa.metadata.labels },
      ...(metric === undefined ? {} : { annotations: { [METRIC_ANNOTATION]: metric } }),
      ownerReferences: [paOwnerReference(pa)],
    },
    spec: {
      mode,
      objectRef: {
        apiVersion: pa.spec.scaleTargetRef.apiVersion ?? 'apps/v1',
        kind: pa.spec.scaleTargetRef.kind ?? 'Deployment',
        name: pa.spec.scaleTargetRef.name,
      },
      protocolType: pa.spec.protocolType ?? 'http1',
      numActivators: 0,
    },
  };
}

/** Serve once instances are wanted; Proxy keeps the activator buffering at zero. */
export function sksMode(want: number, targetBurstCapacity: number): SksMode {
  // TBC -1 keeps the activator in the path for good (Knative semantics).
  return want > 0 && targetBurstCapacity !== -1 ? 'Serve' : 'Proxy';
}

/** True when the existing SKS is controlled by this PA (or by nobody yet). */
export function ownedBy(sks: ServerlessService, pa: PodAutoscaler): boolean {
  const controller = sks.metadata.ownerReferences?.find(r => r.controller === true);
  return controller === undefined || controller.uid === pa.metadata.uid;
}

/** Whether the live SKS differs from what we want in anything we own. */
export function sksNeedsUpdate(live: ServerlessService, want: ServerlessService): boolean {
  return (
    live.spec.mode !== want.spec.mode ||
    live.spec.protocolType !== want.spec.protocolType ||
    live.spec.objectRef.name !== want.spec.objectRef.name ||
    (live.spec.numActivators ?? 0) !== (want.spec.numActivators ?? 0)
  );
}

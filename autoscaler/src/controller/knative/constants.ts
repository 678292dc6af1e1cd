/**
 * Knative names the controller relies on (notes/knative-openfaas.md §A1). The class lives in
 * our own domain because Knative's webhook rejects any other `*.knative.dev` class
 * (decision 0250).
 */
export const DILU_AUTOSCALER_CLASS = 'ie.autoscaling.dilu.dev';

export const CLASS_ANNOTATION = 'autoscaling.knative.dev/class';
export const METRIC_ANNOTATION = 'autoscaling.knative.dev/metric';

/** Label Knative puts on a revision's pods (and its PA): selects the function's instances. */
export const REVISION_LABEL = 'serving.knative.dev/revision';

export const PA_API = {
  group: 'autoscaling.internal.knative.dev',
  version: 'v1alpha1',
  plural: 'podautoscalers',
  kind: 'PodAutoscaler',
} as const;

export const SKS_API = {
  group: 'networking.internal.knative.dev',
  version: 'v1alpha1',
  plural: 'serverlessservices',
  kind: 'ServerlessService',
} as const;

/** Where Knative keeps `config-autoscaler` (overridable: some installs rename the namespace). */
export const KNATIVE_SYSTEM_NAMESPACE = 'knative-serving';
export const CONFIG_AUTOSCALER_NAME = 'config-autoscaler';

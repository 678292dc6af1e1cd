import { z } from 'zod';

/**
 * Alertmanager's webhook payload as the OpenFaaS gateway reads it
 * (`gateway/requests/prometheus.go`): alerts with a status and a `function_name` label
 * `<function>.<namespace>` (namespace split at the last dot).
 */
export const alertmanagerPayloadSchema = z.object({
  status: z.string().optional(),
  receiver: z.string().optional(),
  alerts: z.array(
    z.object({
      status: z.enum(['firing', 'resolved']),
      labels: z.record(z.string(), z.string()),
    }),
  ),
});
export type AlertmanagerPayload = z.infer<typeof alertmanagerPayloadSchema>;

export interface AlertSummary {
  readonly firing: string[];
  readonly resolved: string[];
  readonly ignored: number;
}

/**
 * The functions OpenFaaS alert rules currently fire for. In our mode an alert does not set
 * replicas itself (the CE rule's fixed step would fight the policy): a firing alert asks for
 * an immediate decision and, for a function at zero, counts as a waiting request so it is
 * activated; the policy decides the rest from the measured load.
 */
export interface AlertBook {
  apply(payload: AlertmanagerPayload, defaultNamespace: string): AlertSummary;
  firing(namespace: string, name: string): boolean;
}

export function splitFunctionName(
  value: string,
  defaultNamespace: string,
): { namespace: string; name: string } {
  const dot = value.lastIndexOf('.');
  return dot <= 0
    ? { namespace: defaultNamespace, name: value }
    : { namespace: value.slice(dot + 1), name: value.slice(0, dot) };
}

export function createAlertBook(): AlertBook {
  const active = new Set<string>();
  return {
    apply(payload, defaultNamespace) {
      const summary = { firing: [] as string[], resolved: [] as string[], ignored: 0 };
      for (const alert of payload.alerts) {
        const fn = alert.labels['function_name'];
        if (fn === undefined || fn === '') {
          summary.ignored++;
          continue;
        }
        const { namespace, name } = splitFunctionName(fn, defaultNamespace);
        const key = `${namespace}/${name}`;
        if (alert.status === 'firing') {
          active.add(key);
          summary.firing.push(key);
        } else {
          active.delete(key);
          summary.resolved.push(key);
        }
      }
      return summary;
    },
    firing: (namespace, name) => active.has(`${namespace}/${name}`),
  };
}

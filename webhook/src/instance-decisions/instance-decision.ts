import { z } from 'zod';

/** Annotation on a function's Deployment metadata (docs/contracts/instance-decision.md). */
export const INSTANCE_DECISION_ANNOTATION = 'dilu.dev/instance-decision';

const instanceDecisionSchema = z
  .object({
    batch: z.number().int().min(1).max(4096),
    smRequest: z.number().int().min(1).max(100),
    smLimit: z.number().int().min(1).max(100),
    memoryMiB: z.number().int().min(1),
    sloMs: z.number().positive().optional(),
    updatedAt: z.string().optional(),
  })
  .refine(d => d.smLimit >= d.smRequest, { message: 'smLimit must be >= smRequest' });

/** What the autoscaler wants a new instance of the function to look like. */
export type InstanceDecision = z.infer<typeof instanceDecisionSchema>;

/** Where the webhook reads the autoscaler's published decisions (an informer cache). */
export interface InstanceDecisionSource {
  get(namespace: string, deployment: string): InstanceDecision | undefined;
  isReady(): boolean;
}

export type ParsedDecision =
  | { readonly ok: true; readonly decision: InstanceDecision }
  | { readonly ok: false; readonly reason: string };

export function parseInstanceDecision(raw: string): ParsedDecision {
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch (err) {
    return { ok: false, reason: `not JSON: ${(err as Error).message}` };
  }
  const parsed = instanceDecisionSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return {
      ok: false,
      reason: `${issue?.path.map(String).join('.') || '(value)'}: ${issue?.message ?? 'invalid'}`,
    };
  }
  return { ok: true, decision: parsed.data };
}

/** A source with nothing in it: the webhook runs without a cluster (`--profiles` only). */
export const noInstanceDecisions: InstanceDecisionSource = {
  get: () => undefined,
  isReady: () => true,
};

/** An in-memory source, keyed `<namespace>/<deployment>`, fed by an informer or by tests. */
export interface InstanceDecisionStore extends InstanceDecisionSource {
  set(namespace: string, deployment: string, decision: InstanceDecision | undefined): void;
  markReady(): void;
}

export function createInstanceDecisionStore(): InstanceDecisionStore {
  const map = new Map<string, InstanceDecision>();
  let ready = false;
  return {
    get: (namespace, deployment) => map.get(`${namespace}/${deployment}`),
    isReady: () => ready,
    set(namespace, deployment, decision) {
      const key = `${namespace}/${deployment}`;
      if (decision) map.set(key, decision);
      else map.delete(key);
    },
    markReady() {
      ready = true;
    },
  };
}

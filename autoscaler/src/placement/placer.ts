import { z } from 'zod';
import type { Cluster, GpuView, PlacedInstance } from './cluster.js';
import { CAPACITY_EPSILON } from './cluster.js';
import { PlacementError } from './placement-error.js';
import type { DiluWeights, GpuLoad } from './score.js';
import { BEST_FIT_WEIGHTS, DILU_WEIGHTS, diluScore } from './score.js';
import type { GpuRef, InstanceChange, InstanceRequest } from './types.js';
import { GPU_SM_PERCENT } from './types.js';
import { validateInstanceChange, validateInstanceRequest } from './validate.js';

/**
 * Placement policies, one interface. `dilu` is the product's; the others are the baselines
 * the simulator compares against (DESIGN.md §7).
 */
export const PLACER_KINDS = ['dilu', 'best-fit', 'has-gpu', 'exclusive', 'equal-slice'] as const;
export type PlacerKind = (typeof PLACER_KINDS)[number];

/** Why a GPU was not eligible; counted per GPU in a "no GPU fits" answer. */
export const REJECT_REASONS = [
  'gpu-model',
  'exclusive',
  'memory',
  'sm-request',
  'sm-limit',
  'occupancy',
  'slots',
] as const;
export type RejectReason = (typeof REJECT_REASONS)[number];

export interface DiluPlacerOptions {
  /** ω: Σ SM requests on a GPU stay <= 100·ω. Default 1. */
  readonly requestCap?: number | undefined;
  /** γ: Σ SM limits on a GPU stay <= 100·γ (limits overcommit). Default 1.5. */
  readonly limitCap?: number | undefined;
  /** Score weights; defaults {@link DILU_WEIGHTS}. */
  readonly weights?: Partial<DiluWeights> | undefined;
  /** A replica avoids GPUs holding a replica of its function when another GPU fits. Default true. */
  readonly spreadReplicas?: boolean | undefined;
}

export interface BestFitPlacerOptions {
  readonly requestCap?: number | undefined;
  readonly limitCap?: number | undefined;
}

export interface HasGpuPlacerOptions {
  /** Default 1. */
  readonly requestCap?: number | undefined;
  /** Default 1: HAS-GPU's quotas are hard (request = limit), nothing to overcommit. */
  readonly limitCap?: number | undefined;
  /** An active GPU takes new instances only while Σr/100 is below this. Default 0.95. */
  readonly occupancyCap?: number | undefined;
}

export interface EqualSlicePlacerOptions {
  /** n: instances per GPU; each gets 1/n of the GPU's memory. Required. */
  readonly slots: number;
}

export interface PlacerOptionsByKind {
  dilu: DiluPlacerOptions;
  'best-fit': BestFitPlacerOptions;
  'has-gpu': HasGpuPlacerOptions;
  exclusive: Record<string, never>;
  'equal-slice': EqualSlicePlacerOptions;
}

export interface PlacerDeps {
  readonly cluster: Cluster;
  /** Id for an instance placed without one. Default `<functionId>-<n>`. */
  readonly newId?: ((request: InstanceRequest) => string) | undefined;
}

export type PlaceRequest = InstanceRequest & { readonly id?: string | undefined };

export interface NoGpuFits {
  readonly placed: false;
  readonly reason: 'no-gpu-fits';
  /** GPUs turned down, per first broken rule. */
  readonly rejected: Readonly<Record<RejectReason, number>>;
}

export type PlaceResult =
  | { readonly placed: true; readonly instance: PlacedInstance; readonly freshGpu: boolean }
  | NoGpuFits;

export type ChooseResult =
  { readonly placed: true; readonly gpu: GpuView; readonly freshGpu: boolean } | NoGpuFits;

export type ResizeResult =
  | { readonly resized: true; readonly instance: PlacedInstance }
  | { readonly resized: false; readonly reason: RejectReason };

export interface Placer {
  readonly kind: PlacerKind;
  readonly cluster: Cluster;
  /** Picks a GPU by this policy and places the instance there. */
  place(request: PlaceRequest): PlaceResult;
  /** The GPU `place` would pick, without placing. */
  choose(request: InstanceRequest): ChooseResult;
  /** Whether this policy's rules allow the instance on that GPU; the broken rule if not. */
  check(request: InstanceRequest, ref: GpuRef): RejectReason | undefined;
  remove(instanceId: string): PlacedInstance;
  /** Changes r, l or m of a placed instance if its GPU still satisfies the policy. */
  resize(instanceId: string, change: InstanceChange): ResizeResult;
}

/** A candidate's rank: lower tier first, then lower a, then lower b, then cluster order. */
interface Rank {
  tier: number;
  a: number;
  b: number;
}

interface Policy {
  /** Instances this policy places hold their GPU alone. */
  readonly exclusive: boolean;
  /** The policy's own rule on a GPU that passed the physical checks. */
  reject(g: GpuLoad, x: InstanceRequest): RejectReason | undefined;
  rank(g: GpuView, x: InstanceRequest, out: Rank): void;
}

// ---- options -------------------------------------------------------------------------------

const cap = z.number().positive().max(10);
function shareCaps(
  request: number,
  limit: number,
): { requestCap: z.ZodDefault<z.ZodNumber>; limitCap: z.ZodDefault<z.ZodNumber> } {
  return { requestCap: cap.default(request), limitCap: cap.default(limit) };
}
const limitAtLeastRequest = (o: { requestCap: number; limitCap: number }): boolean =>
  o.limitCap >= o.requestCap;
const limitRule = {
  message: 'limitCap must be >= requestCap (every instance has smLimit >= smRequest)',
  path: ['limitCap'],
};
const weight = z.number().min(0).max(10);

const optionSchemas = {
  dilu: z
    .strictObject({
      ...shareCaps(1, 1.5),
      weights: z
        .strictObject({
          smFit: weight,
          memoryFit: weight,
          balance: weight,
          classMix: weight,
        })
        .partial()
        .default({}),
      spreadReplicas: z.boolean().default(true),
    })
    .refine(limitAtLeastRequest, limitRule),
  'best-fit': z.strictObject(shareCaps(1, 1.5)).refine(limitAtLeastRequest, limitRule),
  'has-gpu': z
    .strictObject({ ...shareCaps(1, 1), occupancyCap: z.number().gt(0).max(1).default(0.95) })
    .refine(limitAtLeastRequest, limitRule),
  exclusive: z.strictObject({}),
  'equal-slice': z.strictObject({ slots: z.number().int().min(1).max(GPU_SM_PERCENT) }),
} as const;

function parseOptions<K extends PlacerKind>(
  kind: K,
  options: unknown,
): z.infer<(typeof optionSchemas)[K]> {
  const r = optionSchemas[kind].safeParse(options ?? {});
  if (!r.success) {
    const issue = r.error.issues[0];
    const path = issue?.path.join('.') ?? '';
    const keys = issue?.code === 'unrecognized_keys' ? issue.keys.join(', ') : '';
    const field = keys === '' ? path || 'options' : keys;
    const rule =
      keys === '' ? (issue?.message ?? 'invalid') : `not an option of the ${kind} placer`;
    throw new PlacementError(field, rule);
  }
  return r.data as z.infer<(typeof optionSchemas)[K]>;
}

// ---- policies ------------------------------------------------------------------------------

type Rule = (g: GpuLoad, x: InstanceRequest) => RejectReason | undefined;

function shareRule(requestCap: number, limitCap: number): Rule {
  return (g, x) => {
    if (g.sumSmRequest + x.smRequest > GPU_SM_PERCENT * requestCap + CAPACITY_EPSILON) {
      return 'sm-request';
    }
    if (g.sumSmLimit + x.smLimit > GPU_SM_PERCENT * limitCap + CAPACITY_EPSILON) return 'sm-limit';
    return undefined;
  };
}

function scoredPolicy(
  requestCap: number,
  limitCap: number,
  w: DiluWeights,
  spread: boolean,
): Policy {
  return {
    exclusive: false,
    reject: shareRule(requestCap, limitCap),
    rank(g, x, out) {
      const score = diluScore(g, x, w);
      if (g.instanceCount === 0) {
        // Fresh GPU: only when no active GPU fits. Among fresh ones the tightest fit, then a
        // node already in use (keeps whole nodes free).
        out.tier = 1;
        out.a = score;
        out.b = -g.node.activeGpuCount;
        return;
      }
      const replicas = spread ? g.replicasOf(x.functionId) : 0;
      if (replicas > 0) {
        // Replicas of one function burst together; share a GPU with one only when nothing
        // else fits, and then with as few as possible.
        out.tier = 2;
        out.a = replicas;
        out.b = score;
        return;
      }
      out.tier = 0;
      out.a = score;
      out.b = 0;
    },
  };
}

function hasGpuPolicy(o: z.infer<(typeof optionSchemas)['has-gpu']>): Policy {
  const shares = shareRule(o.requestCap, o.limitCap);
  return {
    exclusive: false,
    reject(g, x) {
      if (g.instanceCount > 0 && g.sumSmRequest >= GPU_SM_PERCENT * o.occupancyCap) {
        return 'occupancy';
      }
      return shares(g, x);
    },
    // HAS-GPU's scale-up walks used GPUs in ascending occupancy, then takes an unused GPU.
    rank(g, _x, out) {
      out.tier = g.instanceCount > 0 ? 0 : 1;
      out.a = g.instanceCount > 0 ? g.sumSmRequest : 0;
      out.b = 0;
    },
  };
}

const firstFit = (out: Rank): void => {
  out.tier = 0;
  out.a = 0;
  out.b = 0;
};

function exclusivePolicy(): Policy {
  return {
    exclusive: true,
    reject: g => (g.instanceCount > 0 ? 'exclusive' : undefined),
    rank: (_g, _x, out) => {
      firstFit(out);
    },
  };
}

function equalSlicePolicy(slots: number): Policy {
  return {
    exclusive: false,
    reject(g, x) {
      if (g.instanceCount >= slots) return 'slots';
      // MPS static slices pin 1/n of the memory to each client.
      if (x.memoryMiB > g.memoryMiB / slots + CAPACITY_EPSILON) return 'memory';
      return undefined;
    },
    rank: (_g, _x, out) => {
      firstFit(out);
    },
  };
}

function policyFor(kind: PlacerKind, options: unknown): Policy {
  switch (kind) {
    case 'dilu': {
      const o = parseOptions('dilu', options);
      const w = { ...DILU_WEIGHTS, ...o.weights };
      return scoredPolicy(o.requestCap, o.limitCap, w, o.spreadReplicas);
    }
    case 'best-fit': {
      const o = parseOptions('best-fit', options);
      return scoredPolicy(o.requestCap, o.limitCap, BEST_FIT_WEIGHTS, false);
    }
    case 'has-gpu':
      return hasGpuPolicy(parseOptions('has-gpu', options));
    case 'exclusive':
      parseOptions('exclusive', options);
      return exclusivePolicy();
    case 'equal-slice':
      return equalSlicePolicy(parseOptions('equal-slice', options).slots);
  }
}

// ---- the placer ----------------------------------------------------------------------------

function emptyCounts(): Record<RejectReason, number> {
  return {
    'gpu-model': 0,
    exclusive: 0,
    memory: 0,
    'sm-request': 0,
    'sm-limit': 0,
    occupancy: 0,
    slots: 0,
  };
}

/** The physical rules every policy shares, then the policy's own. */
function rejectOn(
  policy: Policy,
  g: GpuView,
  load: GpuLoad,
  x: InstanceRequest,
): RejectReason | undefined {
  const models = x.gpuModels;
  if (models !== undefined && models.length > 0 && !models.includes(g.model)) return 'gpu-model';
  if (load.instanceCount > 0 && (g.exclusive || policy.exclusive)) return 'exclusive';
  if (load.sumMemoryMiB + x.memoryMiB > g.memoryMiB + CAPACITY_EPSILON) return 'memory';
  return policy.reject(load, x);
}

/** The GPU's load with one of its instances taken out (to judge a resize). */
function loadWithout(g: GpuView, inst: PlacedInstance): GpuLoad {
  const lc = inst.class === 'latency-critical' ? 1 : 0;
  return {
    memoryMiB: g.memoryMiB,
    sumSmRequest: g.sumSmRequest - inst.smRequest,
    sumSmLimit: g.sumSmLimit - inst.smLimit,
    sumMemoryMiB: g.sumMemoryMiB - inst.memoryMiB,
    instanceCount: g.instanceCount - 1,
    latencyCriticalCount: g.latencyCriticalCount - lc,
    bestEffortCount: g.bestEffortCount - (1 - lc),
  };
}

/**
 * Creates a placer of the given kind over a cluster. Options are checked once here; an
 * unknown option or a value out of range throws a PlacementError naming it.
 */
export function createPlacer<K extends PlacerKind>(
  kind: K,
  deps: PlacerDeps,
  options?: PlacerOptionsByKind[K],
): Placer {
  if (!(PLACER_KINDS as readonly unknown[]).includes(kind)) {
    throw new PlacementError('kind', `must be one of ${PLACER_KINDS.join(', ')}, got '${kind}'`);
  }
  const policy = policyFor(kind, options);
  const { cluster } = deps;
  let seq = 0;
  const newId =
    deps.newId ??
    ((x: InstanceRequest): string => {
      let id: string;
      do id = `${x.functionId}-${++seq}`;
      while (cluster.hasInstance(id));
      return id;
    });
  const rank: Rank = { tier: 0, a: 0, b: 0 };

  const choose = (x: InstanceRequest): ChooseResult => {
    validateInstanceRequest(x);
    let best: GpuView | undefined;
    let tier = 0;
    let a = 0;
    let b = 0;
    let rejected: Record<RejectReason, number> | undefined;
    cluster.forEachCandidate((g, alike) => {
      const why = rejectOn(policy, g, g, x);
      if (why !== undefined) {
        rejected ??= emptyCounts();
        rejected[why] += alike;
        return;
      }
      policy.rank(g, x, rank);
      // Lexicographic (tier, a, b), then cluster order: the same cluster state and request
      // always give the same GPU, whatever order the candidates are visited in.
      const better =
        best === undefined ||
        rank.tier < tier ||
        (rank.tier === tier &&
          (rank.a < a || (rank.a === a && (rank.b < b || (rank.b === b && g.order < best.order)))));
      if (better) {
        best = g;
        ({ tier, a, b } = rank);
      }
    });
    if (best === undefined) {
      return { placed: false, reason: 'no-gpu-fits', rejected: rejected ?? emptyCounts() };
    }
    return { placed: true, gpu: best, freshGpu: best.instanceCount === 0 };
  };

  return {
    kind,
    cluster,
    choose,
    place(request) {
      const c = choose(request);
      if (!c.placed) return c;
      const id = request.id ?? newId(request);
      const instance = cluster.add(
        { ...request, id, exclusive: policy.exclusive || undefined },
        { nodeId: c.gpu.nodeId, gpuIndex: c.gpu.gpuIndex },
      );
      return { placed: true, instance, freshGpu: c.freshGpu };
    },
    check(request, ref) {
      validateInstanceRequest(request);
      const g = cluster.gpu(ref);
      return rejectOn(policy, g, g, request);
    },
    remove: id => cluster.remove(id),
    resize(id, change) {
      const inst = cluster.instance(id);
      const next = validateInstanceChange(inst, change);
      const g = cluster.gpu(inst);
      const why = rejectOn(policy, g, loadWithout(g, inst), next);
      if (why !== undefined) return { resized: false, reason: why };
      return { resized: true, instance: cluster.update(id, change) };
    },
  };
}

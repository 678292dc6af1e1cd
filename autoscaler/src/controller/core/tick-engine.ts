import type { V1Pod } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import type { Predictor } from '../../model/index.js';
import type {
  CoScalingPolicy,
  Decision,
  InstanceSizer,
  InstanceSizing,
  LoadObservation,
  PolicyState,
} from '../../policy/index.js';
import type { NodeAgentClient } from '../nodeagent/node-agent-client.js';
import { createAllocationCache } from './allocation-cache.js';
import type { AutoscalerMetrics, FunctionState } from './autoscaler-metrics.js';
import type { AllocationIndex } from './instances.js';
import { instanceViews } from './instances.js';
import type { PlannedQuota, QuotaOutcome } from './quota-actuator.js';
import { applyQuotaChanges } from './quota-actuator.js';
import type {
  DecisionStore,
  FunctionSource,
  LoadSource,
  ManagedFunction,
  PredictorSource,
} from './types.js';

export interface TickReport {
  readonly functions: number;
  readonly decided: number;
  readonly errors: number;
  readonly quota: QuotaOutcome;
  /** Functions whose horizontal decision changed (their reconcile was requested). */
  readonly horizontalChanges: number;
  readonly durationMs: number;
}

export interface TickEngineDeps {
  readonly source: FunctionSource;
  readonly load: LoadSource;
  readonly predictors: PredictorSource;
  readonly agents: NodeAgentClient;
  readonly policy: CoScalingPolicy;
  readonly sizer: InstanceSizer;
  readonly decisions: DecisionStore;
  /** Called for each function whose horizontal decision changed (enqueue its reconcile). */
  readonly onHorizontal: (fn: ManagedFunction) => void;
  readonly metrics: AutoscalerMetrics;
  readonly log: Logger;
  readonly now: () => number;
  /** Write fence: only the leader changes anything. */
  readonly isLeader: () => boolean;
  readonly agentConcurrency?: number;
  /** Longest time a node agent goes unread while nothing on it changed. */
  readonly agentResyncMs?: number;
}

export interface TickEngine {
  tick(): Promise<TickReport>;
  /** Forgets what the engine remembers (policy states): a new leader starts from the cluster. */
  reset(): void;
  /** Policy state of a function (for tests and debugging). */
  stateOf(key: string): PolicyState | undefined;
}

/**
 * One autoscaler tick over every function: read the node agents and the load, run the
 * co-scaling policy per function (errors isolated per function), apply the vertical changes
 * through the node agents, then hand the horizontal ones to the reconcilers.
 */
export function createTickEngine(deps: TickEngineDeps): TickEngine {
  // One record per function rather than a map per kind of memory: a tick over 10,000
  // functions then makes one lookup per function, and touches one object, instead of several.
  const slots = new Map<string, FunctionSlot>();
  let tickSeq = 0;
  const allocations = createAllocationCache({
    agents: deps.agents,
    log: deps.log,
    metrics: deps.metrics,
    resyncMs: deps.agentResyncMs ?? 10_000,
    ...(deps.agentConcurrency === undefined ? {} : { concurrency: deps.agentConcurrency }),
  });
  const podsOf = (fn: ManagedFunction): readonly V1Pod[] => slots.get(fn.key)?.pods ?? NO_PODS;
  const invalidateNode = (node: string): void => {
    allocations.invalidate(node);
  };

  const fallbackSizing = (slot: FunctionSlot, d: Predictor): InstanceSizing => {
    const spec = slot.fn.spec;
    return (
      slot.lastNew ??
      deps.sizer.size(d, {
        class: spec?.class,
        sloMs: spec?.sloMs,
        fixed: spec?.fixed,
        memoryMiB: spec?.memoryMiB,
        knobs: spec?.knobs,
      })
    );
  };

  interface Ctx {
    readonly nowS: number;
    readonly nowMs: number;
    readonly allocations: AllocationIndex;
    readonly load: ReadonlyMap<string, LoadObservation>;
    readonly planned: PlannedQuota[];
    readonly changed: ManagedFunction[];
    readonly counts: Record<FunctionState, number>;
  }

  const decideOne = (slot: FunctionSlot, ctx: Ctx): boolean => {
    const fn = slot.fn;
    if (fn.spec === undefined) {
      ctx.counts.invalid++;
      return false;
    }
    const predictor = deps.predictors.predictorFor(fn);
    if (predictor === undefined) {
      ctx.counts['no-profile']++;
      return false;
    }
    ctx.counts.managed++;
    const instances = instanceViews(
      slot.pods,
      ctx.allocations,
      fallbackSizing(slot, predictor),
      invalidateNode,
    );
    const load = ctx.load.get(fn.key);
    const d = deps.policy.decide({
      spec: fn.spec,
      predictor,
      instances,
      load: load ?? NO_LOAD,
      nowS: ctx.nowS,
      state: slot.state,
    });
    slot.state = d.state;
    slot.lastNew = d.newInstance;
    for (const change of d.quotaChanges) {
      ctx.planned.push({ functionKey: fn.key, namespace: fn.namespace, change });
    }
    recordHorizontal(fn, d, ctx);
    deps.metrics.observeDecision(fn, d, instances, load);
    if (d.reasons.length > 0 && deps.log.isLevelEnabled('info')) {
      deps.log.info(
        {
          function: fn.key,
          desired: d.desiredReplicas,
          quotas: d.quotaChanges.length,
          reasons: d.reasons.map(r => r.code),
        },
        d.reasons.map(r => r.message).join('; '),
      );
    }
    return true;
  };

  const recordHorizontal = (fn: ManagedFunction, d: Decision, ctx: Ctx): void => {
    const prev = deps.decisions.get(fn.key);
    const same =
      prev !== undefined &&
      prev.desiredReplicas === d.desiredReplicas &&
      sameIds(prev.remove, d.remove) &&
      sameInstance(prev.newInstance, d.newInstance);
    if (same) return;
    deps.decisions.set(fn.key, {
      desiredReplicas: d.desiredReplicas,
      remove: d.remove,
      newInstance: d.newInstance,
      sloMs: fn.spec?.sloMs,
      atMs: ctx.nowMs,
    });
    ctx.changed.push(fn);
  };

  /**
   * This tick's records, in the source's order, with their pods read once; the records of
   * functions that are gone are dropped with everything remembered about them.
   */
  const slotsFor = (
    fns: readonly ManagedFunction[],
    podCounts: Map<string, number>,
  ): FunctionSlot[] => {
    const seq = ++tickSeq;
    const out = new Array<FunctionSlot>(fns.length);
    let fresh = 0;
    for (let i = 0; i < fns.length; i++) {
      const fn = fns[i] as ManagedFunction;
      let slot = slots.get(fn.key);
      if (slot === undefined) {
        slot = { fn, pods: NO_PODS, state: undefined, lastNew: undefined, seenAt: 0 };
        slots.set(fn.key, slot);
      }
      if (slot.seenAt !== seq) fresh++;
      slot.fn = fn;
      slot.seenAt = seq;
      slot.pods = deps.source.pods(fn);
      for (const p of slot.pods) {
        const node = p.spec?.nodeName;
        if (node !== undefined) podCounts.set(node, (podCounts.get(node) ?? 0) + 1);
      }
      out[i] = slot;
    }
    // Every record still held was seen this tick unless there are more records than keys.
    if (slots.size > fresh) {
      for (const [key, slot] of slots) {
        if (slot.seenAt === seq) continue;
        slots.delete(key);
        deps.decisions.delete(key);
        deps.metrics.forgetFunction(slot.fn);
      }
    }
    return out;
  };

  return {
    async tick() {
      const t0 = performance.now();
      const nowMs = deps.now();
      const fns = deps.source.functions();
      const podCounts = new Map<string, number>();
      const current = slotsFor(fns, podCounts);
      const [, load] = await Promise.all([
        allocations.refresh(podCounts, nowMs),
        deps.load.observe(fns, podsOf),
      ]);
      const ctx: Ctx = {
        nowS: nowMs / 1000,
        nowMs,
        allocations: allocations.store,
        load,
        planned: [],
        changed: [],
        counts: { managed: 0, 'no-profile': 0, invalid: 0 },
      };
      let decided = 0;
      let errors = 0;
      // Indexed: the loop runs once per function and must not allocate per step.
      for (let i = 0; i < current.length; i++) {
        const slot = current[i] as FunctionSlot;
        try {
          if (decideOne(slot, ctx)) decided++;
        } catch (err) {
          errors++;
          deps.metrics.functionError(err instanceof Error ? err.name : 'error');
          deps.log.error(
            { function: slot.fn.key, err: String(err) },
            'function not decided this tick',
          );
        }
      }
      const quota = await applyQuotaChanges(ctx.planned, {
        agents: deps.agents,
        allocations: allocations.store,
        log: deps.log,
        isLeader: deps.isLeader,
      });
      let up = 0;
      for (const p of ctx.planned) if (p.change.to > p.change.from) up++;
      deps.metrics.quotaChanges({ up, down: ctx.planned.length - up }, quota);
      // Horizontal after vertical: the reconcilers act once the quotas are in place.
      for (const fn of ctx.changed) deps.onHorizontal(fn);
      deps.metrics.functionsByState(ctx.counts);
      const durationMs = performance.now() - t0;
      deps.metrics.observeTick(durationMs / 1000);
      return {
        functions: fns.length,
        decided,
        errors,
        quota,
        horizontalChanges: ctx.changed.length,
        durationMs,
      };
    },
    reset() {
      for (const slot of slots.values()) {
        slot.state = undefined;
        slot.lastNew = undefined;
      }
      deps.decisions.clear();
    },
    stateOf: key => slots.get(key)?.state,
  };
}

/** What the engine remembers about one function between ticks. */
interface FunctionSlot {
  fn: ManagedFunction;
  /** This tick's pods (from the source, read once per tick). */
  pods: readonly V1Pod[];
  state: PolicyState | undefined;
  /** The latest decision's new-instance configuration (the fallback for unmapped pods). */
  lastNew: InstanceSizing | undefined;
  /** The tick that last saw the function. */
  seenAt: number;
}

const NO_PODS: readonly V1Pod[] = Object.freeze([]);
const NO_LOAD: LoadObservation = Object.freeze({});

function sameInstance(a: InstanceSizing, b: InstanceSizing): boolean {
  return (
    a.batch === b.batch &&
    a.smRequest === b.smRequest &&
    a.smLimit === b.smLimit &&
    a.memoryMiB === b.memoryMiB
  );
}

function sameIds(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

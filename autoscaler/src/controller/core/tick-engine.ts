import type { V1Pod } from '@kubernetes/client-node';
import type { Logger } from 'pino';
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
  HorizontalDecision,
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
  const states = new Map<string, PolicyState>();
  const allocations = createAllocationCache({
    agents: deps.agents,
    log: deps.log,
    metrics: deps.metrics,
    resyncMs: deps.agentResyncMs ?? 10_000,
    ...(deps.agentConcurrency === undefined ? {} : { concurrency: deps.agentConcurrency }),
  });
  const lastNew = new Map<string, InstanceSizing>();
  const known = new Map<string, ManagedFunction>();

  const fallbackSizing = (
    fn: ManagedFunction,
    d: Parameters<InstanceSizer['size']>[0],
  ): InstanceSizing => {
    const spec = fn.spec;
    return (
      lastNew.get(fn.key) ??
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
    readonly pods: ReadonlyMap<string, readonly V1Pod[]>;
    readonly allocations: AllocationIndex;
    readonly load: ReadonlyMap<string, LoadObservation>;
    readonly planned: PlannedQuota[];
    readonly changed: ManagedFunction[];
    readonly counts: Record<FunctionState, number>;
  }

  const decideOne = (fn: ManagedFunction, ctx: Ctx): boolean => {
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
      ctx.pods.get(fn.key) ?? [],
      ctx.allocations,
      fallbackSizing(fn, predictor),
      node => {
        allocations.invalidate(node);
      },
    );
    const load = ctx.load.get(fn.key);
    const d = deps.policy.decide({
      spec: fn.spec,
      predictor,
      instances,
      load: load ?? {},
      nowS: ctx.nowS,
      state: states.get(fn.key),
    });
    states.set(fn.key, d.state);
    lastNew.set(fn.key, d.newInstance);
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
    const next: HorizontalDecision = {
      desiredReplicas: d.desiredReplicas,
      remove: d.remove,
      newInstance: d.newInstance,
      sloMs: fn.spec?.sloMs,
      atMs: ctx.nowMs,
    };
    const same =
      prev !== undefined &&
      prev.desiredReplicas === next.desiredReplicas &&
      sameIds(prev.remove, next.remove) &&
      sameInstance(prev.newInstance, next.newInstance);
    if (same) return;
    deps.decisions.set(fn.key, next);
    ctx.changed.push(fn);
  };

  const forgetGone = (fns: readonly ManagedFunction[]): void => {
    const now = new Set(fns.map(f => f.key));
    for (const [key, fn] of known) {
      if (now.has(key)) continue;
      known.delete(key);
      states.delete(key);
      lastNew.delete(key);
      deps.decisions.delete(key);
      deps.metrics.forgetFunction(fn);
    }
    for (const fn of fns) known.set(fn.key, fn);
  };

  return {
    async tick() {
      const t0 = performance.now();
      const nowMs = deps.now();
      const fns = deps.source.functions();
      forgetGone(fns);
      const pods = new Map<string, readonly V1Pod[]>();
      const podCounts = new Map<string, number>();
      for (const fn of fns) {
        const list = deps.source.pods(fn);
        pods.set(fn.key, list);
        for (const p of list) {
          const node = p.spec?.nodeName;
          if (node !== undefined) podCounts.set(node, (podCounts.get(node) ?? 0) + 1);
        }
      }
      const [, load] = await Promise.all([
        allocations.refresh(podCounts, nowMs),
        deps.load.observe(fns, fn => pods.get(fn.key) ?? []),
      ]);
      const ctx: Ctx = {
        nowS: nowMs / 1000,
        nowMs,
        pods,
        allocations: allocations.store,
        load,
        planned: [],
        changed: [],
        counts: { managed: 0, 'no-profile': 0, invalid: 0 },
      };
      let decided = 0;
      let errors = 0;
      for (const fn of fns) {
        try {
          if (decideOne(fn, ctx)) decided++;
        } catch (err) {
          errors++;
          deps.metrics.functionError(err instanceof Error ? err.name : 'error');
          deps.log.error({ function: fn.key, err: String(err) }, 'function not decided this tick');
        }
      }
      const quota = await applyQuotaChanges(ctx.planned, {
        agents: deps.agents,
        allocations: allocations.store,
        log: deps.log,
        isLeader: deps.isLeader,
      });
      deps.metrics.quotaChanges(
        {
          up: ctx.planned.filter(p => p.change.to > p.change.from).length,
          down: ctx.planned.filter(p => p.change.to < p.change.from).length,
        },
        quota,
      );
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
      states.clear();
      lastNew.clear();
      deps.decisions.clear();
    },
    stateOf: key => states.get(key),
  };
}

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

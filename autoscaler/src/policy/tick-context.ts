import type { InstanceFigures } from './fleet.js';
import type { PolicyKnobs } from './knobs.js';
import type { SizingHandle } from './sizer.js';
import type { InstanceSizing } from './sizing.js';
import type { FunctionSpec } from './spec.js';
import type { DraftState } from './state.js';
import type { Reason, ReasonCode } from './types.js';

/** What one decision works with; built once per tick by decide(). */
export interface TickContext {
  readonly spec: FunctionSpec;
  readonly knobs: PolicyKnobs;
  readonly nowS: number;
  readonly figures: readonly InstanceFigures[];
  /** The function's (corrected) model and sizing. */
  readonly handle: SizingHandle;
  /** Latency margin in force (>= 1). */
  readonly margin: number;
  /** The remembered load peak (decayed), rps: what the fleet keeps instances for. */
  readonly peakRps: number;
  readonly readyCount: number;
  /** Configuration of new instances: the fleet's own, or the load-optimal one on a resize. */
  sizing: InstanceSizing;
  /** The configuration sizing chooses for the current forecast. */
  readonly bestSizing: InstanceSizing;
  /** What a new instance of `sizing` serves at its limit (throughput and latency), rps. */
  newCapacityRps: number;
  /** Load provisioned for now, rps. */
  readonly predictedRps: number;
  /** Load forecast at the cold-start horizon, rps. */
  readonly forecastRps: number;
  /** Short-window (panic window) load, rps. */
  readonly shortRps: number;
  readonly waiting: number;
  /** Seconds from creating an instance until it serves: model load + pod start. */
  readonly coldStartS: number;
  panic: boolean;
  /** Observed latency is near the SLO while load is within capacity. */
  readonly latencyAlarm: boolean;
  readonly scaleBounds: { readonly lo: number; readonly hi: number };
  readonly state: DraftState;
  readonly reasons: Reason[];
}

export function addReason(ctx: TickContext, code: ReasonCode, message: string): void {
  ctx.reasons.push({ code, message });
}

/** Formats a rate for reasons: whole rps above 10, one decimal below. */
export function rps(v: number): string {
  return v >= 10 ? v.toFixed(0) : v.toFixed(1);
}

import type { Rng } from '../rng.js';

/**
 * Request arrivals of one function, pulled in time order: each call returns the next arrival
 * time in seconds since the scenario start, or Infinity once there are no more. Streams are
 * generated lazily so that a large synthetic scenario never holds all its arrivals at once.
 */
export type ArrivalStream = () => number;

export interface TraceReplay {
  /** Arrival times of the trace, ascending, starting near 0. */
  readonly times: Float64Array;
  /** Length of one pass of the trace in trace seconds (at least the last arrival). */
  readonly spanSeconds: number;
  /** Trace seconds skipped before the replay starts. @default 0 */
  readonly offsetSeconds?: number | undefined;
  /** Simulated seconds per trace second: 0.5 replays twice as fast. @default 1 */
  readonly timeScale?: number | undefined;
  /**
   * Requests per trace request. Integer part: copies; fractional part: one more copy with
   * that probability. Copies are spread uniformly over one second around the original, which
   * keeps the trace's per-second shape while multiplying its rate. @default 1
   */
  readonly rateMultiplier?: number | undefined;
  /** Start over when the trace ends. @default false */
  readonly loop?: boolean | undefined;
}

/**
 * Replays a request-per-row trace: from `offsetSeconds` to its end, then (with `loop`) from
 * its start again, again and again, each pass `spanSeconds` long; times are stretched by
 * `timeScale` and every request is copied per `rateMultiplier`.
 */
export function traceStream(replay: TraceReplay, rng: Rng): ArrivalStream {
  const scale = replay.timeScale ?? 1;
  const span = Math.max(replay.spanSeconds, replay.times.at(-1) ?? 0, 1e-9);
  const offset = Math.min(replay.offsetSeconds ?? 0, span);
  const loop = replay.loop ?? false;
  const pass = multiply(replay.times, replay.rateMultiplier ?? 1, span, rng);
  let i = 0;
  while (i < pass.length && (pass[i] ?? 0) < offset) i++;
  // Simulated time = (trace time + base) x scale; the first pass starts at the offset.
  let base = -offset;
  return () => {
    if (i >= pass.length) {
      if (!loop || pass.length === 0) return Infinity;
      i = 0;
      base += span;
    }
    return ((pass[i++] ?? 0) + base) * scale;
  };
}

/**
 * Copies each request per the multiplier. The first copy keeps the original time, so a
 * multiplier of 1.x leaves the trace itself in place; the others are spread uniformly over one
 * second around it, wrapping around the trace's span so no copies bunch at its ends.
 */
function multiply(times: Float64Array, m: number, span: number, rng: Rng): Float64Array {
  if (m === 1) return times;
  const whole = Math.floor(m);
  const frac = m - whole;
  const out: number[] = [];
  for (const t of times) {
    const copies = whole + (rng.next() < frac ? 1 : 0);
    for (let c = 0; c < copies; c++) {
      if (c === 0) {
        out.push(t);
        continue;
      }
      let u = t + rng.next() - 0.5;
      if (u < 0) u += span;
      else if (u >= span) u -= span;
      out.push(u);
    }
  }
  return Float64Array.from(out).sort();
}

/**
 * Poisson arrivals whose rate is constant within each interval of a piecewise-constant
 * series (requests per second per interval). Exact: by memorylessness, an exponential gap
 * that crosses an interval boundary is redrawn from the boundary at the new rate.
 */
export function piecewisePoissonStream(
  rates: Float64Array,
  intervalSeconds: number,
  loop: boolean,
  rng: Rng,
): ArrivalStream {
  let t = 0;
  let k = 0;
  return () => {
    for (;;) {
      if (k >= rates.length) {
        if (!loop) return Infinity;
        k = 0;
      }
      const end = (Math.floor(t / intervalSeconds + 1e-12) + 1) * intervalSeconds;
      const r = rates[k] ?? 0;
      const next = r > 0 ? t + rng.exponential(r) : Infinity;
      if (next < end) {
        t = next;
        return t;
      }
      t = end;
      k++;
    }
  };
}

/** Homogeneous Poisson arrivals. */
export function poissonStream(rps: number, rng: Rng): ArrivalStream {
  let t = 0;
  return () => {
    if (!(rps > 0)) return Infinity;
    t += rng.exponential(rps);
    return t;
  };
}

export interface BurstyOptions {
  readonly baseRps: number;
  readonly burstRps: number;
  /** Mean length of a burst (exponentially distributed). */
  readonly meanBurstSeconds: number;
  /** Mean time between bursts (exponentially distributed). */
  readonly meanGapSeconds: number;
}

/** On/off Markov-modulated Poisson arrivals: the base rate, with bursts at the burst rate. */
export function burstyStream(o: BurstyOptions, rng: Rng): ArrivalStream {
  let t = 0;
  let inBurst = false;
  let switchAt = rng.exponential(1 / o.meanGapSeconds);
  return () => {
    for (;;) {
      const r = inBurst ? o.burstRps : o.baseRps;
      const next = r > 0 ? t + rng.exponential(r) : Infinity;
      if (next < switchAt) {
        t = next;
        return t;
      }
      t = switchAt;
      inBurst = !inBurst;
      switchAt = t + rng.exponential(1 / (inBurst ? o.meanBurstSeconds : o.meanGapSeconds));
    }
  };
}

export interface DiurnalOptions {
  readonly meanRps: number;
  /** Relative swing around the mean, 0..1. */
  readonly amplitude: number;
  readonly periodSeconds: number;
  /** Phase in fractions of a period (0..1). */
  readonly phase: number;
}

/** Poisson arrivals with a sinusoidal rate, drawn by thinning at the peak rate. */
export function diurnalStream(o: DiurnalOptions, rng: Rng): ArrivalStream {
  const peak = o.meanRps * (1 + o.amplitude);
  let t = 0;
  return () => {
    if (!(peak > 0)) return Infinity;
    for (;;) {
      t += rng.exponential(peak);
      const rate =
        o.meanRps * (1 + o.amplitude * Math.sin(2 * Math.PI * (t / o.periodSeconds + o.phase)));
      if (rng.next() * peak <= rate) return t;
    }
  };
}

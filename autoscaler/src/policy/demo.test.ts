import { describe, expect, it } from '@jest/globals';
import { instanceCapacityRps } from '../model/index.js';
import { createCoScalingPolicy } from './decide.js';
import { sizeInstance } from './sizing.js';
import { parseFunctionSpec } from './spec.js';
import { bundledPredictor } from './test-fixtures.js';
import type { Decision, InstanceView, PolicyState } from './types.js';

/**
 * Demonstration on the measured ResNet152 profile (A100, Dilu authors) with a 400 ms SLO
 * (the policy sizes batch 16 at l = 10 %, r = 6 %): eight minutes of synthetic seconds
 * where the load rises from 60 to 600 rps and falls back. The fleet is replayed as the controller would apply the decisions: quota changes
 * at once, new instances ready after the cold start, removals at once.
 */
interface Sim {
  readonly events: { t: number; kind: 'quota-up' | 'quota-down' | 'add' | 'remove' }[];
  readonly served: number;
  readonly offered: number;
  readonly smSeconds: number;
  readonly peakInstances: number;
  readonly timeline: string[];
}

function load(t: number): number {
  if (t < 60) return 60;
  if (t < 180) return 60 + ((t - 60) / 120) * 540;
  if (t < 240) return 600;
  if (t < 360) return 600 - ((t - 240) / 120) * 540;
  return 60;
}

function simulate(seconds: number): Sim {
  const model = 'resnet152';
  const slo = 400;
  const predictor = bundledPredictor(model, 8);
  // The remembered peak halves every minute here (default: every 30 min), so the eight
  // minutes show the whole cycle; with the default, keep-alive holds the instances that
  // reach the peak for half an hour after it.
  const spec = parseFunctionSpec({
    name: model,
    sloMs: slo,
    minScale: 1,
    knobs: { burstHalfLifeS: 60 },
  });
  const policy = createCoScalingPolicy();
  const first = sizeInstance(predictor, { sloMs: slo, loadRps: load(0) });
  type Live = InstanceView & { readyAt: number };
  let fleet: Live[] = [
    {
      id: 'i0',
      batch: first.batch,
      smRequest: first.smRequest,
      smLimit: first.smLimit,
      quota: first.smRequest,
      ready: true,
      quotaHeadroom: 100 - first.smRequest,
      createdAtS: -100,
      readyAt: -100,
    },
  ];
  let state: PolicyState | undefined;
  let next = 1;
  const events: Sim['events'] = [];
  const timeline: string[] = [];
  let served = 0;
  let offered = 0;
  let smSeconds = 0;
  let peakInstances = 1;
  for (let t = 0; t < seconds; t++) {
    fleet = fleet.map(x => ({ ...x, ready: t >= x.readyAt, quotaHeadroom: 100 - x.quota }));
    const rps = load(t);
    const capacity = fleet
      .filter(x => x.ready)
      .reduce((s, x) => s + instanceCapacityRps(predictor, x), 0);
    offered += rps;
    served += Math.min(rps, capacity);
    smSeconds += fleet.reduce((s, x) => s + x.quota, 0);
    const d: Decision = policy.decide({
      spec,
      instances: fleet,
      load: { samples: [rps] },
      predictor,
      nowS: t,
      state,
    });
    state = d.state;
    for (const c of d.quotaChanges) {
      events.push({ t, kind: c.to > c.from ? 'quota-up' : 'quota-down' });
      fleet = fleet.map(x => (x.id === c.id ? { ...x, quota: c.to } : x));
    }
    if (d.remove.length > 0) events.push({ t, kind: 'remove' });
    fleet = fleet.filter(x => !d.remove.includes(x.id));
    for (let i = 0; i < d.add; i++) {
      events.push({ t, kind: 'add' });
      const s = d.newInstance;
      fleet.push({
        id: `i${next++}`,
        batch: s.batch,
        smRequest: s.smRequest,
        smLimit: s.smLimit,
        quota: s.smRequest,
        ready: false,
        quotaHeadroom: 100,
        createdAtS: t,
        readyAt: t + d.figures.coldStartS,
      });
    }
    peakInstances = Math.max(peakInstances, fleet.length);
    if (d.reasons.length > 0) {
      timeline.push(`${t}s ${rps.toFixed(0)} rps: ${d.reasons.map(r => r.code).join(', ')}`);
    }
  }
  return { events, served, offered, smSeconds, peakInstances, timeline };
}

describe('demonstration: rising then falling load', () => {
  const sim = simulate(480);
  const firstOf = (kind: Sim['events'][number]['kind'], from = 0, to = 480): number =>
    sim.events.find(e => e.kind === kind && e.t >= from && e.t < to)?.t ?? Infinity;

  it('raises quotas before it adds replicas on the way up', () => {
    const up = firstOf('quota-up', 60, 240);
    const add = firstOf('add', 60, 240);
    expect(up).toBeLessThan(add);
    expect(add).toBeLessThan(240);
  });

  it('lowers quotas before it removes replicas on the way down', () => {
    const down = firstOf('quota-down', 240);
    const remove = firstOf('remove', 240);
    expect(down).toBeLessThan(remove);
    expect(remove).toBeLessThan(480);
  });

  it('serves the load throughout and gives the GPU back afterwards', () => {
    expect(sim.served / sim.offered).toBeGreaterThan(0.995);
    expect(sim.peakInstances).toBeGreaterThan(1);
    // Scaled back to what 60 rps needs: the final instance count is small again.
    const timeline = sim.timeline.join('\n');
    expect(timeline).toMatch(/quota-up/);
    expect(timeline).toMatch(/scale-out|resize/);
    expect(timeline).toMatch(/quota-down/);
    expect(timeline).toMatch(/scale-in/);
  });
});

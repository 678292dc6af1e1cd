import { describe, expect, it } from '@jest/globals';
import type { V1Pod } from '@kubernetes/client-node';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import type { Predictor } from '../../model/index.js';
import { createPredictor, loadProfile } from '../../model/index.js';
import type { LoadObservation } from '../../policy/index.js';
import {
  createCoScalingPolicy,
  createInstanceSizer,
  parseFunctionSpec,
} from '../../policy/index.js';
import { createInMemoryAgents } from '../testing/in-memory-agents.js';
import { AutoscalerMetrics } from './autoscaler-metrics.js';
import { applyQuotaChanges } from './quota-actuator.js';
import { buildAllocationIndex } from './instances.js';
import { createTickEngine } from './tick-engine.js';
import type { ManagedFunction } from './types.js';
import { createDecisionStore } from './types.js';

const predictor = createPredictor(
  loadProfile(
    fileURLToPath(new URL('../../../data/profiles/dilu-a100/bs_sm_resnet152.csv', import.meta.url)),
  ),
);
const log = pino({ level: 'silent' });
const NOW = 1_800_000_000_000;

function fn(name: string): ManagedFunction {
  return {
    key: `knative/ns/${name}`,
    mode: 'knative',
    namespace: 'ns',
    name,
    deployment: `${name}-deployment`,
    spec: parseFunctionSpec({
      name,
      sloMs: 400,
      minScale: 1,
      fixed: { batch: 16, smRequest: 6, smLimit: 12 },
    }),
    problems: [],
    profile: { namespace: 'ns', name },
    functionLabel: `knative.ns.${name}`,
  };
}

function pod(name: string, node: string): V1Pod {
  return {
    metadata: {
      name,
      namespace: 'ns',
      creationTimestamp: new Date(NOW - 60_000),
      annotations: {
        'dilu.dev/decision': JSON.stringify({ batch: 16, smRequest: 6, smLimit: 12 }),
      },
    },
    spec: { nodeName: node, containers: [] },
    status: { conditions: [{ type: 'Ready', status: 'True' }] },
  };
}

function setup(opts: {
  fns: ManagedFunction[];
  load: (fn: ManagedFunction) => LoadObservation | undefined;
  predictors?: (fn: ManagedFunction) => Predictor | undefined;
  leader?: boolean;
}) {
  const agents = createInMemoryAgents();
  const pods = new Map<string, V1Pod[]>();
  for (const [i, f] of opts.fns.entries()) {
    const p = pod(`${f.name}-0`, 'node-a');
    pods.set(f.key, [p]);
    agents.put('node-a', {
      allocationId: `a-${String(i).padStart(16, '0')}`,
      gpuIndex: 0,
      gpuUuid: 'GPU-a',
      smRequest: 6,
      smLimit: 12,
      quota: 6,
      memoryMiB: 4096,
      generation: 1,
      pod: { namespace: 'ns', name: `${f.name}-0`, uid: 'u', container: 'c' },
    });
  }
  const horizontal: string[] = [];
  const decisions = createDecisionStore();
  const sizer = createInstanceSizer();
  const metrics = new AutoscalerMetrics({ defaultMetrics: false });
  let now = NOW;
  const engine = createTickEngine({
    source: { functions: () => opts.fns, pods: f => pods.get(f.key) ?? [] },
    load: {
      observe: fns => {
        const m = new Map<string, LoadObservation>();
        for (const f of fns) {
          const o = opts.load(f);
          if (o !== undefined) m.set(f.key, o);
        }
        return Promise.resolve(m);
      },
    },
    predictors: { predictorFor: opts.predictors ?? (() => predictor) },
    agents,
    policy: createCoScalingPolicy({ sizer }),
    sizer,
    decisions,
    onHorizontal: f => horizontal.push(f.key),
    metrics,
    log,
    now: () => now,
    isLeader: () => opts.leader ?? true,
  });
  const advance = (ms: number): void => {
    now += ms;
  };
  return { engine, agents, horizontal, decisions, advance, metrics };
}

describe('createTickEngine', () => {
  it('raises the quota of a loaded instance through the node agent', async () => {
    const { engine, agents } = setup({ fns: [fn('busy')], load: () => ({ samples: [120] }) });
    const r = await engine.tick();
    expect(r).toMatchObject({ functions: 1, decided: 1, errors: 0 });
    expect(r.quota.applied).toBe(1);
    expect(agents.get('node-a', 'a-0000000000000000')?.quota).toBeGreaterThan(6);
  });

  it('holds scale and quotas when a function has no metrics this tick', async () => {
    const { engine, agents, decisions } = setup({ fns: [fn('quiet')], load: () => undefined });
    const r = await engine.tick();
    expect(r.quota.applied).toBe(0);
    expect(agents.log).toEqual([]);
    expect(decisions.get('knative/ns/quiet')?.desiredReplicas).toBe(1);
  });

  it('keeps deciding the other functions when one fails', async () => {
    const broken = fn('broken');
    const { engine, agents } = setup({
      fns: [broken, fn('fine')],
      load: () => ({ samples: [120] }),
      predictors: f => {
        if (f.name === 'broken') throw new Error('profile store exploded');
        return predictor;
      },
    });
    const r = await engine.tick();
    expect(r).toMatchObject({ functions: 2, decided: 1, errors: 1 });
    expect(agents.get('node-a', 'a-0000000000000001')?.quota).toBeGreaterThan(6);
  });

  it('leaves functions without a profile or with bad settings undecided', async () => {
    const invalid = { ...fn('bad'), spec: undefined };
    const { engine, agents } = setup({
      fns: [invalid, fn('noprofile')],
      load: () => ({ samples: [120] }),
      predictors: f => (f.name === 'noprofile' ? undefined : predictor),
    });
    const r = await engine.tick();
    expect(r).toMatchObject({ decided: 0, errors: 0 });
    expect(agents.log).toEqual([]);
  });

  it('asks for a reconcile only when the horizontal decision changes', async () => {
    const { engine, horizontal, advance } = setup({
      fns: [fn('f')],
      load: () => ({ samples: [20] }),
    });
    await engine.tick();
    advance(1000);
    await engine.tick();
    expect(horizontal).toEqual(['knative/ns/f']);
  });

  it('forgets a function that is gone, and starts afresh when it comes back', async () => {
    const fns = [fn('stays'), fn('goes')];
    const { engine, decisions, advance } = setup({ fns, load: () => ({ samples: [20] }) });
    await engine.tick();
    expect(engine.stateOf('knative/ns/goes')?.lastTickS).toBe(NOW / 1000);
    const gone = fns.splice(1, 1);
    advance(1000);
    await engine.tick();
    expect(engine.stateOf('knative/ns/goes')).toBeUndefined();
    expect(decisions.get('knative/ns/goes')).toBeUndefined();
    expect(engine.stateOf('knative/ns/stays')?.lastTickS).toBe(NOW / 1000 + 1);
    fns.push(...gone);
    advance(1000);
    await engine.tick();
    // A state carried over would have seen three samples.
    expect(engine.stateOf('knative/ns/goes')?.load.samples).toBe(1);
    expect(engine.stateOf('knative/ns/stays')?.load.samples).toBe(3);
    expect(decisions.get('knative/ns/goes')?.desiredReplicas).toBe(1);
  });

  it('counts decisions by kind once, whenever the registry is read', async () => {
    const { engine, metrics, advance } = setup({
      fns: [fn('a'), fn('b')],
      load: () => ({ samples: [120] }),
    });
    await engine.tick();
    const kind = /dilu_autoscaler_decisions_total\{kind="quota-up"\} (\d+)/;
    expect(Number(kind.exec(await metrics.text())?.[1])).toBe(2);
    expect(Number(kind.exec(await metrics.text())?.[1])).toBe(2);
    advance(1000);
    await engine.tick();
    expect(Number(kind.exec(await metrics.text())?.[1])).toBeGreaterThanOrEqual(2);
  });

  it('writes nothing when it is not the leader', async () => {
    const { engine, agents } = setup({
      fns: [fn('busy')],
      load: () => ({ samples: [120] }),
      leader: false,
    });
    await engine.tick();
    expect(agents.log).toEqual([]);
  });
});

describe('applyQuotaChanges', () => {
  it("applies decreases before increases, so one function's freed quota funds another's raise", async () => {
    const agents = createInMemoryAgents();
    const base = {
      gpuIndex: 0,
      gpuUuid: 'G',
      smRequest: 10,
      smLimit: 80,
      memoryMiB: 1,
      generation: 1,
    };
    agents.put('n', {
      ...base,
      allocationId: 'a-1',
      quota: 70,
      pod: { namespace: 'ns', name: 'shrinking' },
    });
    agents.put('n', {
      ...base,
      allocationId: 'a-2',
      quota: 30,
      pod: { namespace: 'ns', name: 'growing' },
    });
    const allocations = buildAllocationIndex(new Map([['n', await agents.allocations('n')]]));
    const outcome = await applyQuotaChanges(
      [
        { functionKey: 'g', namespace: 'ns', change: { id: 'growing', from: 30, to: 60 } },
        { functionKey: 's', namespace: 'ns', change: { id: 'shrinking', from: 70, to: 40 } },
      ],
      { agents, allocations, log, isLeader: () => true },
    );
    expect(outcome).toEqual({ applied: 2, failed: 0, refused: 0 });
    expect(agents.log.map(l => [l.id, l.to])).toEqual([
      ['a-1', 40],
      ['a-2', 60],
    ]);
    expect(allocations.quotaSum('n', 0)).toBe(100);
  });
  it('counts a refusal (409) and carries on', async () => {
    const agents = createInMemoryAgents();
    const base = {
      gpuIndex: 0,
      gpuUuid: 'G',
      smRequest: 10,
      smLimit: 80,
      memoryMiB: 1,
      generation: 1,
    };
    agents.put('n', {
      ...base,
      allocationId: 'a-1',
      quota: 70,
      pod: { namespace: 'ns', name: 'x' },
    });
    agents.put('n', {
      ...base,
      allocationId: 'a-2',
      quota: 30,
      pod: { namespace: 'ns', name: 'y' },
    });
    const allocations = buildAllocationIndex(new Map([['n', await agents.allocations('n')]]));
    const outcome = await applyQuotaChanges(
      [{ functionKey: 'f', namespace: 'ns', change: { id: 'y', from: 30, to: 40 } }],
      { agents, allocations, log, isLeader: () => true },
    );
    expect(outcome).toEqual({ applied: 0, failed: 0, refused: 1 });
  });
});

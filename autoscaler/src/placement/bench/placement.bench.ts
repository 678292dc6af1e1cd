// Placement speed and packing, printed as figures: `npm run bench -w @dilu/autoscaler`.
import { performance } from 'node:perf_hooks';
import { createCluster } from '../cluster.js';
import { createFgdMeasure } from '../fgd.js';
import { fgdNodesFromCluster, fgdTaskFromRequest } from '../fgd-cluster.js';
import { createActiveGpuCounter, fragmentation } from '../fragmentation.js';
import type { PlacerKind } from '../placer.js';
import { createPlacer } from '../placer.js';
import type { NodeSpec } from '../types.js';
import { diluMix } from './dilu-mix.js';

const a100Nodes = (nodes: number): NodeSpec[] =>
  Array.from({ length: nodes }, (_, i) => ({
    id: `node-${String(i).padStart(4, '0')}`,
    gpus: Array.from({ length: 8 }, () => ({ model: 'A100-SXM4-40GB', memoryMiB: 40_960 })),
  }));

function at<T>(xs: readonly T[], i: number): T {
  const x = xs[i % xs.length];
  if (x === undefined) throw new Error(`no element ${i} in a list of ${xs.length}`);
  return x;
}

const POLICIES: readonly [PlacerKind, object | undefined][] = [
  ['dilu', undefined],
  ['best-fit', undefined],
  ['has-gpu', undefined],
  ['exclusive', undefined],
  ['equal-slice', { slots: 4 }],
];

/** Place/remove cost on a 1,000-GPU cluster kept about 70 % full. */
function speed(): void {
  console.log('\n# place + remove on 1,000 GPUs (125 nodes x 8 A100-40GB), cluster ~70 % full');
  console.log('policy       place µs/op  remove µs/op  fragmentation() µs  FGD measure ms');
  const events = diluMix(20_000, 1).filter(e => e.kind === 'arrive');
  for (const [kind, options] of POLICIES) {
    const cluster = createCluster(a100Nodes(125));
    const placer = createPlacer(kind, { cluster }, options as never);
    const live: string[] = [];
    let i = 0;
    // Warm up to the steady state.
    while (cluster.summary().activeGpus < 700 && i < events.length) {
      const r = placer.place(at(events, i++).request);
      if (r.placed) live.push(r.instance.id);
    }
    let placeMs = 0;
    let removeMs = 0;
    let ops = 0;
    for (let k = 0; k < 5000 && live.length > 0; k++) {
      const [victim = ''] = live.splice((k * 7919) % live.length, 1);
      let t = performance.now();
      placer.remove(victim);
      removeMs += performance.now() - t;
      t = performance.now();
      const r = placer.place(at(events, i++).request);
      placeMs += performance.now() - t;
      if (r.placed) live.push(r.instance.id);
      ops++;
    }
    let t = performance.now();
    for (let k = 0; k < 10_000; k++) fragmentation(cluster);
    const fragUs = ((performance.now() - t) / 10_000) * 1000;
    const measure = createFgdMeasure([
      { task: fgdTaskFromRequest(at(events, 0).request), popularity: 0.5 },
      { task: fgdTaskFromRequest(at(events, 1).request), popularity: 0.5 },
    ]);
    t = performance.now();
    measure.cluster(fgdNodesFromCluster(cluster));
    const fgdMs = performance.now() - t;
    console.log(
      `${kind.padEnd(12)} ${((placeMs / ops) * 1000).toFixed(1).padStart(11)}  ${(
        (removeMs / ops) *
        1000
      )
        .toFixed(2)
        .padStart(12)}  ${fragUs.toFixed(3).padStart(18)}  ${fgdMs.toFixed(2).padStart(14)}`,
    );
  }
}

/** Active GPUs and fragmentation under Dilu's simulator-style stream. */
function packing(arrivals: number): void {
  console.log(`\n# Dilu-style stream: ${arrivals} instances, 1 arrival/s, departures (4,000 GPUs)`);
  console.log('policy       peak GPUs  mean GPUs  SM frag@peak  mem frag@peak  not placed');
  const events = diluMix(arrivals, 2023);
  for (const [kind, options] of POLICIES) {
    const cluster = createCluster(a100Nodes(500));
    const placer = createPlacer(kind, { cluster }, options as never);
    const counter = createActiveGpuCounter();
    let failed = 0;
    let atPeak = fragmentation(cluster);
    for (const e of events) {
      if (e.kind === 'arrive') {
        const r = placer.place({ ...e.request, id: e.id });
        if (!r.placed) failed++;
      } else if (cluster.hasInstance(e.id)) {
        placer.remove(e.id);
      }
      const f = fragmentation(cluster);
      if (f.activeGpus >= atPeak.activeGpus) atPeak = f;
      counter.observe(e.t, f.activeGpus);
    }
    const s = counter.summary();
    console.log(
      `${kind.padEnd(12)} ${String(s.peak).padStart(9)}  ${s.mean.toFixed(0).padStart(9)}  ${atPeak.sm
        .toFixed(3)
        .padStart(12)}  ${atPeak.memory.toFixed(3).padStart(13)}  ${String(failed).padStart(10)}`,
    );
  }
}

speed();
packing(3200);
console.log(
  'equal-slice: a 4-slot A100-40GB gives 10 GiB slices; LLM and training instances do not fit,\n' +
    'so its GPU counts cover only the instances it placed.',
);

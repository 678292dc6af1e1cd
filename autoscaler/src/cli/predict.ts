import { createPredictor, loadProfile } from '../model/index.js';
import type { CliOutput } from './output.js';
import { printJson } from './output.js';
import { fixed } from './table.js';

export interface PredictOptions {
  readonly profile: string;
  readonly batch: number;
  readonly sm: number;
  readonly json: boolean;
}

export function runPredict(options: PredictOptions, output: CliOutput): number {
  const profile = loadProfile(options.profile);
  const predictor = createPredictor(profile);
  const p = predictor.predict(options.batch, options.sm);
  const memoryMiB = predictor.memoryMiB(options.batch) ?? null;
  if (options.json) {
    printJson(output, { profile: profile.name, ...p, memoryMiB });
    return 0;
  }
  output.out(
    [
      `profile     ${profile.name} (${profile.source})`,
      `batch       ${p.batch}`,
      `SM          ${p.smPercent} %`,
      `latency     ${fixed(p.latencyMs)} ms  [${fixed(p.latencyLowMs)} .. ${fixed(p.latencyHighMs)}]${p.extrapolated ? '  (extrapolated: outside the measured range)' : ''}`,
      `throughput  ${fixed(p.throughputRps)} req/s`,
      `memory      ${memoryMiB === null ? 'unknown (the profile has no memory figure)' : `${fixed(memoryMiB, 0)} MiB`}`,
    ].join('\n'),
  );
  return 0;
}

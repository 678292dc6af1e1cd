import type { Readable, Writable } from 'node:stream';
import type { FunctionProfile, ProfilePoint } from '../model/index.js';
import { loadProfile, toFunctionProfileResource } from '../model/index.js';
import type { GridComparison, Probe, SearchResult } from '../profiling/index.js';
import { compareWithGrid, measureFromProfile, pruningSearch } from '../profiling/index.js';
import { createJsonlChannel, ProtocolError } from '../profiling/jsonl-measure.js';
import type { CliOutput } from './output.js';
import { printJson } from './output.js';
import { fixed, formatTable } from './table.js';

export interface ProfileSearchOptions {
  readonly profile?: string | undefined;
  readonly protocol?: 'jsonl' | undefined;
  readonly sloMs: number;
  readonly budget: number;
  readonly smStep: number;
  readonly maxBatch: number;
  readonly name: string;
  readonly gpuModel: string;
  readonly json: boolean;
}

/** SM limit recommended beside a request: 1.5 x, matching the default limit overcommit. */
export function recommendedLimit(smRequest: number): number {
  return Math.min(100, Math.ceil(smRequest * 1.5));
}

export async function runProfileSearch(
  options: ProfileSearchOptions,
  output: CliOutput,
  stdio: { input: Readable; output: Writable },
): Promise<number> {
  if (options.protocol === 'jsonl') return runJsonl(options, stdio);
  if (options.profile === undefined) {
    output.err(
      'error: give --profile <csv|yaml> to search a measured profile, or --protocol jsonl',
    );
    return 2;
  }
  const profile = loadProfile(options.profile);
  const result = await pruningSearch(measureFromProfile(profile), {
    sloMs: options.sloMs,
    budget: options.budget,
    smStep: options.smStep,
    maxBatch: options.maxBatch,
  });
  const grid = compareWithGrid(profile, options.sloMs, result);
  if (options.json) {
    printJson(output, jsonReport(profile, options.sloMs, result, grid));
  } else {
    output.out(textReport(profile, options.sloMs, result, grid));
  }
  return result.choice ? 0 : 1;
}

function jsonReport(
  profile: FunctionProfile,
  sloMs: number,
  result: SearchResult,
  grid: GridComparison,
): unknown {
  const c = result.choice;
  return {
    profile: profile.name,
    sloMs,
    choice: c
      ? {
          batch: c.batch,
          smPercent: c.smPercent,
          smLimit: recommendedLimit(c.smPercent),
          latencyMs: c.latencyMs,
          throughputRps: c.throughputRps,
          memoryMiB: c.memoryMiB ?? profile.memoryMiB ?? null,
          smPercentPerRps: c.smPercent / c.throughputRps,
        }
      : null,
    probesUsed: result.probes.length,
    stopReason: result.stopReason,
    probes: result.probes,
    grid: {
      points: grid.gridPoints,
      pointsMeetingSlo: grid.gridPointsMeetingSlo,
      best: grid.gridBest
        ? { batch: grid.gridBest.batch, smPercent: grid.gridBest.smPercent }
        : null,
      atLeastAsCheap: grid.atLeastAsCheap,
      shortfallPercent: grid.shortfallPercent,
      explanation: grid.explanation ?? null,
    },
  };
}

function textReport(
  profile: FunctionProfile,
  sloMs: number,
  result: SearchResult,
  grid: GridComparison,
): string {
  const c = result.choice;
  const lines = [`Pruning search on ${profile.name} for a batch latency of at most ${sloMs} ms\n`];
  lines.push(
    formatTable(
      ['#', 'batch', 'SM %', 'latency ms', 'rps', 'meets SLO'],
      result.probes.map((p: Probe, i) => [
        i + 1,
        p.batch,
        p.smPercent,
        p.latencyMs === undefined ? '-' : fixed(p.latencyMs, 1),
        p.throughputRps === undefined ? '-' : fixed(p.throughputRps, 1),
        p.ran ? (p.meetsSlo ? 'yes' : 'no') : 'not runnable',
      ]),
    ),
  );
  lines.push('');
  if (c) {
    const mem = c.memoryMiB ?? profile.memoryMiB;
    lines.push(
      `choice     batch ${c.batch}, SM ${c.smPercent} % (limit ${recommendedLimit(c.smPercent)} %), ` +
        `${fixed(c.latencyMs, 1)} ms, ${fixed(c.throughputRps, 1)} rps, ` +
        `memory ${mem === undefined ? 'unknown (profile has no memory figure)' : `${mem} MiB`}`,
    );
  } else {
    lines.push('choice     none: no probed configuration meets the SLO');
  }
  lines.push(`probes     ${result.probes.length} (stopped: ${result.stopReason})`);
  lines.push(
    `grid       ${grid.gridPoints} points, ${grid.gridPointsMeetingSlo} meet the SLO; best ` +
      (grid.gridBest ? `batch ${grid.gridBest.batch} at ${grid.gridBest.smPercent} % SM` : 'none') +
      (grid.atLeastAsCheap
        ? ' — the search found a configuration at least as cheap'
        : ` — ${fixed(grid.shortfallPercent, 1)} % cheaper than the search's choice: ${grid.explanation ?? ''}`),
  );
  return lines.join('\n');
}

/** Protocol mode: the harness measures; this process only decides what to measure next. */
async function runJsonl(
  options: ProfileSearchOptions,
  stdio: { input: Readable; output: Writable },
): Promise<number> {
  const channel = createJsonlChannel(stdio.input, stdio.output);
  const measured: ProfilePoint[] = [];
  const measure = channel.measure;
  try {
    const result = await pruningSearch(
      async (batch, smPercent) => {
        const m = await measure(batch, smPercent);
        if (m) measured.push({ batch, smPercent, ...m });
        return m;
      },
      {
        sloMs: options.sloMs,
        budget: options.budget,
        smStep: options.smStep,
        maxBatch: options.maxBatch,
      },
    );
    const c = result.choice;
    const profile: FunctionProfile = {
      name: options.name,
      source: 'profile search',
      gpuModel: options.gpuModel,
      points: measured,
    };
    channel.send({
      type: 'done',
      choice: c ?? null,
      probes: result.probes.length,
      reason: result.stopReason,
      profile:
        measured.length === 0
          ? null
          : toFunctionProfileResource(
              profile,
              c
                ? [
                    {
                      sloMs: options.sloMs,
                      batch: c.batch,
                      smRequest: c.smPercent,
                      smLimit: recommendedLimit(c.smPercent),
                      throughputRps: c.throughputRps,
                      probes: result.probes.length,
                      ...(c.memoryMiB === undefined ? {} : { memoryMiB: c.memoryMiB }),
                    },
                  ]
                : [],
            ),
    });
    return c ? 0 : 1;
  } catch (err) {
    if (err instanceof ProtocolError) {
      channel.send({ type: 'error', message: err.message });
      return 2;
    }
    throw err;
  } finally {
    channel.close();
  }
}

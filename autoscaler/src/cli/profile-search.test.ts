import { describe, expect, it } from '@jest/globals';
import { PassThrough } from 'node:stream';
import { join } from 'node:path';
import { main } from './main.js';
import { BUNDLED_PROFILES_DIR } from './paths.js';
import { parseFunctionProfileYaml } from '../model/index.js';
import yaml from 'js-yaml';

const resnet = join(BUNDLED_PROFILES_DIR, 'bs_sm_resnet152.csv');

async function run(args: string[], stdin?: PassThrough, stdout?: PassThrough) {
  let out = '';
  let err = '';
  const code = await main(
    ['node', 'dilu', ...args],
    { out: t => (out += t), err: t => (err += t) },
    { input: stdin ?? new PassThrough(), output: stdout ?? new PassThrough() },
  );
  return { code, out, err };
}

describe('dilu profile search --profile', () => {
  it('resnet152 at 40 ms: a configuration meeting 40 ms with <= 12 probes, as JSON', async () => {
    const r = await run(['profile', 'search', '--profile', resnet, '--slo-ms', '40', '--json']);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.out) as {
      choice: { batch: number; smPercent: number; latencyMs: number; memoryMiB: null };
      probesUsed: number;
      grid: { atLeastAsCheap: boolean };
    };
    expect(j.choice.latencyMs).toBeLessThanOrEqual(40);
    expect(j.probesUsed).toBeLessThanOrEqual(12);
    expect(j.grid.atLeastAsCheap).toBe(true);
    expect(j.choice.memoryMiB).toBeNull();
  });

  it('prints a probe table and the grid comparison', async () => {
    const r = await run(['profile', 'search', '--profile', resnet, '--slo-ms', '40']);
    expect(r.out).toContain('choice     batch 16, SM 30 %');
    expect(r.out).toContain('at least as cheap');
  });

  it('exits 1 when nothing meets the SLO', async () => {
    const r = await run(['profile', 'search', '--profile', resnet, '--slo-ms', '5', '--json']);
    expect(r.code).toBe(1);
    expect(JSON.parse(r.out)).toMatchObject({ choice: null });
  });

  it('needs a profile or a protocol', async () => {
    const r = await run(['profile', 'search', '--slo-ms', '40']);
    expect(r.code).toBe(2);
    expect(r.err).toContain('--profile');
  });

  it('rejects an unknown protocol naming the allowed one', async () => {
    const r = await run(['profile', 'search', '--protocol', 'grpc', '--slo-ms', '40']);
    expect(r.code).not.toBe(0);
    expect(r.err).toContain("expected one of jsonl, got 'grpc'");
  });
});

describe('dilu profile search --protocol jsonl', () => {
  it('drives a harness over stdin/stdout and ends with a FunctionProfile', async () => {
    const stdin = new PassThrough();
    const stdout = new PassThrough();
    const sent: Record<string, unknown>[] = [];
    // A harness that answers every probe from a model: latency = batch * (2 + 200 / SM).
    stdout.on('data', (chunk: Buffer) => {
      for (const line of chunk.toString().split('\n').filter(Boolean)) {
        const msg = JSON.parse(line) as { type: string; batch: number; smPercent: number };
        sent.push(msg);
        if (msg.type === 'measure') {
          const latencyMs = msg.batch * (2 + 200 / msg.smPercent);
          stdin.write(
            `${JSON.stringify({ type: 'result', latencyMs, throughputRps: (1000 * msg.batch) / latencyMs, memoryMiB: 1000 + 10 * msg.batch })}\n`,
          );
        }
      }
    });
    const r = await run(
      [
        'profile',
        'search',
        '--protocol',
        'jsonl',
        '--slo-ms',
        '30',
        '--name',
        'toy',
        '--gpu-model',
        'NVIDIA H100',
      ],
      stdin,
      stdout,
    );
    expect(r.code).toBe(0);
    const done = sent.at(-1) as {
      type: string;
      probes: number;
      choice: { latencyMs: number };
      profile: unknown;
    };
    expect(done.type).toBe('done');
    expect(done.choice.latencyMs).toBeLessThanOrEqual(30);
    expect(Object.keys(done.choice).sort()).toEqual([
      'batch',
      'latencyMs',
      'memoryMiB',
      'smPercent',
      'throughputRps',
    ]);
    expect(sent.filter(m => m.type === 'measure')).toHaveLength(done.probes);
    const profile = parseFunctionProfileYaml(yaml.dump(done.profile), 'done.yaml');
    expect(profile.name).toBe('toy');
    expect(profile.gpuModel).toBe('NVIDIA H100');
    expect(profile.points).toHaveLength(done.probes);
  });

  it('answers a malformed result line with an error message and exit 2', async () => {
    const stdin = new PassThrough();
    const stdout = new PassThrough();
    const sent: { type: string; message?: string }[] = [];
    stdout.on('data', (chunk: Buffer) => {
      for (const line of chunk.toString().split('\n').filter(Boolean)) {
        const msg = JSON.parse(line) as { type: string };
        sent.push(msg);
        if (msg.type === 'measure') stdin.write('{"type":"result","latencyMs":"fast"}\n');
      }
    });
    const r = await run(
      ['profile', 'search', '--protocol', 'jsonl', '--slo-ms', '30'],
      stdin,
      stdout,
    );
    expect(r.code).toBe(2);
    expect(sent.at(-1)?.type).toBe('error');
    expect(sent.at(-1)?.message).toContain('latencyMs');
  });
});

describe('dilu profile knee', () => {
  it('finds the knee of the bundled bert profile', async () => {
    const r = await run([
      'profile',
      'knee',
      '--profile',
      join(BUNDLED_PROFILES_DIR, 'bs_sm_bert_base.csv'),
      '--batch',
      '8',
      '--sm-step',
      '10',
      '--json',
    ]);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.out) as {
      smPercent: number;
      throughputRps: number;
      fullThroughputRps: number;
    };
    // BERT-base saturates at 20-30 % SM (papers.md §1.5).
    expect(j.smPercent).toBeLessThanOrEqual(30);
    expect(j.throughputRps).toBeGreaterThanOrEqual(0.98 * j.fullThroughputRps);
  });
});

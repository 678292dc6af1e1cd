import { readFileSync } from 'node:fs';
import yaml from 'js-yaml';
import { z } from 'zod';
import type { CommandResult, CommandRunner } from './command-runner.js';
import { GPU_QUERY_FIELDS } from './nvidia-smi-csv.js';

/**
 * An emulation of the `nvidia-smi` program for machines without GPUs. It answers exactly the
 * invocations the inventory makes, in nvidia-smi's own output formats, so discovery, parsing
 * and the health rules run unchanged: the fake replaces the program, not the code that reads it.
 */

export const FAKE_CONDITIONS = [
  'healthy',
  'uncorrectable-ecc',
  'row-remap-pending',
  'row-remap-failure',
  'reset-required',
  'lost',
] as const;
export type FakeCondition = (typeof FAKE_CONDITIONS)[number];

const gpuSchema = z.strictObject({
  uuid: z.string().regex(/^GPU-[0-9a-f-]{8,}$/, 'must look like GPU-xxxxxxxx-xxxx-…'),
  name: z.string().min(1).default('NVIDIA A100-SXM4-80GB'),
  memoryMiB: z.number().int().positive().default(81920),
  pciBusId: z
    .string()
    .regex(/^[0-9A-Fa-f]{8}:[0-9A-Fa-f]{2}:[0-9A-Fa-f]{2}\.[0-7]$/)
    .optional(),
  migMode: z.enum(['Enabled', 'Disabled', 'N/A']).default('Disabled'),
  condition: z.enum(FAKE_CONDITIONS).default('healthy'),
});

export const fakeGpuFileSchema = z.strictObject({
  driverVersion: z.string().default('550.54.15'),
  cudaVersion: z.string().default('12.4'),
  gpus: z.array(gpuSchema).min(1),
  /** Health over time: at `afterSeconds` since start, GPU `gpu` (its position) enters `condition`. */
  events: z
    .array(
      z.strictObject({
        afterSeconds: z.number().nonnegative(),
        gpu: z.number().int().nonnegative(),
        condition: z.enum(FAKE_CONDITIONS),
      }),
    )
    .default([]),
});
export type FakeGpuFile = z.infer<typeof fakeGpuFileSchema>;

/** Reads and validates a fake GPU file; errors name the file and the field. */
export function loadFakeGpuFile(path: string): FakeGpuFile {
  let raw: unknown;
  try {
    raw = yaml.load(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new Error(`${path}: ${(err as Error).message}`, { cause: err });
  }
  const parsed = fakeGpuFileSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new Error(`${path}: ${issue?.path.join('.') ?? ''}: ${issue?.message ?? 'invalid'}`);
  }
  for (const e of parsed.data.events) {
    if (e.gpu >= parsed.data.gpus.length) {
      throw new Error(
        `${path}: events: gpu ${e.gpu} does not exist (${parsed.data.gpus.length} GPUs)`,
      );
    }
  }
  return parsed.data;
}

export interface FakeNvidiaSmiDeps {
  /** The YAML file; read again on every call so that editing it changes what is reported. */
  readonly file: string;
  /** Milliseconds; events are timed from the first call. */
  readonly now?: () => number;
}

export function createFakeNvidiaSmi(deps: FakeNvidiaSmiDeps): CommandRunner {
  const now = deps.now ?? Date.now;
  let start: number | undefined;
  const computeModes = new Map<string, string>();

  return async (_file, args_) => {
    const args = [...args_];
    start ??= now();
    const spec = await Promise.resolve().then(() => loadFakeGpuFile(deps.file));
    const elapsed = (now() - start) / 1000;
    const gpus = spec.gpus.map((g, i) => ({
      ...g,
      index: i,
      pciBusId:
        g.pciBusId ??
        `00000000:${(0x07 + i * 0x10).toString(16).toUpperCase().padStart(2, '0')}:00.0`,
      condition: conditionAt(spec, i, elapsed),
      computeMode: computeModes.get(g.uuid) ?? 'Default',
    }));
    return answer(args, spec, gpus, computeModes);
  };
}

type FakeGpu = FakeGpuFile['gpus'][number] & {
  index: number;
  pciBusId: string;
  computeMode: string;
};

function conditionAt(spec: FakeGpuFile, gpu: number, elapsed: number): FakeCondition {
  let c = spec.gpus[gpu]?.condition ?? 'healthy';
  const events = spec.events
    .filter(e => e.gpu === gpu)
    .sort((a, b) => a.afterSeconds - b.afterSeconds);
  for (const e of events) if (e.afterSeconds <= elapsed) c = e.condition;
  return c;
}

function answer(
  args: string[],
  spec: FakeGpuFile,
  gpus: FakeGpu[],
  computeModes: Map<string, string>,
): CommandResult {
  const query = args.find(a => a.startsWith('--query-gpu='));
  if (query !== undefined && args.includes('--format=csv,noheader,nounits')) {
    const fields = query.slice('--query-gpu='.length).split(',');
    if (fields.join(',') !== GPU_QUERY_FIELDS.join(',')) {
      return fail(2, `Field "${fields.join(',')}" is not a valid field to query.`);
    }
    return renderCsv(gpus);
  }
  if (args.length === 2 && args[0] === '-q' && args[1] === '-x') return renderXml(spec, gpus);
  if (args.length === 4 && args[0] === '-i' && args[2] === '-c') {
    const gpu = gpus.find(g => g.uuid === args[1] || String(g.index) === args[1]);
    const mode = {
      DEFAULT: 'Default',
      EXCLUSIVE_PROCESS: 'Exclusive_Process',
      PROHIBITED: 'Prohibited',
    }[args[3] ?? ''];
    if (gpu === undefined || gpu.condition === 'lost') return fail(6, `No devices were found`);
    if (mode === undefined) return fail(2, `Invalid compute mode "${args[3]}".`);
    computeModes.set(gpu.uuid, mode);
    return {
      stdout: `Set compute mode to ${args[3]} for GPU ${gpu.pciBusId}.\nAll done.\n`,
      stderr: '',
      exitCode: 0,
    };
  }
  return fail(2, "Invalid combination of input arguments. Please run 'nvidia-smi -h' for help.");
}

function fail(code: number, message: string): CommandResult {
  return { stdout: `${message}\n`, stderr: '', exitCode: code };
}

function renderCsv(gpus: FakeGpu[]): CommandResult {
  const lines: string[] = [];
  let lost = false;
  for (const g of gpus) {
    if (g.condition === 'lost') {
      lost = true;
      lines.push(
        `Unable to determine the device handle for GPU${g.pciBusId.slice(4)}: Unknown Error`,
      );
      continue;
    }
    const reset = g.condition === 'reset-required';
    lines.push(
      [
        g.index,
        g.uuid,
        g.name,
        reset ? '[GPU requires reset]' : g.memoryMiB,
        g.migMode === 'N/A' ? '[N/A]' : g.migMode,
        g.computeMode,
        g.pciBusId,
      ].join(', '),
    );
  }
  return { stdout: `${lines.join('\n')}\n`, stderr: '', exitCode: lost ? 15 : 0 };
}

function renderXml(spec: FakeGpuFile, gpus: FakeGpu[]): CommandResult {
  const visible = gpus.filter(g => g.condition !== 'lost');
  const body = visible.map(renderGpu).join('');
  const xml = `<?xml version="1.0" ?>
<!DOCTYPE nvidia_smi_log SYSTEM "nvsmi_device_v12.dtd">
<nvidia_smi_log>
\t<timestamp>${new Date().toUTCString()}</timestamp>
\t<driver_version>${spec.driverVersion}</driver_version>
\t<cuda_version>${spec.cudaVersion}</cuda_version>
\t<attached_gpus>${visible.length}</attached_gpus>
${body}</nvidia_smi_log>
`;
  return { stdout: xml, stderr: '', exitCode: visible.length === gpus.length ? 0 : 15 };
}

function renderGpu(g: FakeGpu): string {
  const c = g.condition;
  const reset = c === 'reset-required';
  const total = reset ? 'GPU requires reset' : `${g.memoryMiB} MiB`;
  return `\t<gpu id="${g.pciBusId}">
\t\t<product_name>${g.name}</product_name>
\t\t<product_brand>NVIDIA</product_brand>
\t\t<persistence_mode>Enabled</persistence_mode>
\t\t<mig_mode>
\t\t\t<current_mig>${g.migMode}</current_mig>
\t\t\t<pending_mig>${g.migMode}</pending_mig>
\t\t</mig_mode>
\t\t<uuid>${g.uuid}</uuid>
\t\t<minor_number>${g.index}</minor_number>
\t\t<gpu_reset_status>
\t\t\t<reset_required>${reset ? 'Yes' : 'No'}</reset_required>
\t\t\t<drain_and_reset_recommended>No</drain_and_reset_recommended>
\t\t</gpu_reset_status>
\t\t<pci>
\t\t\t<pci_bus_id>${g.pciBusId}</pci_bus_id>
\t\t</pci>
\t\t<fb_memory_usage>
\t\t\t<total>${total}</total>
\t\t\t<reserved>${reset ? 'GPU requires reset' : '567 MiB'}</reserved>
\t\t\t<used>${reset ? 'GPU requires reset' : '0 MiB'}</used>
\t\t\t<free>${reset ? 'GPU requires reset' : `${g.memoryMiB - 567} MiB`}</free>
\t\t</fb_memory_usage>
\t\t<compute_mode>${g.computeMode}</compute_mode>
\t\t<ecc_errors>
\t\t\t<volatile>
\t\t\t\t<sram_correctable>0</sram_correctable>
\t\t\t\t<sram_uncorrectable_parity>0</sram_uncorrectable_parity>
\t\t\t\t<sram_uncorrectable_secded>0</sram_uncorrectable_secded>
\t\t\t\t<dram_correctable>0</dram_correctable>
\t\t\t\t<dram_uncorrectable>${c === 'uncorrectable-ecc' ? 1 : 0}</dram_uncorrectable>
\t\t\t</volatile>
\t\t</ecc_errors>
\t\t<retired_pages>
\t\t\t<pending_blacklist>N/A</pending_blacklist>
\t\t\t<pending_retirement>N/A</pending_retirement>
\t\t</retired_pages>
\t\t<remapped_rows>
\t\t\t<remapped_row_corr>0</remapped_row_corr>
\t\t\t<remapped_row_unc>${c === 'row-remap-pending' || c === 'row-remap-failure' ? 1 : 0}</remapped_row_unc>
\t\t\t<remapped_row_pending>${c === 'row-remap-pending' ? 'Yes' : 'No'}</remapped_row_pending>
\t\t\t<remapped_row_failure>${c === 'row-remap-failure' ? 'Yes' : 'No'}</remapped_row_failure>
\t\t</remapped_rows>
\t</gpu>
`;
}

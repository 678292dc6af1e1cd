import { XMLParser } from 'fast-xml-parser';
import { normaliseBusId } from './nvidia-smi-csv.js';
import { GpuDiscoveryError } from './types.js';

/** Arguments of the detailed query: every field of every GPU as XML. */
export const GPU_DETAIL_ARGS = ['-q', '-x'] as const;

export interface XmlGpu {
  readonly pciBusId: string;
  readonly uuid: string | undefined;
  readonly productName: string | undefined;
  readonly migMode: string | undefined;
  readonly computeMode: string | undefined;
  readonly memoryTotalMiB: number | undefined;
  /** Health problems read from this GPU's fields; empty when healthy. */
  readonly problems: readonly string[];
}

export interface XmlReport {
  readonly driverVersion: string | undefined;
  readonly gpus: readonly XmlGpu[];
}

type Node = Record<string, unknown>;

const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '@_',
  // Keep every value a string: UUIDs, bus ids and "0 MiB" must not be coerced to numbers.
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: true,
  isArray: (_name, jpath) => jpath === 'nvidia_smi_log.gpu',
});

/** Parses `nvidia-smi -q -x` output (see the fixtures for real samples). */
export function parseNvidiaSmiXml(text: string): XmlReport {
  let doc: Node;
  try {
    doc = parser.parse(text) as Node;
  } catch (err) {
    throw new GpuDiscoveryError(`nvidia-smi -q -x: not XML: ${(err as Error).message}`, {
      cause: err,
    });
  }
  const log = doc.nvidia_smi_log;
  if (!isNode(log)) {
    throw new GpuDiscoveryError('nvidia-smi -q -x: no <nvidia_smi_log> element');
  }
  const gpus = Array.isArray(log.gpu) ? log.gpu.filter(isNode) : [];
  return { driverVersion: text_(log.driver_version), gpus: gpus.map(readGpu) };
}

function readGpu(gpu: Node): XmlGpu {
  const uuid = text_(gpu.uuid);
  return {
    pciBusId: normaliseBusId(text_(gpu['@_id']) ?? ''),
    uuid: uuid?.startsWith('GPU-') === true ? uuid : undefined,
    productName: text_(gpu.product_name),
    migMode: text_(at(gpu, 'mig_mode', 'current_mig')),
    computeMode: text_(gpu.compute_mode),
    memoryTotalMiB: mib(text_(at(gpu, 'fb_memory_usage', 'total'))),
    problems: assessHealth(gpu),
  };
}

/**
 * The health rules. Each names a condition after which the driver itself says the GPU must be
 * reset or drained, or that corrupts results. All of them clear after a GPU reset or driver
 * reload, which is why the plugin re-checks and reports the GPU healthy again (unlike
 * NVIDIA's plugin, which never recovers a device it marked unhealthy).
 */
export function assessHealth(gpu: Node): string[] {
  const problems: string[] = [];
  const uuid = text_(gpu.uuid);
  if (uuid?.startsWith('GPU-') !== true) problems.push(`UUID unreadable (${uuid ?? 'missing'})`);
  if (yes(at(gpu, 'gpu_reset_status', 'reset_required'))) problems.push('GPU reset required');
  if (yes(at(gpu, 'gpu_reset_status', 'drain_and_reset_recommended'))) {
    problems.push('drain and reset recommended');
  }
  if (yes(at(gpu, 'remapped_rows', 'remapped_row_failure'))) {
    problems.push('memory row remapping failed');
  }
  if (yes(at(gpu, 'remapped_rows', 'remapped_row_pending'))) {
    problems.push('memory row remapping pending (reset needed)');
  }
  const retirement =
    yes(at(gpu, 'retired_pages', 'pending_retirement')) ||
    yes(at(gpu, 'retired_pages', 'pending_blacklist'));
  if (retirement) problems.push('page retirement pending (reset needed)');
  const volatile = at(gpu, 'ecc_errors', 'volatile');
  // Drivers >= 535 split SRAM and DRAM counters; older ones report double_bit totals.
  const uncorrectable =
    count(at(volatile, 'dram_uncorrectable')) +
    count(at(volatile, 'sram_uncorrectable')) +
    count(at(volatile, 'sram_uncorrectable_parity')) +
    count(at(volatile, 'sram_uncorrectable_secded')) +
    count(at(volatile, 'double_bit', 'total'));
  if (uncorrectable > 0) {
    problems.push(`${uncorrectable} uncorrectable ECC error(s) since the driver loaded`);
  }
  if (mib(text_(at(gpu, 'fb_memory_usage', 'total'))) === undefined) {
    problems.push(
      `memory size unreadable (${text_(at(gpu, 'fb_memory_usage', 'total')) ?? 'missing'})`,
    );
  }
  return problems;
}

function at(node: unknown, ...path: string[]): unknown {
  let cur = node;
  for (const key of path) {
    if (!isNode(cur)) return undefined;
    cur = cur[key];
  }
  return cur;
}

function isNode(v: unknown): v is Node {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function text_(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (isNode(v) && typeof v['#text'] === 'string') return v['#text'];
  return undefined;
}

function yes(v: unknown): boolean {
  return text_(v) === 'Yes';
}

function count(v: unknown): number {
  const t = text_(v);
  return t !== undefined && /^\d+$/.test(t) ? Number(t) : 0;
}

function mib(v: string | undefined): number | undefined {
  const m = /^(\d+)\s*MiB$/.exec(v ?? '');
  return m === null ? undefined : Number(m[1]);
}

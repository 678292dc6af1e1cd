import type { CommandRunner } from './command-runner.js';
import { GPU_QUERY_ARGS, parseGpuQueryCsv } from './nvidia-smi-csv.js';
import type { CsvInventory } from './nvidia-smi-csv.js';
import { GPU_DETAIL_ARGS, parseNvidiaSmiXml } from './nvidia-smi-xml.js';
import type { XmlGpu } from './nvidia-smi-xml.js';
import type { GpuDiscovery, GpuInfo, GpuInventory } from './types.js';
import { GpuDiscoveryError } from './types.js';

export interface NvidiaSmiInventoryDeps {
  readonly run: CommandRunner;
  /** Path or name of the nvidia-smi executable. */
  readonly binary: string;
  readonly timeoutMs: number;
}

/**
 * GPU inventory read from `nvidia-smi`: the CSV query gives the index ↔ UUID mapping and the
 * basic facts, the XML report gives the health fields. The two are joined by UUID.
 */
export function createNvidiaSmiInventory(deps: NvidiaSmiInventoryDeps): GpuInventory {
  const { run, binary, timeoutMs } = deps;

  async function query(
    args: readonly string[],
  ): Promise<{ stdout: string; exitCode: number | null; stderr: string }> {
    try {
      return await run(binary, args, { timeoutMs });
    } catch (err) {
      throw new GpuDiscoveryError((err as Error).message, { cause: err });
    }
  }

  return {
    async discover(): Promise<GpuDiscovery> {
      const csv = await query(GPU_QUERY_ARGS);
      // A non-zero exit with GPU rows means some GPUs are lost, which the parser records;
      // without rows it means the driver is unusable (not loaded, version mismatch).
      const driverDown = (cause?: unknown): GpuDiscoveryError =>
        new GpuDiscoveryError(
          `nvidia-smi exited with ${csv.exitCode}: ${firstLine(csv.stderr || csv.stdout)}`,
          { cause },
        );
      let inventory: CsvInventory;
      try {
        inventory = parseGpuQueryCsv(csv.stdout);
      } catch (err) {
        throw csv.exitCode === 0 ? err : driverDown(err);
      }
      if (csv.exitCode !== 0 && inventory.rows.length === 0) throw driverDown();
      const xml = await query(GPU_DETAIL_ARGS);
      const report = xml.stdout.includes('<nvidia_smi_log')
        ? parseNvidiaSmiXml(xml.stdout)
        : { driverVersion: undefined, gpus: [] };
      const byUuid = new Map<string, XmlGpu>();
      for (const g of report.gpus) if (g.uuid !== undefined) byUuid.set(g.uuid, g);
      const gpus = inventory.rows.map((row): GpuInfo => {
        const detail = byUuid.get(row.uuid);
        const problems = [...row.errors];
        if (detail === undefined) problems.push('missing from the nvidia-smi -q report');
        else problems.push(...detail.problems);
        const memoryMiB = row.memoryMiB ?? detail?.memoryTotalMiB ?? 0;
        return {
          index: row.index,
          uuid: row.uuid,
          name: row.name,
          memoryMiB,
          migMode: row.migMode,
          computeMode: row.computeMode,
          pciBusId: row.pciBusId,
          problems,
        };
      });
      gpus.sort((a, b) => a.index - b.index);
      return { gpus, lostBusIds: inventory.lostBusIds, driverVersion: report.driverVersion };
    },

    async setComputeMode(uuid, mode): Promise<void> {
      const r = await query(['-i', uuid, '-c', mode]);
      if (r.exitCode !== 0) {
        throw new GpuDiscoveryError(
          `nvidia-smi -i ${uuid} -c ${mode} exited with ${r.exitCode}: ${firstLine(r.stderr || r.stdout)}`,
        );
      }
    },
  };
}

function firstLine(s: string): string {
  return s.trim().split('\n')[0] ?? '';
}

import { readFile } from 'node:fs/promises';

/**
 * NUMA node of a PCI device from sysfs, for the kubelet's Topology Manager. nvidia-smi prints
 * bus ids with an 8-digit domain in upper case; sysfs names them with 4 digits in lower case.
 * Returns `undefined` when the platform has no NUMA information (-1) or no sysfs.
 */
export async function readNumaNode(
  sysfsRoot: string,
  pciBusId: string,
): Promise<number | undefined> {
  const m = /^([0-9A-Fa-f]+):(.+)$/.exec(pciBusId);
  if (m === null) return undefined;
  const name = `${(m[1] ?? '').slice(-4)}:${m[2] ?? ''}`.toLowerCase();
  try {
    const n = Number(
      (await readFile(`${sysfsRoot}/bus/pci/devices/${name}/numa_node`, 'utf8')).trim(),
    );
    return Number.isInteger(n) && n >= 0 ? n : undefined;
  } catch {
    return undefined;
  }
}

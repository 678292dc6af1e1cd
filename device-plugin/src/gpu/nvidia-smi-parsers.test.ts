import { describe, expect, it } from '@jest/globals';
import { fixture } from '../testing/fixtures.js';
import { normaliseBusId, parseGpuQueryCsv } from './nvidia-smi-csv.js';
import { parseNvidiaSmiXml } from './nvidia-smi-xml.js';
import { GpuDiscoveryError } from './types.js';

describe('parseGpuQueryCsv', () => {
  it('reads index, UUID, name, memory, MIG and compute mode of each GPU', () => {
    const { rows, lostBusIds } = parseGpuQueryCsv(fixture('nvidia-smi/a100x2.csv'));
    expect(lostBusIds).toEqual([]);
    expect(rows).toEqual([
      {
        index: 0,
        uuid: 'GPU-5f0e2bd4-7c1a-4d1e-9a4b-0c3e2f1a9b77',
        name: 'NVIDIA A100-SXM4-80GB',
        memoryMiB: 81920,
        migMode: 'Disabled',
        computeMode: 'Default',
        pciBusId: '00000000:07:00.0',
        errors: [],
      },
      expect.objectContaining({
        index: 1,
        computeMode: 'Exclusive_Process',
        pciBusId: '00000000:0F:00.0',
      }),
    ]);
  });

  it('records GPUs the driver cannot open, with their bus id in the 8-digit form', () => {
    const { rows, lostBusIds } = parseGpuQueryCsv(fixture('nvidia-smi/lost-gpu.csv'));
    expect(rows.map(r => r.index)).toEqual([0, 1, 3]);
    expect(lostBusIds).toEqual(['00000000:86:00.0']);
  });

  it('treats [N/A] as no value and [GPU requires reset] as an error', () => {
    const t4 = parseGpuQueryCsv(fixture('nvidia-smi/t4-no-mig.csv')).rows[0];
    expect(t4).toMatchObject({ migMode: 'N/A', memoryMiB: 15109, errors: [] });
    const reset = parseGpuQueryCsv(fixture('nvidia-smi/reset-required.csv')).rows[0];
    expect(reset).toMatchObject({
      memoryMiB: undefined,
      errors: ['memory.total: GPU requires reset'],
    });
  });

  it('rejects a line with the wrong number of fields, naming the line and the fields', () => {
    expect(() => parseGpuQueryCsv('0, GPU-abc, NVIDIA A100\n')).toThrow(
      /line 1: expected 7 fields \(index, uuid, name, memory.total/,
    );
    expect(() => parseGpuQueryCsv('x, GPU-1, a, 1, Disabled, Default, 00000000:07:00.0')).toThrow(
      GpuDiscoveryError,
    );
  });

  it('normalises bus ids from both spellings to one', () => {
    expect(normaliseBusId('0000:3b:00.0')).toBe('00000000:3B:00.0');
    expect(normaliseBusId('00000000:3B:00.0')).toBe('00000000:3B:00.0');
  });
});

describe('parseNvidiaSmiXml', () => {
  it('reads a healthy two-GPU report of driver 550', () => {
    const report = parseNvidiaSmiXml(fixture('nvidia-smi/a100x2.xml'));
    expect(report.driverVersion).toBe('550.54.15');
    expect(report.gpus).toEqual([
      {
        pciBusId: '00000000:07:00.0',
        uuid: 'GPU-5f0e2bd4-7c1a-4d1e-9a4b-0c3e2f1a9b77',
        productName: 'NVIDIA A100-SXM4-80GB',
        migMode: 'Disabled',
        computeMode: 'Default',
        memoryTotalMiB: 81920,
        problems: [],
      },
      expect.objectContaining({ computeMode: 'Exclusive_Process', problems: [] }),
    ]);
  });

  it('flags uncorrectable DRAM errors and a pending row remap', () => {
    const [h100] = parseNvidiaSmiXml(fixture('nvidia-smi/h100-remap-pending.xml')).gpus;
    expect(h100?.problems).toEqual([
      'memory row remapping pending (reset needed)',
      '2 uncorrectable ECC error(s) since the driver loaded',
    ]);
  });

  it('reads the older driver layout: double-bit totals and pending page retirement', () => {
    const [t4] = parseNvidiaSmiXml(fixture('nvidia-smi/t4-driver470.xml')).gpus;
    expect(t4).toMatchObject({ migMode: 'N/A', memoryTotalMiB: 15109 });
    expect(t4?.problems).toEqual([
      'page retirement pending (reset needed)',
      '1 uncorrectable ECC error(s) since the driver loaded',
    ]);
  });

  it('rejects output that is not an nvidia-smi report', () => {
    expect(() => parseNvidiaSmiXml('<html></html>')).toThrow(/no <nvidia_smi_log>/);
  });
});

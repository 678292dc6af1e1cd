import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from '@jest/globals';
import { FIXTURES_DIR } from '../testing/fixtures.js';
import { createExecRunner } from './command-runner.js';
import { createFakeNvidiaSmi } from './fake-nvidia-smi.js';
import { createNvidiaSmiInventory } from './nvidia-smi-inventory.js';

const tmp = mkdtempSync(join(tmpdir(), 'dilu-smi-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** A stand-in `nvidia-smi` executable that prints recorded output, run through execFile. */
function recordedNvidiaSmi(csv: string, xml: string, csvExit = 0): string {
  const path = join(tmp, `nvidia-smi-${csv}-${xml}`);
  writeFileSync(
    path,
    `#!/bin/sh
case "$1" in
  --query-gpu=*) cat '${FIXTURES_DIR}nvidia-smi/${csv}'; exit ${csvExit} ;;
  -q) cat '${FIXTURES_DIR}nvidia-smi/${xml}' ;;
  -i) echo "Set compute mode to $4 for GPU 00000000:07:00.0."; echo "All done." ;;
  *) echo "Invalid combination of input arguments."; exit 2 ;;
esac
`,
  );
  chmodSync(path, 0o755);
  return path;
}

describe('createNvidiaSmiInventory with a real process', () => {
  it('joins the CSV inventory and the XML health report by UUID', async () => {
    const inv = createNvidiaSmiInventory({
      run: createExecRunner(),
      binary: recordedNvidiaSmi('a100x2.csv', 'a100x2.xml'),
      timeoutMs: 5000,
    });
    const d = await inv.discover();
    expect(d.driverVersion).toBe('550.54.15');
    expect(d.gpus.map(g => [g.index, g.uuid.slice(0, 12), g.memoryMiB, g.problems])).toEqual([
      [0, 'GPU-5f0e2bd4', 81920, []],
      [1, 'GPU-b1c2d3e4', 81920, []],
    ]);
    await expect(inv.setComputeMode(d.gpus[0]!.uuid, 'EXCLUSIVE_PROCESS')).resolves.toBeUndefined();
  });

  it('reports a GPU missing from the XML report as a problem and keeps lost bus ids', async () => {
    const inv = createNvidiaSmiInventory({
      run: createExecRunner(),
      binary: recordedNvidiaSmi('lost-gpu.csv', 'a100x2.xml', 15),
      timeoutMs: 5000,
    });
    const d = await inv.discover();
    expect(d.lostBusIds).toEqual(['00000000:86:00.0']);
    expect(d.gpus.every(g => g.problems.includes('missing from the nvidia-smi -q report'))).toBe(
      true,
    );
  });

  it('fails with the program name when nvidia-smi cannot run', async () => {
    const inv = createNvidiaSmiInventory({
      run: createExecRunner(),
      binary: join(tmp, 'no-such-nvidia-smi'),
      timeoutMs: 5000,
    });
    await expect(inv.discover()).rejects.toThrow(/cannot run .*no-such-nvidia-smi/);
  });

  it('fails when the driver is unusable (no GPU rows, non-zero exit)', async () => {
    const path = join(tmp, 'nvidia-smi-broken');
    writeFileSync(
      path,
      '#!/bin/sh\necho "NVIDIA-SMI has failed because it couldn\'t communicate with the NVIDIA driver."\nexit 9\n',
    );
    chmodSync(path, 0o755);
    const inv = createNvidiaSmiInventory({
      run: createExecRunner(),
      binary: path,
      timeoutMs: 5000,
    });
    await expect(inv.discover()).rejects.toThrow(/exited with 9: NVIDIA-SMI has failed/);
  });
});

describe('createFakeNvidiaSmi', () => {
  const file = join(tmp, 'gpus.yaml');
  writeFileSync(
    file,
    `gpus:
  - uuid: GPU-11111111-2222-3333-4444-555555555555
    memoryMiB: 40960
  - uuid: GPU-66666666-7777-8888-9999-000000000000
    name: NVIDIA H100 80GB HBM3
events:
  - { afterSeconds: 10, gpu: 1, condition: uncorrectable-ecc }
  - { afterSeconds: 20, gpu: 1, condition: healthy }
  - { afterSeconds: 30, gpu: 0, condition: lost }
  - { afterSeconds: 40, gpu: 0, condition: reset-required }
`,
  );

  it('emulates nvidia-smi output whose health follows the timeline, read by the real parsers', async () => {
    let now = 0;
    const inv = createNvidiaSmiInventory({
      run: createFakeNvidiaSmi({ file, now: () => now }),
      binary: 'nvidia-smi',
      timeoutMs: 1000,
    });
    const at = async (s: number) => {
      now = s * 1000;
      const d = await inv.discover();
      return { gpus: d.gpus.map(g => [g.index, g.problems.length]), lost: d.lostBusIds };
    };
    expect(await at(0)).toEqual({
      gpus: [
        [0, 0],
        [1, 0],
      ],
      lost: [],
    });
    expect((await inv.discover()).gpus[1]).toMatchObject({
      name: 'NVIDIA H100 80GB HBM3',
      memoryMiB: 81920,
    });
    expect(await at(10)).toEqual({
      gpus: [
        [0, 0],
        [1, 1],
      ],
      lost: [],
    });
    expect(await at(20)).toEqual({
      gpus: [
        [0, 0],
        [1, 0],
      ],
      lost: [],
    });
    expect(await at(30)).toEqual({ gpus: [[1, 0]], lost: ['00000000:07:00.0'] });
    const reset = await inv.discover().then(() => ((now = 40_000), inv.discover()));
    expect(reset.gpus[0]?.problems).toEqual([
      'memory.total: GPU requires reset',
      'GPU reset required',
      'memory size unreadable (GPU requires reset)',
    ]);
  });

  it('remembers compute mode changes and reports them', async () => {
    const inv = createNvidiaSmiInventory({
      run: createFakeNvidiaSmi({ file }),
      binary: 'x',
      timeoutMs: 1000,
    });
    await inv.setComputeMode('GPU-11111111-2222-3333-4444-555555555555', 'EXCLUSIVE_PROCESS');
    expect((await inv.discover()).gpus.map(g => g.computeMode)).toEqual([
      'Exclusive_Process',
      'Default',
    ]);
  });

  it('names the field of a bad fake GPU file', async () => {
    const bad = join(tmp, 'bad.yaml');
    writeFileSync(bad, 'gpus:\n  - uuid: nope\n');
    const run = createFakeNvidiaSmi({ file: bad });
    await expect(run('nvidia-smi', ['-q', '-x'], { timeoutMs: 1 })).rejects.toThrow(
      /bad.yaml: gpus.0.uuid: must look like/,
    );
  });
});

import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from '@jest/globals';
import { loadConfig } from '../config/config.js';
import { waitFor } from '../testing/wait.js';
import { main } from './main.js';

const dir = mkdtempSync(join(tmpdir(), 'dilu-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function capture() {
  let out = '';
  let err = '';
  return {
    io: {
      out: (s: string) => (out += s),
      err: (s: string) => (err += s),
      stopSignal: () => new Promise<string>(() => undefined),
    },
    out: () => out,
    err: () => err,
  };
}

describe('loadConfig', () => {
  it('gives defaults for an empty file and applies env then command line', () => {
    const file = join(dir, 'empty.yaml');
    writeFileSync(file, '');
    const c = loadConfig({
      file,
      env: { NODE_NAME: 'gpu-node-1', DILU_FAKE_GPUS: '/env.yaml' },
      overrides: { fakeGpus: '/cli.yaml' },
    });
    expect(c).toMatchObject({
      nodeName: 'gpu-node-1',
      fakeGpus: '/cli.yaml',
      memory: { unitMiB: 256, reservedMiB: 0 },
      agent: { port: 9450, allowedServiceAccounts: ['dilu-system/dilu-autoscaler'] },
      mps: { enabled: true, root: '/run/dilu/mps' },
    });
  });

  it('names the file and the field of a bad value or an unknown key', () => {
    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, 'memory:\n  unitMiB: 16\n');
    expect(() => loadConfig({ file: bad })).toThrow(
      /bad.yaml: memory.unitMiB: Too small: expected number to be >=64/,
    );
    writeFileSync(bad, 'agent:\n  prot: 1\n');
    expect(() => loadConfig({ file: bad })).toThrow(
      /bad.yaml: agent: Unrecognized key: "prot" \(prot\)/,
    );
  });
});

describe('dilu-device-plugin', () => {
  it('prints the effective configuration', async () => {
    const c = capture();
    expect(
      await main(['node', 'dilu-device-plugin', '--fake-gpus', '/x.yaml', '--print-config'], c.io),
    ).toBe(0);
    expect(c.out()).toContain('fakeGpus: /x.yaml');
  });

  it('exits 2 with the field named for a bad configuration', async () => {
    const bad = join(dir, 'bad2.yaml');
    writeFileSync(bad, 'logLevel: loud\n');
    const c = capture();
    expect(await main(['node', 'dilu-device-plugin', '--config', bad], c.io)).toBe(2);
    expect(c.err()).toMatch(/bad2.yaml: logLevel: Invalid option/);
  });

  it('runs in fake mode until SIGTERM: MPS daemon up, plugin socket served, both gone after', async () => {
    const root = join(dir, 'run');
    mkdirSync(join(root, 'dp'), { recursive: true });
    writeFileSync(
      join(root, 'gpus.yaml'),
      'gpus:\n  - uuid: GPU-11111111-2222-3333-4444-555555555555\n',
    );
    writeFileSync(
      join(root, 'config.yaml'),
      `devicePluginDir: ${join(root, 'dp')}
podResourcesSocket: ${join(root, 'pod-resources.sock')}
stateDir: ${join(root, 'state')}
logLevel: fatal
mps: { root: ${join(root, 'mps')} }
agent: { enabled: false }
ops: { host: 127.0.0.1, port: 0 }
publishNodeAnnotations: false
`,
    );
    let stop: (s: string) => void = () => undefined;
    const io = {
      ...capture().io,
      stopSignal: () => new Promise<string>(resolve => (stop = resolve)),
    };
    const running = main(
      [
        'node',
        'dilu-device-plugin',
        '--config',
        join(root, 'config.yaml'),
        '--fake-gpus',
        join(root, 'gpus.yaml'),
      ],
      io,
    );
    // The MPS daemon (the shipped fake) must come up: its pid file appears.
    await waitFor(
      'the fake MPS daemon',
      () =>
        existsSync(
          join(
            root,
            'mps',
            'GPU-11111111-2222-3333-4444-555555555555',
            'pipe',
            'nvidia-cuda-mps-control.pid',
          ),
        ),
      10_000,
    );
    await waitFor(
      'the plugin socket',
      () => existsSync(join(root, 'dp', 'dilu-gpu0-sm.sock')),
      10_000,
    );
    const t0 = Date.now();
    stop('SIGTERM');
    expect(await running).toBe(0);
    expect(Date.now() - t0).toBeLessThan(5000); // quit answered, nothing waited for a timeout
    expect(existsSync(join(root, 'dp', 'dilu-gpu0-sm.sock'))).toBe(false);
  }, 20_000);
});

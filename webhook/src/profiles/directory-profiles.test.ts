import { afterEach, describe, expect, it } from '@jest/globals';
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '../logger.js';
import { A100_PROFILES_DIR } from '../test-support/harness.js';
import { readProfileDirectory, watchProfileDirectory } from './directory-profiles.js';
import { createProfileStore } from './profile-store.js';

const yaml = (ns: string, latency: number) => `apiVersion: dilu.dev/v1alpha1
kind: FunctionProfile
metadata:
  name: bert
  namespace: ${ns}
spec:
  gpuModel: NVIDIA A100-SXM4-40GB
  memoryMiB: 2100
  points:
    - { batch: 1, smPercent: 20, latencyMs: ${latency}, throughputRps: 50 }
    - { batch: 1, smPercent: 100, latencyMs: 8, throughputRps: 125 }
status:
  recommendations:
    - { sloMs: 40, batch: 1, smRequest: 20, smLimit: 30, memoryMiB: 2200, throughputRps: 50 }
`;

let dir: string | undefined;
afterEach(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function until(check: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise(r => setTimeout(r, 50));
  }
}

describe('profiles from a folder', () => {
  it('reads CSV profiles for every namespace and YAML ones with their namespace and recommendations', () => {
    dir = mkdtempSync(join(tmpdir(), 'dilu-profiles-'));
    copyFileSync(join(A100_PROFILES_DIR, 'bs_sm_resnet152.csv'), join(dir, 'resnet.csv'));
    writeFileSync(join(dir, 'bert.yaml'), yaml('nlp', 20));
    writeFileSync(join(dir, 'README.md'), 'not a profile');
    const store = createProfileStore();
    store.replaceAll(readProfileDirectory(dir));
    expect(store.lookup('any-namespace', 'resnet')?.profile.points.length).toBe(60);
    expect(store.lookup('nlp', 'bert')?.recommendations).toEqual([
      { sloMs: 40, batch: 1, smRequest: 20, smLimit: 30, memoryMiB: 2200, throughputRps: 50 },
    ]);
    expect(store.lookup('other', 'bert')).toBeUndefined();
  });

  it('names the file and line of a bad profile', () => {
    dir = mkdtempSync(join(tmpdir(), 'dilu-profiles-'));
    writeFileSync(
      join(dir, 'bert.yaml'),
      yaml('nlp', 20).replace('latencyMs: 20', 'latencyMS: 20'),
    );
    expect(() => readProfileDirectory(dir ?? '')).toThrow(
      /bert\.yaml:10: spec\.points\.0\.latencyMs: /,
    );
  });

  it('reloads on change and keeps the last good profiles when a change is broken', async () => {
    dir = mkdtempSync(join(tmpdir(), 'dilu-profiles-'));
    const file = join(dir, 'bert.yaml');
    writeFileSync(file, yaml('nlp', 20));
    const store = createProfileStore();
    const counts: number[] = [];
    const w = watchProfileDirectory(dir, store, silentLogger(), n => counts.push(n));
    try {
      expect(store.isReady()).toBe(true);
      writeFileSync(file, yaml('nlp', 30));
      await until(
        () => store.lookup('nlp', 'bert')?.profile.points[0]?.latencyMs === 30,
        'the reload',
      );
      writeFileSync(file, 'apiVersion: [');
      await new Promise(r => setTimeout(r, 500));
      expect(store.lookup('nlp', 'bert')?.profile.points[0]?.latencyMs).toBe(30);
      expect(counts[0]).toBe(1);
    } finally {
      w.close();
    }
  });
});

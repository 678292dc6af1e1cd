import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from '@jest/globals';
import {
  inspectTestbed,
  KWOK_STAGES_FILE,
  loadVersions,
  TESTBED_BINARIES,
  testbedPaths,
  type TestbedVersions,
} from './cache.js';

const versions: TestbedVersions = {
  recipe: 2,
  kubernetes: 'v1.34.10',
  kine: 'v0.17.5',
  kwok: 'v0.8.0',
  kustomize: 'v5.8.2',
  minimumGo: '1.26.5',
};

const dirs: string[] = [];
const tempDir = () => {
  const d = mkdtempSync(join(tmpdir(), 'dilu-cache-test-'));
  dirs.push(d);
  return d;
};
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('testbedPaths', () => {
  it('keeps the cache outside the repository, keyed by the pinned versions', () => {
    const root = tempDir();
    const a = testbedPaths(versions, { DILU_TESTBED_CACHE: root });
    expect(a.binDir).toBe(join(root, a.key, 'bin'));
    expect(a.goModCache).toBe(join(root, 'go', 'mod'));
    const b = testbedPaths({ ...versions, kubernetes: 'v1.34.9' }, { DILU_TESTBED_CACHE: root });
    expect(b.key).not.toBe(a.key);
    expect(b.goModCache).toBe(a.goModCache);
  });

  it('defaults to ~/.cache/dilu-testbed', () => {
    expect(testbedPaths(versions, { HOME: '/home/x' }).root).toMatch(/\.cache\/dilu-testbed$/);
  });
});

describe('loadVersions', () => {
  it('reads the checked-in pins', () => {
    expect(loadVersions().versions.kubernetes).toMatch(/^v1\.\d+\.\d+$/);
  });

  it('names the field that is wrong', () => {
    const dir = tempDir();
    const file = join(dir, 'versions.json');
    writeFileSync(file, JSON.stringify({ ...versions, kine: 'latest' }));
    expect(() => loadVersions(file)).toThrow(/field "kine": a release tag such as v1\.2\.3/);
  });
});

describe('inspectTestbed', () => {
  it('accepts a build only when its manifest and every file are present', () => {
    const paths = testbedPaths(versions, { DILU_TESTBED_CACHE: tempDir() });
    expect(inspectTestbed(paths)).toEqual({ ok: false, reason: `no build in ${paths.buildDir}` });

    mkdirSync(paths.binDir, { recursive: true });
    writeFileSync(paths.manifest, JSON.stringify({ versions }));
    for (const b of TESTBED_BINARIES.filter(b => b !== 'kine')) {
      writeFileSync(join(paths.binDir, b), '');
    }
    const partial = inspectTestbed(paths);
    expect(partial.ok).toBe(false);
    expect(partial.ok ? '' : partial.reason).toContain(`lacks kine, ${KWOK_STAGES_FILE}`);

    writeFileSync(join(paths.binDir, 'kine'), '');
    writeFileSync(join(paths.binDir, KWOK_STAGES_FILE), '');
    expect(inspectTestbed(paths).ok).toBe(true);
  });
});

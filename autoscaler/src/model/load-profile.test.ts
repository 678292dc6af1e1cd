import { afterAll, describe, expect, it } from '@jest/globals';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadProfile, loadProfiles, parseProfile } from './load-profile.js';
import { ProfileError } from './profile-error.js';

const tempDirs: string[] = [];
function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  tempDirs.push(dir);
  return dir;
}
afterAll(() => {
  for (const d of tempDirs) rmSync(d, { recursive: true, force: true });
});

const bundled = fileURLToPath(new URL('../../data/profiles/dilu-a100/', import.meta.url));

describe('loadProfiles', () => {
  it('loads every profile of a directory in name order', () => {
    const ps = loadProfiles([bundled]);
    expect(ps.map(p => p.name)).toEqual(['bert_base', 'llama2', 'resnet152']);
    expect(ps.every(p => p.points.length === 60)).toBe(true);
  });

  it('loads single files and reports unreadable paths', () => {
    const dir = tempDir('dilu-prof-');
    const f = join(dir, 'a.csv');
    writeFileSync(f, '1,10,0.01,100\n');
    expect(loadProfiles([f])[0]?.points).toHaveLength(1);
    expect(() => loadProfile(join(dir, 'missing.csv'))).toThrow(ProfileError);
    expect(() => loadProfiles([join(dir, 'nope')])).toThrow(/cannot read profile path/);
    const empty = tempDir('dilu-prof-');
    expect(() => loadProfiles([empty])).toThrow(/holds no .csv, .yaml or .yml/);
  });

  it('rejects unknown extensions, naming the allowed ones', () => {
    expect(() => parseProfile('', 'x.json')).toThrow(/allowed: .csv, .yaml, .yml/);
  });
});

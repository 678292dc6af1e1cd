import { readdirSync, readFileSync, statSync } from 'node:fs';
import { extname, join } from 'node:path';
import type { FunctionProfile } from './profile.js';
import { ProfileError } from './profile-error.js';
import { parseProfileCsv } from './csv-profile.js';
import { parseFunctionProfileYaml } from './function-profile.js';

const CSV = new Set(['.csv']);
const YAML = new Set(['.yaml', '.yml']);

/** Parses profile text by its file name: `.csv` (Dilu format) or `.yaml`/`.yml` (FunctionProfile). */
export function parseProfile(text: string, file: string): FunctionProfile {
  const ext = extname(file).toLowerCase();
  if (CSV.has(ext)) return parseProfileCsv(text, file);
  if (YAML.has(ext)) return parseFunctionProfileYaml(text, file);
  throw new ProfileError(
    file,
    undefined,
    `unknown profile format '${ext}' (allowed: .csv, .yaml, .yml)`,
  );
}

export function loadProfile(file: string): FunctionProfile {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ProfileError(file, undefined, `cannot read profile: ${(err as Error).message}`, {
      cause: err,
    });
  }
  return parseProfile(text, file);
}

/**
 * Loads every profile named by `paths`: files are read as they are, directories contribute
 * their `.csv`, `.yaml` and `.yml` files in name order.
 */
export function loadProfiles(paths: readonly string[]): FunctionProfile[] {
  const files: string[] = [];
  for (const p of paths) {
    let isDir: boolean;
    try {
      isDir = statSync(p).isDirectory();
    } catch (err) {
      throw new ProfileError(p, undefined, `cannot read profile path: ${(err as Error).message}`, {
        cause: err,
      });
    }
    if (!isDir) {
      files.push(p);
      continue;
    }
    const inDir = readdirSync(p)
      .filter(f => CSV.has(extname(f).toLowerCase()) || YAML.has(extname(f).toLowerCase()))
      .sort()
      .map(f => join(p, f));
    if (inDir.length === 0) {
      throw new ProfileError(p, undefined, 'directory holds no .csv, .yaml or .yml profiles');
    }
    files.push(...inDir);
  }
  return files.map(loadProfile);
}

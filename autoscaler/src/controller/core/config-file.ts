import { readFileSync } from 'node:fs';
import { load } from 'js-yaml';
import { ConfigError } from './config.js';

/** Reads a YAML (or JSON) configuration file for `dilu autoscaler --config`. */
export function readConfigFile(file: string | undefined): Record<string, unknown> {
  if (file === undefined) return {};
  let doc: unknown;
  try {
    doc = load(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new ConfigError('--config', `${file}: ${String(err)}`);
  }
  if (doc === undefined || doc === null) return {};
  if (typeof doc !== 'object' || Array.isArray(doc)) {
    throw new ConfigError('--config', `${file}: expected a mapping of settings`);
  }
  return doc as Record<string, unknown>;
}

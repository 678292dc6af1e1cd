import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** The package's test-fixtures folder (shipped: fake mode uses the fake MPS daemon in it). */
export const FIXTURES_DIR = fileURLToPath(new URL('../../test-fixtures/', import.meta.url));

export function fixture(relative: string): string {
  return readFileSync(`${FIXTURES_DIR}${relative}`, 'utf8');
}

export const FAKE_MPS_CONTROL = `${FIXTURES_DIR}fake-mps-control.mjs`;

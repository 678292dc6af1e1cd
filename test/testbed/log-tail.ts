import { readFileSync } from 'node:fs';

/** The last lines of a log file, for error messages; empty when the file cannot be read. */
export function tailOf(file: string, lines: number): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}

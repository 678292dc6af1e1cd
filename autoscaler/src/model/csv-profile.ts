import { basename, extname } from 'node:path';
import type { FunctionProfile, ProfilePoint } from './profile.js';
import { ProfileError } from './profile-error.js';
import { validatePoints } from './validate-points.js';

/** The header line we accept; the published Dilu files have none. */
const HEADER = ['batch_size', 'sm_percent', 'latency_s', 'throughput_rps'];
const COLUMNS = 'batch, SM %, latency in s, throughput in rps';

/**
 * Parses the CSV profile format published with Dilu: no header, four columns
 * (batch, SM %, latency in seconds, throughput in requests per second). An optional header
 * line naming those columns is accepted. Blank lines and lines starting with '#' are skipped.
 */
export function parseProfileCsv(text: string, file: string): FunctionProfile {
  const points: ProfilePoint[] = [];
  const lines = text.split(/\r?\n/);
  lines.forEach((raw, i) => {
    const lineNo = i + 1;
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const cells = line.split(',').map(c => c.trim());
    if (points.length === 0 && cells.join(',').toLowerCase() === HEADER.join(',')) return;
    if (cells.length !== 4) {
      throw new ProfileError(
        file,
        lineNo,
        `expected 4 columns (${COLUMNS}), found ${cells.length}`,
      );
    }
    const [batch, sm, latencyS, rps] = cells.map((c, col) => parseNumber(c, col, file, lineNo));
    points.push({
      batch: batch ?? NaN,
      smPercent: sm ?? NaN,
      latencyMs: (latencyS ?? NaN) * 1000,
      throughputRps: rps ?? NaN,
      line: lineNo,
    });
  });
  validatePoints(file, points);
  return { name: basename(file, extname(file)).replace(/^bs_sm_/, ''), source: file, points };
}

function parseNumber(cell: string, col: number, file: string, line: number): number {
  const name = HEADER[col] ?? `column ${col + 1}`;
  // Number('') is 0, which would silently turn an empty cell into a valid-looking value.
  const value = cell === '' ? NaN : Number(cell);
  if (Number.isNaN(value)) {
    throw new ProfileError(file, line, `${name} must be a number, got '${cell}'`);
  }
  if (value < 0) {
    throw new ProfileError(file, line, `${name} must not be negative, got ${cell}`);
  }
  return value;
}

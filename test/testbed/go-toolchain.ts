// Running the Go tool for the test-bed build: version check, and commands whose chatter goes to
// a log file so the console shows only progress (and the log's tail when a step fails).
import { spawn, spawnSync } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { tailOf } from './log-tail.js';

export class SetupError extends Error {
  override name = 'SetupError';
}

/** "go1.26.8" -> [1, 26, 8]; "1.26" -> [1, 26, 0]. */
export function parseGoVersion(text: string): [number, number, number] | undefined {
  const m = /(?:go)?(\d+)\.(\d+)(?:\.(\d+))?/.exec(text);
  if (m === null) return undefined;
  return [Number(m[1]), Number(m[2]), Number(m[3] ?? 0)];
}

export function goVersionAtLeast(found: string, minimum: string): boolean {
  const a = parseGoVersion(found);
  const b = parseGoVersion(minimum);
  if (a === undefined || b === undefined) return false;
  for (let i = 0; i < 3; i++) {
    if (a[i] !== b[i]) return (a[i] ?? 0) > (b[i] ?? 0);
  }
  return true;
}

/** The installed Go's version ("go1.26.8"), or a SetupError saying what is missing. */
export function requireGo(minimum: string, env: NodeJS.ProcessEnv): string {
  const r = spawnSync('go', ['env', 'GOVERSION'], { env, encoding: 'utf8' });
  if (r.error !== undefined || r.status !== 0) {
    throw new SetupError(
      'Go is not installed or not on PATH; the test bed is built from Go modules once per ' +
        `machine and needs Go >= ${minimum} (https://go.dev/dl/).`,
    );
  }
  const version = r.stdout.trim();
  if (!goVersionAtLeast(version, minimum)) {
    throw new SetupError(
      `Go ${version} is too old: the pinned kine and kwok need Go >= ${minimum}. ` +
        'Install a newer Go, or set GOTOOLCHAIN=auto to let Go fetch one.',
    );
  }
  return version;
}

export interface GoRunner {
  /** Runs `go <args>`; stdout is returned, everything else goes to the log. */
  go(args: readonly string[], opts?: { cwd?: string }): Promise<string>;
}

export function createGoRunner(deps: {
  env: NodeJS.ProcessEnv;
  logFile: string;
  cwd: string;
}): GoRunner {
  const log = createWriteStream(deps.logFile, { flags: 'a' });
  return {
    go: (args, opts = {}) =>
      new Promise((resolve, reject) => {
        const cwd = opts.cwd ?? deps.cwd;
        log.write(`\n$ (cd ${cwd} && go ${args.join(' ')})\n`);
        const child = spawn('go', args, { cwd, env: deps.env, stdio: ['ignore', 'pipe', 'pipe'] });
        let stdout = '';
        child.stdout.on('data', (chunk: Buffer) => {
          stdout += chunk.toString();
          log.write(chunk);
        });
        child.stderr.on('data', (chunk: Buffer) => log.write(chunk));
        child.on('error', reject);
        child.on('close', code => {
          if (code === 0) {
            resolve(stdout);
            return;
          }
          // Let the log stream flush before quoting its tail.
          log.write('', () => {
            reject(
              new SetupError(
                `go ${args.slice(0, 2).join(' ')} failed (exit ${String(code)}); ` +
                  `last lines of ${deps.logFile}:\n${tailOf(deps.logFile, 30)}`,
              ),
            );
          });
        });
      }),
  };
}

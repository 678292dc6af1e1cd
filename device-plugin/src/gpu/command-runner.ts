import { execFile } from 'node:child_process';

export interface CommandResult {
  readonly stdout: string;
  readonly stderr: string;
  /** The process's exit status; `null` if a signal ended it. */
  readonly exitCode: number | null;
}

/**
 * Runs a program and returns its output whatever its exit status. The GPU inventory talks to
 * `nvidia-smi` only through this, so the fake GPU backend replaces the program and nothing
 * else: parsing and health rules are the same code in both modes.
 */
export type CommandRunner = (
  file: string,
  args: readonly string[],
  options: { readonly timeoutMs: number },
) => Promise<CommandResult>;

/** The real runner: `execFile`, no shell. Rejects only when the program cannot run or times out. */
export function createExecRunner(): CommandRunner {
  return (file, args, { timeoutMs }) =>
    new Promise((resolve, reject) => {
      execFile(
        file,
        [...args],
        { timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024, encoding: 'utf8' },
        (err, stdout, stderr) => {
          if (err === null) {
            resolve({ stdout, stderr, exitCode: 0 });
            return;
          }
          const e = err as NodeJS.ErrnoException & { killed?: boolean; code?: unknown };
          if (typeof e.code === 'number') {
            resolve({ stdout, stderr, exitCode: e.code });
            return;
          }
          if (e.killed === true) {
            reject(new Error(`${file} did not finish within ${timeoutMs} ms`, { cause: err }));
            return;
          }
          reject(new Error(`cannot run ${file}: ${err.message}`, { cause: err }));
        },
      );
    });
}

import { spawn } from 'node:child_process';

/** Where one GPU's MPS control daemon keeps its pipes and logs, and how to reach it. */
export interface MpsEndpoint {
  /** argv prefix of nvidia-cuda-mps-control (e.g. `['nvidia-cuda-mps-control']`). */
  readonly command: readonly string[];
  readonly pipeDir: string;
  readonly logDir: string;
  /** GPU UUID the daemon (and so its MPS server) may see. */
  readonly gpuUuid: string;
  /** Extra environment, e.g. test knobs of the fake daemon. */
  readonly env?: Readonly<Record<string, string>>;
}

/** The environment a daemon and its control clients run with. */
export function mpsEnv(ep: MpsEndpoint): NodeJS.ProcessEnv {
  return {
    ...process.env,
    ...ep.env,
    // Scope the daemon to one GPU: its server then sees only this GPU (as device 0), so a
    // client cannot reach another GPU through it.
    CUDA_VISIBLE_DEVICES: ep.gpuUuid,
    CUDA_MPS_PIPE_DIRECTORY: ep.pipeDir,
    CUDA_MPS_LOG_DIRECTORY: ep.logDir,
  };
}

/**
 * Sends one command to a running control daemon, the way `echo <cmd> | nvidia-cuda-mps-control`
 * does, and returns what it printed. Rejects when no daemon answers or it takes too long.
 */
export function runMpsCommand(
  ep: MpsEndpoint,
  command: string,
  timeoutMs: number,
): Promise<string> {
  const [file, ...args] = ep.command;
  if (file === undefined) return Promise.reject(new Error('mps control command is empty'));
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { env: mpsEnv(ep), stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`MPS command "${command}" got no answer within ${timeoutMs} ms`));
    }, timeoutMs);
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', e => {
      clearTimeout(timer);
      reject(new Error(`cannot run ${file}: ${e.message}`, { cause: e }));
    });
    child.on('close', code => {
      clearTimeout(timer);
      if (code === 0) resolve(out.trim());
      else
        reject(new Error(`MPS command "${command}" failed (exit ${code}): ${(err || out).trim()}`));
    });
    child.stdin.end(`${command}\n`);
  });
}

import { Command, CommanderError } from 'commander';
import yaml from 'js-yaml';
import { pino } from 'pino';
import { createDevicePluginApp } from '../app/device-plugin-app.js';
import { ConfigError, loadConfig } from '../config/config.js';

export interface MainIo {
  out(s: string): void;
  err(s: string): void;
  /** Resolves when the process is asked to stop (SIGTERM/SIGINT). */
  stopSignal(): Promise<string>;
}

const processIo: MainIo = {
  out: s => process.stdout.write(s),
  err: s => process.stderr.write(s),
  stopSignal: () =>
    new Promise(resolve => {
      process.once('SIGTERM', () => {
        resolve('SIGTERM');
      });
      process.once('SIGINT', () => {
        resolve('SIGINT');
      });
    }),
};

interface Options {
  config?: string;
  fakeGpus?: string;
  logLevel?: string;
  printConfig: boolean;
}

/** `dilu-device-plugin`: runs until SIGTERM; returns the exit code. */
export async function main(argv: readonly string[], io: MainIo = processIo): Promise<number> {
  const program = new Command('dilu-device-plugin')
    .description(
      'Kubelet device plugin for fractional MPS GPU slices, MPS daemons and the node agent',
    )
    .option(
      '--config <file>',
      'YAML configuration (env DILU_CONFIG); defaults apply to absent fields',
    )
    .option('--fake-gpus <file>', 'emulate nvidia-smi from a fake GPU file (env DILU_FAKE_GPUS)')
    .option('--log-level <level>', 'fatal|error|warn|info|debug|trace (env DILU_LOG_LEVEL)')
    .option('--print-config', 'print the effective configuration and exit', false)
    .exitOverride()
    .configureOutput({
      writeOut: s => {
        io.out(s);
      },
      writeErr: s => {
        io.err(s);
      },
    });
  try {
    program.parse([...argv]);
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode;
    throw err;
  }
  const opts = program.opts<Options>();
  let config;
  try {
    config = loadConfig({
      file: opts.config ?? (process.env.DILU_CONFIG === '' ? undefined : process.env.DILU_CONFIG),
      env: process.env,
      overrides: { fakeGpus: opts.fakeGpus, logLevel: opts.logLevel },
    });
  } catch (err) {
    if (err instanceof ConfigError) {
      io.err(`error: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
  if (opts.printConfig) {
    io.out(yaml.dump(config));
    return 0;
  }
  const log = pino({ level: config.logLevel, base: { node: config.nodeName || undefined } });
  const app = createDevicePluginApp({ config, log });
  // Listen for the stop signal before starting, so a SIGTERM during start is not lost.
  const stopSignal = io.stopSignal();
  try {
    await app.start();
  } catch (err) {
    log.fatal({ err: (err as Error).message }, 'device plugin failed to start');
    await app.stop().catch(() => undefined);
    return 1;
  }
  log.info({ fake: config.fakeGpus !== null }, 'device plugin running');
  const signal = await stopSignal;
  log.info({ signal }, 'stopping');
  await app.stop();
  return 0;
}

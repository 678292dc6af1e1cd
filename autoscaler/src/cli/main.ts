import { Command, CommanderError } from 'commander';
import { ProfileError } from '../model/index.js';
import type { CliOutput } from './output.js';
import { processOutput } from './output.js';
import { runModelCheck } from './model-check.js';
import { runPredict } from './predict.js';
import { collect, numberIn } from './options.js';
import { BUNDLED_PROFILES_DIR } from './paths.js';

/**
 * Builds the `dilu` command tree. Each action stores its exit code instead of calling
 * process.exit, so the CLI can be driven from tests in-process.
 */
export function buildCli(output: CliOutput, setExit: (code: number) => void): Command {
  const program = new Command('dilu')
    .description('Introspective GPU elasticity for serverless DL on Kubernetes')
    .exitOverride()
    .configureOutput({
      writeOut: s => {
        output.out(s);
      },
      writeErr: s => {
        output.err(s);
      },
    });

  const model = program.command('model').description('performance model of DL functions');
  model
    .command('check')
    .description('leave-one-out accuracy of the latency predictor on measured profiles')
    .option(
      '--profiles <path>',
      'profile file or directory (.csv or FunctionProfile .yaml); repeatable',
      collect,
    )
    .option('--max-mape <percent>', 'fail when the mean error is above this', numberIn(0, 100), 5)
    .option('--json', 'machine-readable output', false)
    .action((opts: { profiles?: string[]; maxMape: number; json: boolean }) => {
      setExit(
        runModelCheck(
          {
            profiles: opts.profiles ?? [BUNDLED_PROFILES_DIR],
            maxMape: opts.maxMape,
            json: opts.json,
          },
          output,
        ),
      );
    });

  program
    .command('predict')
    .description('predicted latency, band and throughput of one instance at (batch, SM %)')
    .requiredOption('--profile <file>', 'profile (.csv or FunctionProfile .yaml)')
    .requiredOption('--batch <n>', 'batch size', numberIn(1, 4096, true))
    .requiredOption('--sm <percent>', 'SM percentage', numberIn(1, 100))
    .option('--json', 'machine-readable output', false)
    .action((opts: { profile: string; batch: number; sm: number; json: boolean }) => {
      setExit(runPredict(opts, output));
    });

  return program;
}

/** Runs the CLI and returns the process exit code. */
export async function main(
  argv: readonly string[],
  output: CliOutput = processOutput,
): Promise<number> {
  let code = 0;
  const program = buildCli(output, c => (code = c));
  try {
    await program.parseAsync([...argv]);
    return code;
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode;
    if (err instanceof ProfileError) {
      output.err(`error: ${err.message}`);
      return 2;
    }
    throw err;
  }
}

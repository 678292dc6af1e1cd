import type { Readable, Writable } from 'node:stream';
import { Command, CommanderError } from 'commander';
import { ProfileError } from '../model/index.js';
import type { CliOutput } from './output.js';
import { processOutput } from './output.js';
import { runModelCheck } from './model-check.js';
import { runPredict } from './predict.js';
import { runProfileKnee } from './profile-knee.js';
import { runProfileSearch } from './profile-search.js';
import { ProtocolError } from '../profiling/jsonl-measure.js';
import { collect, numberIn, oneOf } from './options.js';
import { BUNDLED_DEFAULT_SCENARIO, BUNDLED_PROFILES_DIR } from './paths.js';
import { registerSimulate } from './simulate-command.js';
import { ScenarioError, TraceError } from '../sim/errors.js';
import { runAutoscaler } from './autoscaler.js';
import type { AutoscalerCommandOptions } from './autoscaler.js';
import { ConfigError } from '../controller/core/config.js';

/**
 * Builds the `dilu` command tree. Each action stores its exit code instead of calling
 * process.exit, so the CLI can be driven from tests in-process.
 */
export interface CliStdio {
  readonly input: Readable;
  readonly output: Writable;
}

export function buildCli(
  output: CliOutput,
  setExit: (code: number) => void,
  stdio: CliStdio = { input: process.stdin, output: process.stdout },
): Command {
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

  const profile = program.command('profile').description('profiling searches');
  profile
    .command('search')
    .description('cheapest (batch, SM %) meeting a batch-latency SLO, with few measurements')
    .option('--profile <file>', 'answer probes from a measured profile (.csv or .yaml)')
    .option(
      '--protocol <kind>',
      "measure through a harness over stdin/stdout ('jsonl')",
      oneOf(['jsonl']),
    )
    .requiredOption('--slo-ms <ms>', 'latency one batch may take', numberIn(0.001, 600000))
    .option('--budget <n>', 'most configurations to measure', numberIn(1, 1000, true), 12)
    .option('--sm-step <percent>', 'SM granularity', numberIn(1, 100, true), 10)
    .option('--max-batch <n>', 'largest batch size to try', numberIn(1, 65536, true), 1024)
    .option('--name <name>', 'function name for the FunctionProfile (protocol mode)', 'function')
    .option('--gpu-model <name>', 'GPU model for the FunctionProfile (protocol mode)', 'unknown')
    .option('--json', 'machine-readable output', false)
    .action(
      async (opts: {
        profile?: string;
        protocol?: 'jsonl';
        sloMs: number;
        budget: number;
        smStep: number;
        maxBatch: number;
        name: string;
        gpuModel: string;
        json: boolean;
      }) => {
        setExit(await runProfileSearch(opts, output, stdio));
      },
    );
  profile
    .command('knee')
    .description('smallest SM % giving nearly full-GPU throughput (best-effort/training jobs)')
    .requiredOption('--profile <file>', 'measured profile (.csv or .yaml)')
    .requiredOption('--batch <n>', 'batch size', numberIn(1, 65536, true))
    .option(
      '--threshold <fraction>',
      'share of full-GPU throughput to keep',
      numberIn(0.01, 1),
      0.98,
    )
    .option('--sm-step <percent>', 'SM granularity', numberIn(1, 100, true), 5)
    .option('--json', 'machine-readable output', false)
    .action(
      async (opts: {
        profile: string;
        batch: number;
        threshold: number;
        smStep: number;
        json: boolean;
      }) => {
        setExit(await runProfileKnee(opts, output));
      },
    );

  registerSimulate(program, output, setExit, BUNDLED_DEFAULT_SCENARIO);

  program
    .command('autoscaler')
    .description('run the 2-D co-scaling controller (Knative autoscaler class or OpenFaaS mode)')
    .option('--kubeconfig <file>', 'kubeconfig (default: in-cluster, then ~/.kube/config)')
    .option('--mode <mode>', 'knative or openfaas', oneOf(['knative', 'openfaas'] as const))
    .option('--config <file>', 'YAML settings (docs/autoscaler.md); flags override them')
    .option('--namespace <ns>', 'namespace of the leader-election Lease')
    .option('--port <port>', 'HTTP port (metrics, health, alerts)', numberIn(0, 65535, true))
    .option('--identity <name>', 'name of this replica in the Lease (default: POD_NAME)')
    .option('--log-level <level>', 'pino level', oneOf(['debug', 'info', 'warn', 'error']), 'info')
    .action(async (opts: AutoscalerCommandOptions) => {
      setExit(await runAutoscaler(opts, output));
    });

  return program;
}

/** Runs the CLI and returns the process exit code. */
export async function main(
  argv: readonly string[],
  output: CliOutput = processOutput,
  stdio?: CliStdio,
): Promise<number> {
  let code = 0;
  const program = buildCli(output, c => (code = c), stdio);
  try {
    await program.parseAsync([...argv]);
    return code;
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode;
    if (
      err instanceof ProfileError ||
      err instanceof ProtocolError ||
      err instanceof RangeError ||
      err instanceof ScenarioError ||
      err instanceof TraceError ||
      err instanceof ConfigError
    ) {
      output.err(`error: ${err.message}`);
      return 2;
    }
    throw err;
  }
}

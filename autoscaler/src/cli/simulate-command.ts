import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import { defaultFactories } from '../sim/registry.js';
import type { PolicyFactories, PolicyName } from '../sim/run.js';
import { POLICY_NAMES, availablePolicies, parsePolicies } from '../sim/run.js';
import { numberIn } from './options.js';
import type { CliOutput } from './output.js';
import { runSimulate } from './simulate.js';

function policiesOption(raw: string): PolicyName[] {
  try {
    return parsePolicies(raw);
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message.replace(/^--policies: /, ''));
  }
}

/** Registers `dilu simulate` on the CLI. */
export function registerSimulate(
  program: Command,
  output: CliOutput,
  setExit: (code: number) => void,
  defaultScenario: string,
  factories: () => PolicyFactories = defaultFactories,
): void {
  program
    .command('simulate')
    .description(
      'compare GPU cost and SLO violations of dilu and the baselines on a trace-driven scenario',
    )
    .option('--scenario <yaml>', 'scenario file (default: the bundled default scenario)')
    .option(
      '--policies <list>',
      `comma-separated, from ${POLICY_NAMES.join(', ')} (default: all)`,
      policiesOption,
    )
    .option(
      '--seed <n>',
      "seed of the arrival streams (default: the scenario's)",
      numberIn(0, 4294967295, true),
    )
    .option('--json <file>', "also write results.json to <file>; '-' prints only it, on stdout")
    .option('--report <dir>', 'directory for index.html and results.json', 'reports/simulate')
    .option('--no-report', 'write no HTML report')
    .option('--no-progress', 'no progress bar (it is off anyway when stderr is not a terminal)')
    .action(
      (opts: {
        scenario?: string;
        policies?: PolicyName[];
        seed?: number;
        json?: string;
        report: string | false;
        progress: boolean;
      }) => {
        const built = factories();
        setExit(
          runSimulate(
            {
              scenario: opts.scenario ?? defaultScenario,
              policies: opts.policies ?? availablePolicies(built),
              seed: opts.seed,
              json: opts.json,
              report: opts.report === false ? undefined : opts.report,
              progress: opts.progress && process.stderr.isTTY,
            },
            { factories: built },
            output,
          ),
        );
      },
    );
}

import { Command, CommanderError, InvalidArgumentError } from 'commander';
import { ConfigError, loadConfig } from '../config.js';
import { createLogger } from '../logger.js';

/** Where commands write; injected so tests can capture output without spawning processes. */
export interface CliOutput {
  out(text: string): void;
  err(text: string): void;
}

export const processOutput: CliOutput = {
  out: text => process.stdout.write(text.endsWith('\n') ? text : `${text}\n`),
  err: text => process.stderr.write(text.endsWith('\n') ? text : `${text}\n`),
};

function port(raw: string): number {
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0 || n > 65535) {
    throw new InvalidArgumentError(`must be a port number 0..65535, got "${raw}"`);
  }
  return n;
}

function positiveInt(raw: string): number {
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1)
    throw new InvalidArgumentError(`must be an integer >= 1, got "${raw}"`);
  return n;
}

interface ServeFlags {
  port?: number;
  host?: string;
  tlsCert?: string;
  tlsKey?: string;
  kubeconfig?: string;
  placementUrl?: string;
  profiles?: string;
  logLevel?: string;
}

interface CertsFlags {
  namespace: string;
  service: string;
  secret: string;
  webhookConfig: string;
  kubeconfig?: string;
  renewBeforeDays: number;
}

/**
 * `dilu-webhook [serve]` runs the admission server until SIGTERM; `dilu-webhook certs` makes the
 * TLS Secret and patches the caBundle. Actions report an exit code instead of exiting.
 */
export function buildCli(output: CliOutput, setExit: (code: number) => void): Command {
  const program = new Command('dilu-webhook')
    .description('Mutating admission webhook: sizes, places and MPS-wires GPU function pods')
    .exitOverride()
    .configureOutput({
      writeOut: s => {
        output.out(s);
      },
      writeErr: s => {
        output.err(s);
      },
    });

  program
    .command('serve', { isDefault: true })
    .description('serve AdmissionReviews over HTTPS (POST /mutate), /healthz, /readyz, /metrics')
    .option('--port <n>', 'HTTPS port (default 8443)', port)
    .option('--host <addr>', 'listen address (default 0.0.0.0)')
    .option('--tls-cert <file>', 'PEM serving certificate (reloaded when it changes)')
    .option('--tls-key <file>', 'PEM private key')
    .option('--kubeconfig <file>', 'kubeconfig (default: the service account in a pod)')
    .option(
      '--placement-url <url>',
      'placement service (default http://dilu-autoscaler.dilu-system:8080)',
    )
    .option(
      '--profiles <dir>',
      'read FunctionProfiles (.yaml, .csv) from a folder instead of the API server',
    )
    .option('--log-level <level>', 'fatal, error, warn, info, debug, trace or silent')
    .addHelpText(
      'after',
      '\nEvery option can also be set as DILU_WEBHOOK_<NAME> (e.g. DILU_WEBHOOK_TLS_CERT).',
    )
    .action(async (flags: ServeFlags) => {
      const config = loadConfig({ ...flags });
      const log = createLogger(config.logLevel);
      const { serve } = await import('../serve.js');
      const stop = await serve(config, log);
      await new Promise<void>(resolve => {
        const onSignal = (signal: string): void => {
          log.info({ signal }, 'shutting down');
          void stop().then(resolve);
        };
        process.once('SIGTERM', onSignal);
        process.once('SIGINT', onSignal);
      });
      setExit(0);
    });

  program
    .command('certs')
    .description(
      'create (or renew) the CA and serving certificate Secret and patch the webhook caBundle',
    )
    .option('--namespace <ns>', 'namespace of the webhook Service and Secret', 'dilu-system')
    .option('--service <name>', 'webhook Service name', 'dilu-webhook')
    .option('--secret <name>', 'TLS Secret to write', 'dilu-webhook-tls')
    .option('--webhook-config <name>', 'MutatingWebhookConfiguration to patch', 'dilu-webhook')
    .option('--kubeconfig <file>', 'kubeconfig (default: the service account in a pod)')
    .option(
      '--renew-before-days <n>',
      'renew the serving certificate this long before expiry',
      positiveInt,
      30,
    )
    .action(async (flags: CertsFlags) => {
      const { KubeConfig } = await import('@kubernetes/client-node');
      const { createCertKubeClient } = await import('../kube/cert-client.js');
      const { ensureWebhookCertificates } = await import('../certs/ensure-certs.js');
      const kc = new KubeConfig();
      if (flags.kubeconfig) kc.loadFromFile(flags.kubeconfig);
      else kc.loadFromDefault();
      const result = await ensureWebhookCertificates({
        client: createCertKubeClient(kc),
        namespace: flags.namespace,
        secretName: flags.secret,
        serviceName: flags.service,
        webhookConfigName: flags.webhookConfig,
        renewBeforeDays: flags.renewBeforeDays,
      });
      output.out(
        `secret ${flags.namespace}/${flags.secret}: ${result.action} (${result.reason}); ` +
          `caBundle of ${flags.webhookConfig} set; DNS names ${result.dnsNames.join(', ')}`,
      );
      setExit(0);
    });
  return program;
}

export async function main(
  argv: readonly string[],
  output: CliOutput = processOutput,
): Promise<number> {
  let code = 0;
  const program = buildCli(output, c => {
    code = c;
  });
  try {
    await program.parseAsync([...argv]);
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode;
    if (err instanceof ConfigError) {
      output.err(`error: ${err.message}`);
      return 2;
    }
    output.err(`error: ${(err as Error).message}`);
    return 1;
  }
  return code;
}

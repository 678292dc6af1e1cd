import { readFileSync } from 'node:fs';
import yaml from 'js-yaml';
import { z } from 'zod';

const seconds = (def: number): z.ZodDefault<z.ZodNumber> => z.number().positive().default(def);

/**
 * The plugin's whole configuration, loaded once at start from a YAML file, a few environment
 * variables and the command line (in that order of precedence, the last winning). Every field
 * has a default, so an empty file is a valid configuration for a standard GPU node.
 */
export const configSchema = z.strictObject({
  /** This node's name (the downward API sets NODE_NAME); needed to publish node annotations. */
  nodeName: z.string().default(''),
  devicePluginDir: z.string().default('/var/lib/kubelet/device-plugins'),
  podResourcesSocket: z.string().default('/var/lib/kubelet/pod-resources/kubelet.sock'),
  /**
   * Holds `allocations/<id>/quota.json`; mounted at the same path on the host and in the pod.
   * On tmpfs (/run) by default: the files matter exactly as long as the containers that read
   * them, which a reboot ends too (docs/decisions/0144).
   */
  stateDir: z.string().default('/run/dilu/state'),
  sysfsRoot: z.string().default('/sys'),
  logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace']).default('info'),
  memory: z
    .strictObject({
      /** MiB per `dilu.dev/gpu<i>-mem` device. At least 64 so that IDs stay 4 digits. */
      unitMiB: z.number().int().min(64).max(65536).default(256),
      /** MiB of each GPU kept out of the advertised units (e.g. for the MPS server's context). */
      reservedMiB: z.number().int().nonnegative().default(0),
    })
    .prefault({}),
  health: z.strictObject({ intervalSeconds: seconds(10) }).prefault({}),
  nvidiaSmi: z
    .strictObject({
      path: z.string().default('nvidia-smi'),
      timeoutSeconds: seconds(20),
    })
    .prefault({}),
  /** A fake GPU file (see docs/device-plugin.md): emulate nvidia-smi instead of running it. */
  fakeGpus: z.string().nullable().default(null),
  mps: z
    .strictObject({
      enabled: z.boolean().default(true),
      /** Host directory (same path in the pod) for `<uuid>/pipe`, `<uuid>/log` and `shm`. */
      root: z.string().default('/run/dilu/mps'),
      /** argv prefix of the control program; in fake mode the shipped fake daemon by default. */
      controlCommand: z.array(z.string().min(1)).min(1).nullable().default(null),
      /** Set EXCLUSIVE_PROCESS compute mode so that only the MPS server uses the GPU. */
      exclusiveProcess: z.boolean().default(true),
      probeIntervalSeconds: seconds(10),
      probeTimeoutSeconds: seconds(5),
      startTimeoutSeconds: seconds(30),
      stopTimeoutSeconds: seconds(10),
      backoffInitialSeconds: seconds(1),
      backoffMaxSeconds: seconds(60),
    })
    .prefault({}),
  kubelet: z
    .strictObject({
      retrySeconds: seconds(5),
      checkIntervalSeconds: seconds(5),
      dialTimeoutSeconds: seconds(5),
    })
    .prefault({}),
  agent: z
    .strictObject({
      enabled: z.boolean().default(true),
      host: z.string().default('0.0.0.0'),
      port: z.number().int().min(0).max(65535).default(9450),
      tls: z
        .strictObject({
          certFile: z.string().default('/etc/dilu/node-agent-tls/tls.crt'),
          keyFile: z.string().default('/etc/dilu/node-agent-tls/tls.key'),
          /** Development only: a throw-away self-signed certificate instead of the files. */
          selfSigned: z.boolean().default(false),
        })
        .prefault({}),
      /** `<namespace>/<name>` of the service accounts allowed to call the API. */
      allowedServiceAccounts: z
        .array(z.string().regex(/^[a-z0-9-]+\/[a-z0-9.-]+$/, 'must be <namespace>/<name>'))
        .default(['dilu-system/dilu-autoscaler']),
      /** Audiences the caller's token must carry (TokenReview spec.audiences); [] for any. */
      audiences: z.array(z.string()).default(['dilu-node-agent']),
      tokenCacheSeconds: seconds(30),
      syncIntervalSeconds: seconds(10),
      /** How long an allocation no container holds is kept before its directory is removed. */
      orphanGraceSeconds: seconds(300),
    })
    .prefault({}),
  ops: z
    .strictObject({
      host: z.string().default('0.0.0.0'),
      port: z.number().int().min(0).max(65535).default(9451),
    })
    .prefault({}),
  /** Publish `dilu.dev/memory-unit-mib` on the Node (needs `patch` on nodes). */
  publishNodeAnnotations: z.boolean().default(true),
});
export type Config = z.infer<typeof configSchema>;

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

export interface ConfigSources {
  /** YAML file; `undefined` for defaults only. */
  readonly file?: string;
  readonly env?: NodeJS.ProcessEnv;
  /** Values from the command line, applied last. */
  readonly overrides?: { fakeGpus?: string; logLevel?: string };
}

function readYaml(file: string | undefined): Record<string, unknown> {
  if (file === undefined) return {};
  let raw: unknown;
  try {
    raw = yaml.load(readFileSync(file, 'utf8')) ?? {};
  } catch (err) {
    throw new ConfigError(`${file}: ${(err as Error).message}`);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new ConfigError(`${file}: must be a YAML mapping`);
  }
  return { ...(raw as Record<string, unknown>) };
}

const nonEmpty = (v: string | undefined): v is string => v !== undefined && v !== '';

/** Loads and validates the configuration; errors name the source and the field. */
export function loadConfig(sources: ConfigSources): Config {
  const merged = readYaml(sources.file);
  const env = sources.env ?? {};
  const o = sources.overrides ?? {};
  if (nonEmpty(env.NODE_NAME)) merged.nodeName = env.NODE_NAME;
  if (nonEmpty(env.DILU_LOG_LEVEL)) merged.logLevel = env.DILU_LOG_LEVEL;
  if (nonEmpty(env.DILU_FAKE_GPUS)) merged.fakeGpus = env.DILU_FAKE_GPUS;
  if (o.fakeGpus !== undefined) merged.fakeGpus = o.fakeGpus;
  if (o.logLevel !== undefined) merged.logLevel = o.logLevel;
  const parsed = configSchema.safeParse(merged);
  if (parsed.success) return parsed.data;
  throw configError(sources.file, parsed.error.issues[0]);
}

function configError(file: string | undefined, issue: z.core.$ZodIssue | undefined): ConfigError {
  const field = issue?.path.join('.') ?? '';
  const keys = issue?.code === 'unrecognized_keys' ? ` (${issue.keys.join(', ')})` : '';
  return new ConfigError(
    `${file ?? 'configuration'}: ${field === '' ? '' : `${field}: `}${issue?.message ?? 'invalid'}${keys}`,
  );
}

import { z } from 'zod';

const positiveInt = z.coerce.number().int().positive();
const list = z
  .union([z.string(), z.array(z.string())])
  .transform(v => (Array.isArray(v) ? v : v.split(',')).map(s => s.trim()).filter(Boolean));

/**
 * Everything the webhook can be told, loaded once at start. Each field can come from a CLI flag
 * (`serve --port`) or an environment variable (`DILU_WEBHOOK_PORT`); flags win.
 */
export const configSchema = z.object({
  /** HTTPS port. @default 8443 */
  port: z.coerce.number().int().min(0).max(65535).default(8443),
  /** Address to listen on. @default 0.0.0.0 (in a pod); tests use 127.0.0.1 */
  host: z.string().default('0.0.0.0'),
  /** PEM serving certificate; re-read when the file changes. */
  tlsCert: z.string().min(1),
  /** PEM private key of the serving certificate. */
  tlsKey: z.string().min(1),
  /** Kubeconfig for profiles and instance decisions; in a pod the service account is used. */
  kubeconfig: z.string().optional(),
  /** Read FunctionProfiles (YAML or Dilu CSV) from this folder instead of the API server. */
  profiles: z.string().optional(),
  /** Placement service base URL. @default http://dilu-autoscaler.dilu-system:8080 */
  placementUrl: z.url().default('http://dilu-autoscaler.dilu-system:8080'),
  /** Per-call placement timeout, ms. @default 2000 */
  placementTimeoutMs: positiveInt.default(2000),
  /**
   * Deadline for one admission, ms; kept below the MutatingWebhookConfiguration's
   * timeoutSeconds (10 s) so the pod gets this webhook's message, not the API server's timeout.
   * @default 8000
   */
  admissionTimeoutMs: positiveInt.default(8000),
  /** Largest AdmissionReview body accepted (the API server caps objects at 3 MiB). @default 4mb */
  bodyLimit: z.string().default('4mb'),
  /** MiB per `dilu.dev/gpu<i>-mem` device when reading direct per-GPU requests. @default 256 */
  memoryUnitMiB: positiveInt.default(256),
  /** Sizing of unprofiled functions (decision 0202). */
  defaultSmRequest: z.coerce.number().int().min(1).max(100).default(25),
  defaultSmLimit: z.coerce.number().int().min(1).max(100).default(50),
  defaultMemoryMiB: positiveInt.default(4096),
  defaultBatch: z.coerce.number().int().min(1).max(4096).default(1),
  /** SM limit for a user-fixed request above the base limit: ceil(factor x r). @default 1.5 */
  limitFactor: z.coerce.number().min(1).max(100).default(1.5),
  /** Container names that never get the GPU. */
  sidecars: list.default(['queue-proxy', 'istio-proxy', 'linkerd-proxy']),
  /** Host directories a pod may not mount (MPS pipes, Dilu state). */
  mpsHostDirs: list.default(['/run/dilu', '/var/lib/dilu', '/run/nvidia/mps', '/tmp/nvidia-mps']),
  /** Container paths where the device plugin mounts MPS pipes and the quota directory. */
  mpsContainerDirs: list.default(['/tmp/nvidia-mps', '/run/dilu', '/var/run/dilu']),
  /** How often to re-check the certificate files besides file-change events, ms. @default 30000 */
  certPollMs: positiveInt.default(30_000),
  /** pino level. @default info */
  logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
});

export type WebhookConfig = Readonly<z.infer<typeof configSchema>>;

const ENV_PREFIX = 'DILU_WEBHOOK_';

/** `placementUrl` -> `DILU_WEBHOOK_PLACEMENT_URL`. */
export function envName(key: string): string {
  return ENV_PREFIX + key.replace(/[A-Z]/g, c => `_${c}`).toUpperCase();
}

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

/**
 * Builds the config from flags over environment variables. Errors name the flag and the
 * variable, and what is allowed.
 */
export function loadConfig(
  flags: Readonly<Record<string, unknown>>,
  env: NodeJS.ProcessEnv = process.env,
): WebhookConfig {
  const input: Record<string, unknown> = {};
  for (const key of Object.keys(configSchema.shape)) {
    const fromEnv = env[envName(key)];
    if (fromEnv !== undefined && fromEnv !== '') input[key] = fromEnv;
    if (flags[key] !== undefined) input[key] = flags[key];
  }
  const parsed = configSchema.safeParse(input);
  if (!parsed.success) {
    const problems = parsed.error.issues.map(issue => {
      const key = String(issue.path[0] ?? '');
      const flag = `--${key.replace(/[A-Z]/g, c => `-${c.toLowerCase()}`)}`;
      return `${flag} (or ${envName(key)}): ${issue.message}`;
    });
    throw new ConfigError(`invalid configuration: ${problems.join('; ')}`);
  }
  const config = parsed.data;
  if (config.defaultSmLimit < config.defaultSmRequest) {
    throw new ConfigError(
      `invalid configuration: --default-sm-limit (${config.defaultSmLimit}) must be at least --default-sm-request (${config.defaultSmRequest})`,
    );
  }
  return Object.freeze(config);
}

import { z } from 'zod';
import { MODES } from './types.js';

const seconds = z.number().positive().max(3600);
const port = z.number().int().min(1).max(65535);

/** The autoscaler's configuration, validated once at start. Every field has its default. */
export const controllerConfigSchema = z
  .strictObject({
    /** `knative` (PodAutoscaler class) or `openfaas` (functions' Deployments). */
    mode: z.enum(MODES).default('knative'),
    /** Namespace of the leader-election Lease (the autoscaler's own). */
    namespace: z.string().min(1).default('dilu-system'),
    leaseName: z.string().min(1).default('dilu-autoscaler'),
    /** This replica's name in the Lease (pod name in a cluster). */
    identity: z.string().min(1).optional(),
    leaseDurationS: seconds.default(15),
    renewDeadlineS: seconds.default(10),
    retryPeriodS: seconds.default(2),
    /** One decision per function per tick. */
    tickIntervalMs: z.number().int().min(100).max(60_000).default(1000),
    /** Port of the HTTP server: /metrics, /healthz, /readyz, /system/alert, placement. */
    httpPort: z.number().int().min(0).max(65535).default(8080),
    httpHost: z.string().default('0.0.0.0'),
    /** Serve the placement API (placement-api.md) the webhook calls; only the leader answers. */
    servePlacement: z.boolean().default(true),
    /** Queue-proxy statistics port on each pod (Knative's is 9090). */
    queueProxyStatsPort: port.default(9090),
    scrapeTimeoutMs: z.number().int().min(50).max(10_000).default(800),
    /** The runtime's metrics port (runtime-metrics.md: the serving port, 8080). */
    runtimeMetricsPort: port.default(8080),
    /** Read the runtimes' latency histograms every this many ticks (0: never). */
    latencyEveryTicks: z.number().int().min(0).max(600).default(5),
    /** Knative's namespace (config-autoscaler). */
    knativeNamespace: z.string().min(1).default('knative-serving'),
    /** Activator metrics endpoints (Prometheus text) for demand at zero; none: min-scale >= 1. */
    activatorMetricsUrls: z.array(z.url()).default([]),
    /** Node agent (node-agent-api.md): port, scheme, CA, token. */
    nodeAgentPort: port.default(9450),
    nodeAgentScheme: z.enum(['https', 'http']).default('https'),
    nodeAgentCaFile: z.string().optional(),
    nodeAgentInsecureSkipVerify: z.boolean().default(false),
    /** TLS server name the agents' certificate carries (node-agent-api.md); callers dial IPs. */
    nodeAgentServerName: z.string().min(1).default('dilu-node-agent'),
    /**
     * Bearer token file: a projected service-account token with the audience
     * `dilu-node-agent` (manifests mount one here). Out of a cluster, when the file is
     * missing, the kubeconfig user's token is sent.
     */
    nodeAgentTokenFile: z.string().default('/var/run/secrets/dilu-node-agent/token'),
    nodeAgentTimeoutMs: z.number().int().min(50).max(30_000).default(2000),
    openfaas: z
      .strictObject({
        /** Where the functions' Deployments live. */
        functionNamespace: z.string().min(1).default('openfaas-fn'),
        /** Prometheus that scrapes the gateway (its HTTP API). */
        prometheusUrl: z.url().default('http://prometheus.openfaas:9090'),
        /** Window of the invocation rate. */
        rateWindow: z
          .string()
          .regex(/^\d+[smh]$/, 'a Prometheus duration such as 10s')
          .default('10s'),
        /** PromQL that is 1 while the gateway is scraped; anything else means "metrics missing". */
        gatewayUpQuery: z.string().min(1).default('max(up{job="openfaas-gateway"})'),
        /** Basic-auth credentials the /system/alert receiver requires (none: open). */
        alertUser: z.string().optional(),
        alertPasswordFile: z.string().optional(),
      })
      .default({
        functionNamespace: 'openfaas-fn',
        prometheusUrl: 'http://prometheus.openfaas:9090',
        rateWindow: '10s',
        gatewayUpQuery: 'max(up{job="openfaas-gateway"})',
      }),
  })
  .superRefine((c, ctx) => {
    if (!(c.retryPeriodS < c.renewDeadlineS && c.renewDeadlineS < c.leaseDurationS)) {
      ctx.addIssue({
        code: 'custom',
        path: ['renewDeadlineS'],
        message: 'need retryPeriodS < renewDeadlineS < leaseDurationS',
      });
    }
  });

export type ControllerConfig = z.infer<typeof controllerConfigSchema>;
export type ControllerConfigInput = z.input<typeof controllerConfigSchema>;

export class ConfigError extends Error {
  readonly field: string;
  constructor(field: string, message: string) {
    super(`config ${field}: ${message}`);
    this.name = 'ConfigError';
    this.field = field;
  }
}

/** Validates a configuration object; the error names the field and the rule. */
export function parseControllerConfig(input: unknown): ControllerConfig {
  const r = controllerConfigSchema.safeParse(input);
  if (r.success) return Object.freeze(r.data);
  const issue = r.error.issues[0];
  throw new ConfigError(issue?.path.join('.') || '(config)', issue?.message ?? 'invalid');
}

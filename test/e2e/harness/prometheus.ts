// A real Prometheus (Debian's package) on 127.0.0.1 that scrapes every part of the e2e install
// (gateway, autoscaler replicas, webhook, device plugins, function pods) and evaluates the
// rules of the install's PrometheusRules, as the cluster's Prometheus would. Function pods come
// and go, so they are a file_sd target list the harness rewrites. It can be stopped and started
// again on the same port and data (the "Prometheus down" fault).
import { spawnSync } from 'node:child_process';
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { dump } from 'js-yaml';
import { freePort } from '../../testbed/ports.js';
import { startProcess, type ManagedProcess } from '../../testbed/processes.js';
import { httpGet, waitFor } from '../../testbed/readiness.js';
import { tailOf } from '../../testbed/log-tail.js';

export interface ScrapeJob {
  readonly job: string;
  readonly targets: readonly string[];
  readonly scheme?: 'http' | 'https';
  /** CA and server name for https targets. */
  readonly tls?: { readonly caFile: string; readonly serverName: string };
  readonly labels?: Readonly<Record<string, string>>;
}

export interface PrometheusTarget {
  readonly targets: readonly string[];
  readonly labels: Readonly<Record<string, string>>;
}

export interface Prometheus {
  readonly url: string;
  /** Replaces the function pods' target list (file_sd; Prometheus re-reads it). */
  setPodTargets(groups: readonly PrometheusTarget[]): void;
  /** Instant query; the vector's samples. */
  query(promql: string): Promise<{ metric: Record<string, string>; value: number }[]>;
  /** Rule groups as Prometheus loaded them (GET /api/v1/rules). */
  rules(): Promise<
    { name: string; rules: { name: string; health: string; lastError?: string }[] }[]
  >;
  running(): boolean;
  stop(): Promise<void>;
  start(): Promise<void>;
}

export function prometheusAvailable(): boolean {
  return spawnSync('prometheus', ['--version'], { encoding: 'utf8' }).status === 0;
}

export async function startPrometheus(opts: {
  readonly dir: string;
  readonly jobs: readonly ScrapeJob[];
  /** Rule groups (the `spec.groups` of PrometheusRules). */
  readonly ruleGroups: readonly unknown[];
  readonly intervalS?: number;
}): Promise<Prometheus> {
  mkdirSync(opts.dir, { recursive: true });
  const interval = `${opts.intervalS ?? 1}s`;
  const sdFile = join(opts.dir, 'pods.json');
  const rulesFile = join(opts.dir, 'rules.yaml');
  writeFileSync(sdFile, '[]');
  writeFileSync(rulesFile, dump({ groups: opts.ruleGroups }));
  const config = {
    global: { scrape_interval: interval, evaluation_interval: interval, scrape_timeout: interval },
    rule_files: [rulesFile],
    scrape_configs: [
      ...opts.jobs.map(j => ({
        job_name: j.job,
        scheme: j.scheme ?? 'http',
        ...(j.tls === undefined
          ? {}
          : { tls_config: { ca_file: j.tls.caFile, server_name: j.tls.serverName } }),
        static_configs: [{ targets: j.targets, labels: j.labels ?? {} }],
      })),
      {
        job_name: 'dilu-functions',
        file_sd_configs: [{ files: [sdFile], refresh_interval: interval }],
      },
    ],
  };
  const configFile = join(opts.dir, 'prometheus.yml');
  writeFileSync(configFile, dump(config));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  let proc: ManagedProcess | undefined;

  const start = async (): Promise<void> => {
    const p = startProcess({
      name: 'prometheus',
      command: 'prometheus',
      args: [
        `--config.file=${configFile}`,
        `--storage.tsdb.path=${join(opts.dir, 'data')}`,
        `--web.listen-address=127.0.0.1:${port}`,
        '--storage.tsdb.retention.time=1h',
        '--log.level=warn',
      ],
      logFile: join(opts.dir, 'prometheus.log'),
    });
    proc = p;
    await waitFor(
      'prometheus ready',
      async () => (await httpGet(`${url}/-/ready`)).status === 200,
      {
        timeoutMs: 30_000,
        abortIf: () =>
          p.exitStatus() === undefined ? undefined : `exited: ${tailOf(p.logFile, 10)}`,
      },
    );
  };
  await start();

  const api = async (path: string): Promise<unknown> => {
    const r = await httpGet(`${url}${path}`, { timeoutMs: 5000 });
    const body = JSON.parse(r.body) as { status: string; data?: unknown; error?: string };
    if (body.status !== 'success') throw new Error(`prometheus ${path}: ${body.error ?? r.body}`);
    return body.data;
  };

  return {
    url,
    setPodTargets(groups) {
      const tmp = `${sdFile}.tmp`;
      writeFileSync(tmp, JSON.stringify(groups));
      renameSync(tmp, sdFile);
    },
    async query(promql) {
      const data = (await api(`/api/v1/query?query=${encodeURIComponent(promql)}`)) as {
        result: { metric: Record<string, string>; value: [number, string] }[];
      };
      return data.result.map(r => ({ metric: r.metric, value: Number(r.value[1]) }));
    },
    async rules() {
      const data = (await api('/api/v1/rules')) as {
        groups: { name: string; rules: { name: string; health: string; lastError?: string }[] }[];
      };
      return data.groups;
    },
    running: () => proc !== undefined && proc.exitStatus() === undefined,
    async stop() {
      await proc?.stop(10_000);
    },
    start,
  };
}

import type { ChildProcess } from 'node:child_process';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dump } from 'js-yaml';

export interface PrometheusServer {
  readonly url: string;
  readonly pid: number | undefined;
  /** The last lines Prometheus logged (for failure messages). */
  logTail(): string;
  stop(): Promise<void>;
}

/** The Prometheus binary from Debian's `prometheus` package, or null when not installed. */
export function findPrometheus(): string | null {
  const r = spawnSync('prometheus', ['--version'], { encoding: 'utf8' });
  return r.status === 0 ? 'prometheus' : null;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      const port = typeof a === 'object' && a !== null ? a.port : 0;
      s.close(() => {
        resolve(port);
      });
    });
  });
}

/**
 * Starts a real Prometheus on 127.0.0.1 with one static scrape job (in its own temporary
 * folder, removed on stop) and waits until its API answers.
 */
export async function startPrometheus(opts: {
  readonly job: string;
  /** host:port targets. */
  readonly targets: readonly string[];
  readonly scrapeIntervalS?: number;
  readonly labels?: Readonly<Record<string, string>>;
}): Promise<PrometheusServer> {
  const dir = mkdtempSync(join(tmpdir(), 'dilu-prometheus-'));
  const interval = `${opts.scrapeIntervalS ?? 1}s`;
  writeFileSync(
    join(dir, 'prometheus.yml'),
    dump({
      global: { scrape_interval: interval, evaluation_interval: interval },
      scrape_configs: [
        {
          job_name: opts.job,
          scrape_interval: interval,
          static_configs: [{ targets: opts.targets, labels: opts.labels ?? {} }],
        },
      ],
    }),
  );
  const port = await freePort();
  const lines: string[] = [];
  const child: ChildProcess = spawn(
    'prometheus',
    [
      `--config.file=${join(dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--storage.tsdb.retention.time=1h',
      '--log.level=warn',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const keep = (b: Buffer): void => {
    lines.push(...b.toString('utf8').split('\n').filter(Boolean));
    if (lines.length > 50) lines.splice(0, lines.length - 50);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exited = new Promise<void>(resolve => {
    child.once('exit', () => {
      resolve();
    });
  });
  const url = `http://127.0.0.1:${port}`;
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await Promise.race([exited, new Promise(r => setTimeout(r, 5000))]);
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) {
      await stop();
      throw new Error(`prometheus exited (${child.exitCode}): ${lines.join('\n')}`);
    }
    try {
      const res = await fetch(`${url}/-/ready`);
      if (res.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`prometheus not ready within 30 s: ${lines.join('\n')}`);
    }
    await new Promise(r => setTimeout(r, 200));
  }
  return { url, pid: child.pid, logTail: () => lines.join('\n'), stop };
}

// CustomResourceDefinitions of projects the install works with but this repository does not
// carry: the Prometheus Operator's (PrometheusRule, ServiceMonitor, PodMonitor), which the
// monitoring manifests are validated against. They are taken, unmodified, from the operator's
// Go module at set-up time (`npm run testbed:setup`), through the same module proxy and cache
// as the control plane's build, and kept beside the test bed's binaries.
import { copyFileSync, existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { SetupError, type GoRunner } from './go-toolchain.js';

/** One Go module and the CRD files taken from it. */
export interface UpstreamCrdSource {
  readonly module: string;
  readonly version: string;
  /** Folder inside the module that holds the files. */
  readonly dir: string;
  readonly files: readonly string[];
}

/** The release the manifests target (the CRDs kube-prometheus-stack installs with it). */
export const PROMETHEUS_OPERATOR_CRDS: UpstreamCrdSource = {
  module: 'github.com/prometheus-operator/prometheus-operator',
  version: 'v0.93.0',
  dir: 'example/prometheus-operator-crd',
  files: [
    'monitoring.coreos.com_podmonitors.yaml',
    'monitoring.coreos.com_prometheusrules.yaml',
    'monitoring.coreos.com_servicemonitors.yaml',
  ],
};

/** Marks a complete copy; written last. */
const COMPLETE_MARK = '.complete';

/** Where a source's files are kept under the test bed's cache root. */
export function upstreamCrdDir(cacheRoot: string, source: UpstreamCrdSource): string {
  const name = `${source.module.replaceAll('/', '_')}@${source.version}`;
  return join(cacheRoot, 'upstream-crds', name);
}

/** Whether every file of the source is in place, or which are missing. */
export function inspectUpstreamCrds(
  cacheRoot: string,
  source: UpstreamCrdSource,
): { ok: true; dir: string } | { ok: false; dir: string; reason: string } {
  const dir = upstreamCrdDir(cacheRoot, source);
  if (!existsSync(join(dir, COMPLETE_MARK))) {
    return { ok: false, dir, reason: `${source.module}@${source.version} CRDs not fetched` };
  }
  const missing = source.files.filter(f => !existsSync(join(dir, f)));
  if (missing.length > 0) return { ok: false, dir, reason: `${dir} lacks ${missing.join(', ')}` };
  return { ok: true, dir };
}

const ModuleDownload = z.object({ Dir: z.string().optional(), Error: z.string().optional() });

/**
 * Downloads the module (a no-op when the module cache has it) and copies the files into the
 * cache; returns their folder. A partial copy is never left where a complete one is expected.
 */
export async function fetchUpstreamCrds(
  run: GoRunner,
  cacheRoot: string,
  source: UpstreamCrdSource,
): Promise<string> {
  const found = inspectUpstreamCrds(cacheRoot, source);
  if (found.ok) return found.dir;
  const ref = `${source.module}@${source.version}`;
  const download = ModuleDownload.parse(
    JSON.parse(await run.go(['mod', 'download', '-json', ref])),
  );
  if (download.Error !== undefined || download.Dir === undefined) {
    throw new SetupError(`${ref}: ${download.Error ?? 'the module was not extracted'}`);
  }
  const from = join(download.Dir, source.dir);
  const partial = `${found.dir}.partial`;
  rmSync(partial, { recursive: true, force: true });
  mkdirSync(partial, { recursive: true });
  for (const file of source.files) {
    const src = join(from, file);
    if (!existsSync(src)) throw new SetupError(`${ref} has no ${join(source.dir, file)}`);
    copyFileSync(src, join(partial, file));
  }
  writeFileSync(join(partial, COMPLETE_MARK), `${ref} ${source.dir}\n`);
  rmSync(found.dir, { recursive: true, force: true });
  renameSync(partial, found.dir);
  return found.dir;
}

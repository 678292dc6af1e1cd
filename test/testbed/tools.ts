// The command-line tools the test bed builds beside the control plane (kubectl from the same
// Kubernetes release, kustomize), and rendering the project's kustomizations with them.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import type { KubernetesObject } from '@kubernetes/client-node';
import { loadAll } from 'js-yaml';
import { locateTestbed, TEST_PACKAGE_ROOT } from './cache.js';

export const REPO_ROOT = join(TEST_PACKAGE_ROOT, '..');
export const MANIFESTS_DIR = join(REPO_ROOT, 'manifests');
/** The overlays users install, by name (manifests/overlays/<name>). */
export const OVERLAYS = ['knative', 'openfaas'] as const;
export type OverlayName = (typeof OVERLAYS)[number];

export type TestbedTool = 'kubectl' | 'kustomize';

/** Path of a tool in the built test bed; throws, naming the setup command, when there is none. */
export function testbedTool(name: TestbedTool, env: NodeJS.ProcessEnv = process.env): string {
  const { paths, status } = locateTestbed(env);
  if (!status.ok) {
    throw new Error(`no ${name}: ${status.reason}; run \`npm run testbed:setup\` once`);
  }
  return join(paths.binDir, name);
}

export interface ToolResult {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a test-bed tool to completion (bounded), returning its exit status and output. */
export function runTool(
  name: TestbedTool,
  args: readonly string[],
  opts: { env?: NodeJS.ProcessEnv; cwd?: string; input?: string; timeoutMs?: number } = {},
): ToolResult {
  const r = spawnSync(testbedTool(name), args, {
    encoding: 'utf8',
    timeout: opts.timeoutMs ?? 60_000,
    maxBuffer: 64 * 1024 * 1024,
    ...(opts.env === undefined ? {} : { env: opts.env }),
    ...(opts.cwd === undefined ? {} : { cwd: opts.cwd }),
    ...(opts.input === undefined ? {} : { input: opts.input }),
  });
  if (r.error !== undefined) throw r.error;
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** One object of a rendered install, with the rest of its fields unparsed. */
export type ManifestObject = KubernetesObject & { kind: string; [field: string]: unknown };

function isObject(doc: unknown): doc is ManifestObject {
  return (
    typeof doc === 'object' &&
    doc !== null &&
    typeof (doc as { kind?: unknown }).kind === 'string' &&
    typeof (doc as { apiVersion?: unknown }).apiVersion === 'string'
  );
}

export interface Rendered {
  /** The YAML stream exactly as kustomize printed it. */
  readonly yaml: string;
  readonly objects: ManifestObject[];
}

/** `kustomize build <dir>`: the objects a kustomization produces. */
export function kustomizeBuild(dir: string): Rendered {
  const r = runTool('kustomize', ['build', dir]);
  if (r.status !== 0) {
    throw new Error(`kustomize build ${dir} failed (exit ${String(r.status)}): ${r.stderr.trim()}`);
  }
  return { yaml: r.stdout, objects: loadAll(r.stdout).filter(isObject) };
}

/** What `kubectl apply -k <dir>` sends: kubectl's own embedded kustomize. */
export function kubectlKustomize(dir: string): Rendered {
  const r = runTool('kubectl', ['kustomize', dir]);
  if (r.status !== 0) {
    throw new Error(
      `kubectl kustomize ${dir} failed (exit ${String(r.status)}): ${r.stderr.trim()}`,
    );
  }
  return { yaml: r.stdout, objects: loadAll(r.stdout).filter(isObject) };
}

export function overlayDir(name: OverlayName): string {
  return join(MANIFESTS_DIR, 'overlays', name);
}

/** "Kind/namespace/name" (or "Kind/name" for cluster-scoped objects), for messages. */
export function objectRef(o: KubernetesObject): string {
  const ns = o.metadata?.namespace;
  return `${o.kind ?? '?'}/${ns === undefined ? '' : `${ns}/`}${o.metadata?.name ?? '?'}`;
}

// Where the test bed's binaries live. They are built once per machine, outside any clone, so
// that CI (which starts from a fresh clone on the same machine) and every worktree share one
// build. The folder name is a hash of versions.json: pinning another version builds beside the
// old one instead of mixing binaries.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';

/** test/ itself, whether this module runs from its source (Jest) or from dist/ (scripts). */
export const TEST_PACKAGE_ROOT = findTestPackageRoot(dirname(fileURLToPath(import.meta.url)));
const versionsFile = join(TEST_PACKAGE_ROOT, 'testbed', 'versions.json');

function findTestPackageRoot(from: string): string {
  for (let dir = from; dir !== dirname(dir); dir = dirname(dir)) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg) && readFileSync(pkg, 'utf8').includes('"name": "@dilu/test"')) return dir;
  }
  throw new Error(`no @dilu/test package.json above ${from}`);
}

const semverTag = z.string().regex(/^v\d+\.\d+\.\d+$/, 'a release tag such as v1.2.3');

export const TestbedVersionsSchema = z.object({
  recipe: z.number().int().positive(),
  kubernetes: semverTag,
  kine: semverTag,
  kwok: semverTag,
  /** sigs.k8s.io/kustomize/kustomize/v5, for rendering manifests/ (kubectl comes with kubernetes). */
  kustomize: semverTag,
  minimumGo: z.string().regex(/^\d+\.\d+(\.\d+)?$/, 'a Go version such as 1.26.5'),
});
export type TestbedVersions = z.infer<typeof TestbedVersionsSchema>;

/** The binaries a complete test bed holds, by file name. */
export const TESTBED_BINARIES = [
  'kine',
  'kwok',
  'kube-apiserver',
  'kube-controller-manager',
  'kube-scheduler',
  'kubectl',
  'kustomize',
] as const;
export type TestbedBinary = (typeof TESTBED_BINARIES)[number];
/** kwok's Stage definitions, kept beside the binaries (see setup.ts). */
export const KWOK_STAGES_FILE = 'kwok-stages.yaml';

export interface TestbedPaths {
  /** Root of the per-machine cache (DILU_TESTBED_CACHE or ~/.cache/dilu-testbed). */
  readonly root: string;
  /** Short hash of versions.json naming this build. */
  readonly key: string;
  /** Folder of this build: bin/, manifest.json, build.log, the Kubernetes wrapper module. */
  readonly buildDir: string;
  readonly binDir: string;
  readonly manifest: string;
  /** Module and build caches shared by every build on the machine. */
  readonly goModCache: string;
  readonly goCache: string;
}

export interface TestbedManifest {
  readonly versions: TestbedVersions;
  readonly go: string;
  readonly builtAt: string;
  readonly buildSeconds: number;
}

/** Reads and checks test/testbed/versions.json; the raw text is returned for hashing. */
export function loadVersions(file: string = versionsFile): {
  versions: TestbedVersions;
  text: string;
} {
  const text = readFileSync(file, 'utf8');
  const parsed = TestbedVersionsSchema.safeParse(JSON.parse(text));
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new Error(
      `${file}: field "${issue?.path.join('.') ?? '?'}": ${issue?.message ?? 'invalid'}`,
    );
  }
  return { versions: parsed.data, text };
}

export function testbedPaths(
  versions: TestbedVersions,
  env: NodeJS.ProcessEnv = process.env,
): TestbedPaths {
  const root = env['DILU_TESTBED_CACHE'] ?? join(homedir(), '.cache', 'dilu-testbed');
  // Hash the parsed values rather than the file's bytes, so reformatting or editing the
  // comment does not throw a working build away.
  const canonical = JSON.stringify(TestbedVersionsSchema.parse(versions));
  const key = createHash('sha256').update(canonical).digest('hex').slice(0, 12);
  const buildDir = join(root, key);
  return {
    root,
    key,
    buildDir,
    binDir: join(buildDir, 'bin'),
    manifest: join(buildDir, 'manifest.json'),
    goModCache: join(root, 'go', 'mod'),
    goCache: join(root, 'go', 'build'),
  };
}

/**
 * The manifest of a complete build, or why there is none. A build is complete only when its
 * manifest exists (written last, after every binary is in place) and every binary is there.
 */
export function inspectTestbed(
  paths: TestbedPaths,
): { ok: true; manifest: TestbedManifest } | { ok: false; reason: string } {
  if (!existsSync(paths.manifest)) return { ok: false, reason: `no build in ${paths.buildDir}` };
  const missing = [...TESTBED_BINARIES, KWOK_STAGES_FILE].filter(
    f => !existsSync(join(paths.binDir, f)),
  );
  if (missing.length > 0) {
    return { ok: false, reason: `${paths.binDir} lacks ${missing.join(', ')}` };
  }
  const manifest = JSON.parse(readFileSync(paths.manifest, 'utf8')) as TestbedManifest;
  return { ok: true, manifest };
}

/** The test bed described by the checked-in versions.json, as found on this machine. */
export function locateTestbed(env: NodeJS.ProcessEnv = process.env): {
  paths: TestbedPaths;
  status: ReturnType<typeof inspectTestbed>;
} {
  const paths = testbedPaths(loadVersions().versions, env);
  return { paths, status: inspectTestbed(paths) };
}

// `npm run testbed:setup`: builds the local control plane's binaries from Go modules once per
// machine (kube-apiserver, kube-controller-manager, kube-scheduler, kine, kwok) and the tools
// the manifest, end-to-end and quickstart suites drive it with (kubectl, kustomize), or
// confirms in seconds that the cached build is there and runs.
import { spawnSync } from 'node:child_process';
import { cpus } from 'node:os';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { acquireBuildLock } from './build-lock.js';
import {
  inspectTestbed,
  KWOK_STAGES_FILE,
  loadVersions,
  TESTBED_BINARIES,
  testbedPaths,
  type TestbedManifest,
  type TestbedPaths,
  type TestbedVersions,
} from './cache.js';
import { createGoRunner, requireGo, SetupError, type GoRunner } from './go-toolchain.js';
import { kubernetesLdflags, wrapperGoMod, type ReleaseInfo } from './kubernetes-module.js';
import { fetchUpstreamCrds, PROMETHEUS_OPERATOR_CRDS } from './upstream-crds.js';

// kubectl comes from the same release and wrapper module as the servers, so client and server
// versions always match and its embedded kustomize is the one that release ships.
const KUBE_COMMANDS = [
  'kube-apiserver',
  'kube-controller-manager',
  'kube-scheduler',
  'kubectl',
] as const;

/**
 * The kwok controller does nothing without Stage definitions (kwokctl assembles them for its own
 * clusters). These are the upstream "fast" stages: nodes become Ready at once and renew their
 * leases, pods bound to them run, complete and are deleted. They are taken from the kwok module
 * the build downloads, so they always match the kwok binary.
 */
const KWOK_STAGE_FILES = [
  'node/fast/node-initialize.yaml',
  'node/heartbeat-with-lease/node-heartbeat-with-lease.yaml',
  'pod/fast/pod-ready.yaml',
  'pod/fast/pod-complete.yaml',
  'pod/fast/pod-delete.yaml',
] as const;

const started = Date.now();
const elapsed = (from = started): string => `${((Date.now() - from) / 1000).toFixed(1)} s`;
const say = (line: string): void => console.log(`testbed: ${line}`);

/** How each binary prints its version, and the text that must be in the first line. */
function versionProbe(name: string, versions: TestbedVersions): { args: string[]; want: string } {
  switch (name) {
    case 'kine':
      return { args: ['--version'], want: versions.kine };
    case 'kwok':
      return { args: ['--version'], want: versions.kwok.replace(/^v/, '') };
    case 'kubectl':
      return { args: ['version', '--client'], want: versions.kubernetes };
    case 'kustomize':
      return { args: ['version'], want: versions.kustomize };
    default:
      return { args: ['--version'], want: versions.kubernetes };
  }
}

/** Runs each binary's version command: a cached build must not only exist but start. */
function checkBinaries(binDir: string, versions: TestbedVersions): string[] {
  return TESTBED_BINARIES.map(name => {
    const { args, want } = versionProbe(name, versions);
    const r = spawnSync(join(binDir, name), args, { encoding: 'utf8', timeout: 20_000 });
    const out = `${r.stdout}${r.stderr}`.trim().split('\n')[0] ?? '';
    if (r.status !== 0 || !out.includes(want)) {
      throw new SetupError(
        `${join(binDir, name)} ${args.join(' ')} printed "${out}" (exit ${String(r.status)}); ` +
          `expected ${want}. Delete ${binDir} and run the setup again.`,
      );
    }
    return `${name} ${want}`;
  });
}

function goEnvironment(paths: TestbedPaths, gobin: string): NodeJS.ProcessEnv {
  return {
    ...process.env,
    GOMODCACHE: paths.goModCache,
    GOCACHE: paths.goCache,
    GOBIN: gobin,
    // -modcacherw keeps the module cache deletable with rm -rf.
    GOFLAGS: '-modcacherw -buildvcs=false',
    GOTOOLCHAIN: process.env['GOTOOLCHAIN'] ?? 'local',
    GO111MODULE: 'on',
    // kine's SQLite driver uses cgo; the memory store the tests use does not, but the
    // binary links every driver.
    CGO_ENABLED: '1',
  };
}

/** Go compile jobs at once: the build machines are small and shared, so at most two. */
function parallelism(): string {
  const fromEnv = Number(process.env['DILU_TESTBED_GO_PARALLEL']);
  if (Number.isInteger(fromEnv) && fromEnv > 0) return String(fromEnv);
  return String(Math.max(1, Math.min(2, cpus().length)));
}

const ModuleDownload = z.object({
  GoMod: z.string().optional(),
  Info: z.string().optional(),
  Error: z.string().optional(),
});
const ModuleInfo = z.object({
  Time: z.string().optional(),
  Origin: z.object({ Hash: z.string().optional() }).optional(),
});

async function buildKubernetes(
  run: GoRunner,
  versions: TestbedVersions,
  paths: TestbedPaths,
  staging: string,
): Promise<void> {
  const v = versions.kubernetes;
  const download = ModuleDownload.parse(
    JSON.parse(await run.go(['mod', 'download', '-json', `k8s.io/kubernetes@${v}`])),
  );
  if (download.Error !== undefined || download.GoMod === undefined) {
    throw new SetupError(`k8s.io/kubernetes@${v}: ${download.Error ?? 'no go.mod downloaded'}`);
  }
  const info = ModuleInfo.parse(
    download.Info === undefined ? {} : JSON.parse(readFileSync(download.Info, 'utf8')),
  );
  const release: ReleaseInfo = {
    version: v,
    ...(info.Origin?.Hash === undefined ? {} : { commit: info.Origin.Hash }),
    ...(info.Time === undefined ? {} : { time: info.Time }),
  };

  const wrapper = join(paths.buildDir, 'kubernetes-module');
  rmSync(wrapper, { recursive: true, force: true });
  mkdirSync(wrapper, { recursive: true });
  writeFileSync(join(wrapper, 'go.mod'), wrapperGoMod(v, readFileSync(download.GoMod, 'utf8')));
  const packages = KUBE_COMMANDS.map(c => `k8s.io/kubernetes/cmd/${c}`);
  await run.go(['get', ...packages.map(p => `${p}@${v}`)], { cwd: wrapper });
  const ldflags = ['-s', '-w', ...kubernetesLdflags(release)].join(' ');
  await run.go(
    [
      'build',
      '-p',
      parallelism(),
      '-trimpath',
      '-ldflags',
      ldflags,
      '-o',
      `${staging}/`,
      ...packages,
    ],
    { cwd: wrapper },
  );
}

function writeKwokStages(paths: TestbedPaths, kwokVersion: string, staging: string): void {
  const stageDir = join(paths.goModCache, `sigs.k8s.io/kwok@${kwokVersion}`, 'kustomize', 'stage');
  const docs = KWOK_STAGE_FILES.map(f => readFileSync(join(stageDir, f), 'utf8').trim());
  writeFileSync(join(staging, KWOK_STAGES_FILE), `${docs.join('\n---\n')}\n`);
}

async function build(versions: TestbedVersions, paths: TestbedPaths): Promise<TestbedManifest> {
  const staging = join(paths.buildDir, 'bin.partial');
  const env = goEnvironment(paths, staging);
  const goVersion = requireGo(versions.minimumGo, env);
  rmSync(staging, { recursive: true, force: true });
  mkdirSync(staging, { recursive: true });
  const logFile = join(paths.buildDir, 'build.log');
  const run = createGoRunner({ env, logFile, cwd: paths.buildDir });
  say(`building with ${goVersion}, -p ${parallelism()}; log: ${logFile}`);

  const steps: [string, () => Promise<unknown>][] = [
    [
      `kine ${versions.kine}`,
      () =>
        run.go([
          'install',
          '-p',
          parallelism(),
          '-trimpath',
          '-ldflags',
          `-s -w -X github.com/k3s-io/kine/pkg/version.Version=${versions.kine}`,
          `github.com/k3s-io/kine@${versions.kine}`,
        ]),
    ],
    [
      `kwok ${versions.kwok}`,
      () =>
        run
          .go([
            'install',
            '-p',
            parallelism(),
            '-trimpath',
            '-ldflags',
            '-s -w',
            `sigs.k8s.io/kwok/cmd/kwok@${versions.kwok}`,
          ])
          .then(() => writeKwokStages(paths, versions.kwok, staging)),
    ],
    [
      `kustomize ${versions.kustomize}`,
      () =>
        run.go([
          'install',
          '-p',
          parallelism(),
          '-trimpath',
          '-ldflags',
          '-s -w',
          `sigs.k8s.io/kustomize/kustomize/v5@${versions.kustomize}`,
        ]),
    ],
    [
      `kubernetes ${versions.kubernetes} (${KUBE_COMMANDS.join(', ')})`,
      () => buildKubernetes(run, versions, paths, staging),
    ],
  ];
  for (const [title, step] of steps) {
    const t0 = Date.now();
    say(`${title}: building`);
    const heartbeat = setInterval(() => say(`${title}: still building (${elapsed(t0)})`), 120_000);
    try {
      await step();
    } finally {
      clearInterval(heartbeat);
    }
    say(`${title}: done in ${elapsed(t0)}`);
  }

  checkBinaries(staging, versions);
  rmSync(paths.binDir, { recursive: true, force: true });
  renameSync(staging, paths.binDir);
  const manifest: TestbedManifest = {
    versions,
    go: goVersion,
    builtAt: new Date().toISOString(),
    buildSeconds: Math.round((Date.now() - started) / 1000),
  };
  // Written last: its presence is what marks the build complete.
  writeFileSync(paths.manifest, `${JSON.stringify(manifest, null, 2)}\n`);
  return manifest;
}

async function main(): Promise<void> {
  const rebuild = process.argv.includes('--rebuild');
  const { versions } = loadVersions();
  const paths = testbedPaths(versions);
  let status = inspectTestbed(paths);
  if (!status.ok || rebuild) {
    // Before anything is written: without Go there is nothing to build with.
    requireGo(versions.minimumGo, process.env);
    mkdirSync(paths.root, { recursive: true });
    const release = await acquireBuildLock(join(paths.root, `${paths.key}.lock`), pid =>
      say(`waiting for the build already running (pid ${pid})`),
    );
    try {
      status = inspectTestbed(paths);
      if (!status.ok || rebuild) {
        if (rebuild && existsSync(paths.manifest)) rmSync(paths.manifest);
        say(status.ok ? 'rebuilding on request' : `${status.reason}; building it now`);
        await build(versions, paths);
      }
    } finally {
      release();
    }
  }
  const found = checkBinaries(paths.binDir, versions);
  say(`ready in ${paths.binDir}: ${found.join(', ')}`);
  // Outside the build's hash: fetching these is quick, and a new release must not rebuild
  // the control plane.
  const crds = PROMETHEUS_OPERATOR_CRDS;
  const runner = createGoRunner({
    env: goEnvironment(paths, join(paths.buildDir, 'gobin-unused')),
    logFile: join(paths.root, 'upstream-crds.log'),
    cwd: paths.root,
  });
  const crdDir = await fetchUpstreamCrds(runner, paths.root, crds);
  say(`${crds.module}@${crds.version} CRDs in ${crdDir}`);
  say(`setup took ${elapsed()}`);
}

main().catch((err: unknown) => {
  const message = err instanceof Error ? err.message : String(err);
  console.error(`testbed: setup failed after ${elapsed()}: ${message}`);
  process.exitCode = 1;
});

// The images the install runs are the ones the root Dockerfile builds. No Docker daemon is
// needed: the Dockerfile is read, not built. Checked: every image of a rendered overlay is
// dilu/<component>:<version> with a Dockerfile target of that name and the package's version;
// the manifests give only arguments, so each target's ENTRYPOINT must be the package's `bin`;
// that file, and the compiled module it imports, are what the package builds (tsconfig outDir
// from a source under rootDir) and ships (package.json `files`); each image runs as the user
// its pods run as.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, posix, relative } from 'node:path';
import { beforeAll, describe, expect, it } from '@jest/globals';
import { locateTestbed } from '../testbed/cache.js';
import {
  kustomizeBuild,
  OVERLAYS,
  overlayDir,
  objectRef,
  REPO_ROOT,
  type ManifestObject,
  type OverlayName,
} from '../testbed/tools.js';
import { workloads } from './checks.js';
import {
  copies,
  effective,
  execForm,
  instructions,
  parseDockerfile,
  stageChain,
  type Stage,
} from './dockerfile.js';

interface PackageJson {
  name: string;
  version: string;
  bin?: Record<string, string>;
  files?: string[];
  dependencies?: Record<string, string>;
}

const readJson = (file: string): unknown => JSON.parse(readFileSync(file, 'utf8'));

/** Workspace folders (the components) and their package.json files. */
const WORKSPACES = (readJson(join(REPO_ROOT, 'package.json')) as { workspaces: string[] })
  .workspaces;
const PACKAGES = new Map(
  WORKSPACES.map(dir => [dir, readJson(join(REPO_ROOT, dir, 'package.json')) as PackageJson]),
);
const pkg = (dir: string): PackageJson => {
  const p = PACKAGES.get(dir);
  if (p === undefined) throw new Error(`no workspace ${dir}`);
  return p;
};
const workspaceOf = (name: string): string | undefined =>
  [...PACKAGES].find(([, p]) => p.name === name)?.[0];

const STAGES: readonly Stage[] = parseDockerfile(
  readFileSync(join(REPO_ROOT, 'Dockerfile'), 'utf8'),
);

/** The one `bin` of a package, relative to its folder ("bin/dilu.js"). */
function binOf(dir: string): string {
  const bins = Object.values(pkg(dir).bin ?? {});
  expect(bins).toHaveLength(1);
  return posix.normalize(bins[0]!);
}

const escapeRegExp = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** The UID a USER instruction names (numeric only: runAsNonRoot cannot check a name). */
function userId(stage: string): string | undefined {
  return effective(STAGES, stage, 'USER')?.args.trim().split(':')[0];
}

describe('Dockerfile parsing', () => {
  it('joins continued lines, drops comments, substitutes global ARG defaults in FROM', () => {
    const text = [
      '# syntax=docker/dockerfile:1',
      'ARG BASE=node:24-bookworm',
      'FROM ${BASE} AS build',
      'RUN a \\',
      '  # a comment inside the instruction',
      '  && b',
      'FROM build AS app',
      'WORKDIR /app',
      'COPY --from=build /out/x/ x/',
      'ENTRYPOINT ["node", "/app/x/bin/x.js"]',
    ].join('\n');
    expect(instructions(text).map(i => `${i.line}:${i.keyword} ${i.args}`)).toEqual([
      '2:ARG BASE=node:24-bookworm',
      '3:FROM ${BASE} AS build',
      '4:RUN a && b',
      '7:FROM build AS app',
      '8:WORKDIR /app',
      '9:COPY --from=build /out/x/ x/',
      '10:ENTRYPOINT ["node", "/app/x/bin/x.js"]',
    ]);
    const stages = parseDockerfile(text);
    expect(stages.map(s => [s.name, s.base])).toEqual([
      ['build', 'node:24-bookworm'],
      ['app', 'build'],
    ]);
    expect(stageChain(stages, 'app').map(s => s.name)).toEqual(['app', 'build']);
    expect(execForm(effective(stages, 'app', 'ENTRYPOINT'))).toEqual(['node', '/app/x/bin/x.js']);
    expect(execForm({ keyword: 'CMD', args: 'node x.js', line: 1 })).toBeUndefined();
    expect(copies(stages, 'app')).toEqual([
      { from: 'build', sources: ['/out/x/'], dest: '/app/x/' },
    ]);
  });
});

describe('root Dockerfile', () => {
  it('has a target per component, every stage on Node 24 or an earlier stage', () => {
    const names = STAGES.map(s => s.name);
    expect(WORKSPACES.filter(dir => !names.includes(dir))).toEqual([]);
    for (const s of STAGES) {
      const onStage = STAGES.slice(0, STAGES.indexOf(s)).some(e => e.name === s.base);
      expect({ stage: s.name, base: onStage ? 'stage' : s.base }).toEqual({
        stage: s.name,
        base: onStage ? 'stage' : (expect.stringMatching(/^node:24(-|$)/) as unknown),
      });
    }
  });

  for (const dir of WORKSPACES) {
    it(`${dir}: ENTRYPOINT is node on the package's bin; the package and its dependencies are copied in`, () => {
      const entry = execForm(effective(STAGES, dir, 'ENTRYPOINT'));
      const bin = binOf(dir);
      expect(entry?.[0]).toBe('node');
      expect(entry).toHaveLength(2);
      const script = entry![1]!;
      expect(script).toMatch(new RegExp(`/${escapeRegExp(`${dir}/${bin}`)}$`));
      // The package folder in the image, and the folder that holds it and node_modules.
      const pkgRoot = script.slice(0, -bin.length - 1);
      const appRoot = posix.dirname(pkgRoot);
      const dests = copies(STAGES, dir).map(c => posix.normalize(c.dest).replace(/\/$/, ''));
      const workspaceDeps = Object.keys(pkg(dir).dependencies ?? {}).flatMap(
        n => workspaceOf(n) ?? [],
      );
      const needed = [
        pkgRoot,
        `${appRoot}/node_modules`,
        ...workspaceDeps.map(d => `${appRoot}/${d}`),
      ];
      expect(needed.filter(p => !dests.includes(p))).toEqual([]);
    });

    it(`${dir}: the bin and the module it imports are built from source and shipped`, () => {
      const { compilerOptions } = readJson(join(REPO_ROOT, dir, 'tsconfig.json')) as {
        compilerOptions: { rootDir: string; outDir: string };
      };
      const pkgDir = join(REPO_ROOT, dir);
      const bin = binOf(dir);
      const binFile = join(pkgDir, bin);
      expect(existsSync(binFile)).toBe(true);
      const imports = [...readFileSync(binFile, 'utf8').matchAll(/from '(\.{1,2}\/[^']+)'/g)].map(
        m => relative(pkgDir, join(dirname(binFile), m[1]!)),
      );
      expect(imports.length).toBeGreaterThan(0);
      for (const compiled of imports) {
        // dist/cli/main.js is compiled from src/cli/main.ts.
        const [outDir, ...rest] = compiled.split('/');
        expect(outDir).toBe(posix.normalize(compilerOptions.outDir));
        const source = join(
          pkgDir,
          compilerOptions.rootDir,
          rest.join('/').replace(/\.js$/, '.ts'),
        );
        expect({ compiled, source: existsSync(source) }).toEqual({ compiled, source: true });
      }
      // The image holds the package as npm pack makes it, so both must be in `files`.
      const shipped = pkg(dir).files ?? [];
      expect(shipped).toEqual(expect.arrayContaining([bin.split('/')[0], compilerOptions.outDir]));
    });
  }
});

const { status } = locateTestbed();
const ci = process.env['CI'] === 'true' || process.env['CI'] === '1';
// Rendering needs the test bed's kustomize; without one the suite is skipped (under CI,
// kustomizeBuild fails and names the setup command).
const describeRendered = status.ok || ci ? describe : describe.skip;

interface ImageUse {
  readonly at: string;
  readonly image: string;
  readonly command: unknown;
  readonly runAsUser: number | undefined;
  readonly runAsNonRoot: boolean | undefined;
}

/** Every container of every workload, with the user it runs as. */
function imageUses(objects: readonly ManifestObject[]): ImageUse[] {
  return workloads(objects).flatMap(w =>
    [...(w.pod.initContainers ?? []), ...w.pod.containers].map(c => {
      const sc = { ...w.pod.securityContext, ...c.securityContext };
      return {
        at: `${objectRef(w.obj)} container ${c.name}`,
        image: c.image ?? '',
        command: (c as { command?: unknown }).command,
        runAsUser: sc.runAsUser,
        runAsNonRoot: sc.runAsNonRoot,
      };
    }),
  );
}

describeRendered('rendered overlays use images the Dockerfile builds', () => {
  const rendered = new Map<OverlayName, ImageUse[]>();
  beforeAll(() => {
    for (const o of OVERLAYS) rendered.set(o, imageUses(kustomizeBuild(overlayDir(o)).objects));
  });
  const uses = (o: OverlayName): ImageUse[] => rendered.get(o) ?? [];

  for (const overlay of OVERLAYS) {
    it(`${overlay}: each image is dilu/<target>:<package version>, given arguments only`, () => {
      expect(uses(overlay).length).toBeGreaterThan(0);
      const targets = new Set(STAGES.map(s => s.name));
      for (const u of uses(overlay)) {
        const m = /^dilu\/([\w-]+):([\w.-]+)$/.exec(u.image);
        const component = m?.[1] ?? '';
        expect({ at: u.at, image: u.image, scheme: m !== null }).toEqual({
          at: u.at,
          image: u.image,
          scheme: true,
        });
        expect({ at: u.at, target: targets.has(component) && PACKAGES.has(component) }).toEqual({
          at: u.at,
          target: true,
        });
        expect({ at: u.at, tag: m?.[2] }).toEqual({ at: u.at, tag: pkg(component).version });
        expect({ at: u.at, command: u.command }).toEqual({ at: u.at, command: undefined });
      }
    });

    it(`${overlay}: each image runs as the user its pods run as`, () => {
      // Images without a target are the previous test's failure, not this one's.
      const targets = new Set(STAGES.map(s => s.name));
      for (const u of uses(overlay)) {
        const component = /^dilu\/([\w-]+):/.exec(u.image)?.[1] ?? '';
        if (!targets.has(component)) continue;
        const uid = userId(component);
        expect({ at: u.at, uid: /^\d+$/.test(uid ?? '') }).toEqual({ at: u.at, uid: true });
        if (u.runAsUser !== undefined) {
          expect({ at: u.at, uid }).toEqual({ at: u.at, uid: String(u.runAsUser) });
        }
        if (u.runAsNonRoot === true) {
          expect({ at: u.at, root: uid === '0' }).toEqual({ at: u.at, root: false });
        }
      }
    });
  }
});

// The GPU functions of the e2e, made the way a user makes them: the templates exported by
// templates/export.py, a function instantiated from each as faas-cli and func lay it out, and
// the deployment settings taken from the example specs in templates/README.md (the stack.yaml
// and func.yaml blocks users copy), so the suite fails if those examples stop working.
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { load } from 'js-yaml';
import { REPO_ROOT } from '../../testbed/tools.js';

export const PYTHON = join(REPO_ROOT, '.venv', 'bin', 'python');
export const TEMPLATES_README = join(REPO_ROOT, 'templates', 'README.md');

export interface StackFunction {
  readonly lang: string;
  readonly handler: string;
  readonly image: string;
  readonly annotations: Readonly<Record<string, string>>;
  readonly labels: Readonly<Record<string, string>>;
  readonly environment: Readonly<Record<string, string>>;
}

export interface FuncYaml {
  readonly deploy: { readonly annotations: Readonly<Record<string, string>> };
}

/** The fenced YAML block of a markdown file whose first line is `# <title>`. */
export function yamlBlock(markdown: string, title: string): unknown {
  for (const m of markdown.matchAll(/```yaml\n([\s\S]*?)```/g)) {
    const body = m[1] ?? '';
    if (body.startsWith(`# ${title}\n`)) return load(body);
  }
  throw new Error(`no \`\`\`yaml block titled "# ${title}"`);
}

/** The stack.yaml and func.yaml examples of templates/README.md. */
export function templateExamples(): { stack: Record<string, StackFunction>; func: FuncYaml } {
  const md = readFileSync(TEMPLATES_README, 'utf8');
  const stack = yamlBlock(md, 'OpenFaaS stack.yaml') as {
    functions: Record<string, Partial<StackFunction>>;
  };
  const functions: Record<string, StackFunction> = {};
  for (const [name, f] of Object.entries(stack.functions)) {
    functions[name] = {
      lang: f.lang ?? '',
      handler: f.handler ?? `./${name}`,
      image: f.image ?? '',
      annotations: f.annotations ?? {},
      labels: f.labels ?? {},
      environment: f.environment ?? {},
    };
  }
  return { stack: functions, func: yamlBlock(md, 'Knative func.yaml') as FuncYaml };
}

/**
 * templates/export.py, then what `faas-cli new <fn> --lang python3-http-gpu` and
 * `faas-cli build --shrinkwrap` lay out (the build context), and what
 * `func create -l python -t gpu --repository file://<export>` writes (the function folder).
 */
export function instantiateFunctions(
  dir: string,
  fn: string,
): { openfaasContext: string; knativeDir: string } {
  if (!existsSync(PYTHON)) throw new Error(`no ${PYTHON}: run \`npm run setup:python\``);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const of = join(dir, 'openfaas-templates');
  const kn = join(dir, 'func-templates');
  execFileSync(PYTHON, [
    join(REPO_ROOT, 'templates', 'export.py'),
    '--openfaas',
    of,
    '--knative',
    kn,
  ]);

  const template = join(of, 'template', 'python3-http-gpu');
  const handler = join(dir, 'openfaas', fn);
  cpSync(join(template, 'function'), handler, { recursive: true });
  const context = join(dir, 'openfaas', 'build', fn);
  cpSync(template, context, { recursive: true });
  rmSync(join(context, 'function'), { recursive: true, force: true });
  cpSync(handler, join(context, 'function'), { recursive: true });
  writeFileSync(join(context, 'function', '__init__.py'), '', { flag: 'a' });

  const knativeDir = join(dir, 'knative', fn);
  cpSync(join(kn, 'python', 'gpu'), knativeDir, {
    recursive: true,
    filter: src => !src.endsWith('manifest.yaml'),
  });
  return { openfaasContext: context, knativeDir };
}

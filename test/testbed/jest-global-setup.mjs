// Jest loads global setup modules through CommonJS require, where the sources' NodeNext
// imports ('./cache.js' for cache.ts) do not resolve. So this bridge brings test/'s compiled
// output up to date (tsc -b is incremental: about a second when nothing changed) and runs the
// compiled global-setup.ts.
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const testDir = join(dirname(fileURLToPath(import.meta.url)), '..');
const tsc = join(
  dirname(createRequire(import.meta.url).resolve('typescript/package.json')),
  'bin',
  'tsc',
);

export default async function jestGlobalSetup() {
  execFileSync(process.execPath, [tsc, '-b', testDir], { stdio: 'inherit' });
  const { default: globalSetup } = await import('../dist/testbed/global-setup.js');
  await globalSetup();
}

#!/usr/bin/env node
// The project's one test command (`npm test`): type-check and build every package, run
// each package's Jest suite through lerna, the cross-package suites in test/, and the
// Python template tests, then print one closing line that counts every test.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const ci = process.env.CI === 'true' || process.env.CI === '1';
const started = Date.now();
const packages = ['autoscaler', 'device-plugin', 'webhook'];
let failedSteps = 0;

function run(title, cmd, args, opts = {}) {
  console.log(`\n=== ${title}`);
  const t0 = Date.now();
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit', ...opts });
  const secs = ((Date.now() - t0) / 1000).toFixed(1);
  if (r.status !== 0) {
    failedSteps++;
    console.log(`=== ${title}: FAILED (exit ${r.status ?? r.signal}) after ${secs}s`);
    return false;
  }
  console.log(`=== ${title}: ok in ${secs}s`);
  return true;
}

for (const p of [...packages, 'test'])
  rmSync(join(root, p, '.test-results'), { recursive: true, force: true });
mkdirSync(join(root, '.test-results'), { recursive: true });
rmSync(join(root, '.test-results', 'pytest.xml'), { force: true });

if (!run('build and type-check (tsc -b)', 'npx', ['tsc', '-b'])) {
  console.log('\ntests: 0 passed, 1 failed (the build failed; no test ran)');
  process.exit(1);
}
run('package tests (lerna run test)', 'npx', [
  'lerna',
  'run',
  'test',
  '--stream',
  '--concurrency',
  '2',
]);
if (existsSync(join(root, 'test', 'jest.config.js'))) {
  run('cross-package tests (test/)', 'npm', ['test', '--prefix', 'test']);
}
// After the other suites, alone: the whole install on one control plane, many processes.
if (existsSync(join(root, 'test', 'jest.e2e.config.js'))) {
  run('end-to-end and fault tests (test/e2e)', 'npm', ['run', 'test:e2e', '--prefix', 'test']);
}
runPython();

const totals = { passed: 0, failed: 0, skipped: 0 };
for (const p of [...packages, 'test']) addJest(join(root, p, '.test-results', 'jest.json'), p);
addJest(join(root, 'test', '.test-results', 'jest-e2e.json'), 'test/e2e');
addJunit(join(root, '.test-results', 'pytest.xml'));
const minutes = ((Date.now() - started) / 60000).toFixed(1);
console.log(`\nAll suites finished in ${minutes} min.`);
if (failedSteps > 0 && totals.failed === 0) totals.failed = failedSteps;
console.log(`tests: ${totals.passed} passed, ${totals.failed} failed, ${totals.skipped} skipped`);
process.exit(totals.failed > 0 || failedSteps > 0 ? 1 : 0);

function runPython() {
  const testsDir = join(root, 'templates');
  const hasTests =
    existsSync(testsDir) &&
    readdirSync(testsDir, { recursive: true }).some(f => /(^|\/)test_[^/]*\.py$/.test(String(f)));
  if (!hasTests) return;
  const py = join(root, '.venv', 'bin', 'python');
  if (!existsSync(py)) {
    const msg = 'template tests (pytest): no .venv; run `npm run setup:python` to create it';
    if (ci) {
      failedSteps++;
      console.log(`\n=== ${msg} (required under CI)`);
    } else {
      console.log(`\n=== ${msg}. Skipped.`);
    }
    return;
  }
  run('template tests (pytest)', py, [
    '-m',
    'pytest',
    'templates',
    '-q',
    `--junitxml=${join(root, '.test-results', 'pytest.xml')}`,
  ]);
}

function addJest(file, name) {
  if (!existsSync(file)) return;
  const r = JSON.parse(readFileSync(file, 'utf8'));
  totals.passed += r.numPassedTests;
  totals.failed += r.numFailedTests + (r.numRuntimeErrorTestSuites ?? 0);
  totals.skipped += r.numPendingTests + (r.numTodoTests ?? 0);
  console.log(
    `${name}: ${r.numPassedTests} passed, ${r.numFailedTests} failed, ${r.numPendingTests} skipped`,
  );
}

function addJunit(file) {
  if (!existsSync(file)) return;
  const xml = readFileSync(file, 'utf8');
  const attr = n =>
    Number((xml.match(new RegExp(`<testsuite[^>]*\\s${n}="(\\d+)"`)) ?? [])[1] ?? 0);
  const tests = attr('tests');
  const failed = attr('failures') + attr('errors');
  const skipped = attr('skipped');
  totals.passed += tests - failed - skipped;
  totals.failed += failed;
  totals.skipped += skipped;
  console.log(
    `templates: ${tests - failed - skipped} passed, ${failed} failed, ${skipped} skipped`,
  );
}

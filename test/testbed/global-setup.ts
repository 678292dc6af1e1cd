// Global setup of the Jest run in test/ (loaded by jest-global-setup.mjs): starts one control
// plane for the whole run and hands its connection to the suites through
// DILU_TESTBED_CONNECTION. Without a built test bed the control-plane suites are skipped (one
// line says how to build it), except under CI, where they fail.
import { join } from 'node:path';
import { locateTestbed } from './cache.js';
import { startControlPlane, writeConnection, type ControlPlane } from './control-plane.js';
import { TESTBED_CONNECTION_ENV, TESTBED_UNAVAILABLE_ENV } from './connection-env.js';

declare global {
  var __diluControlPlane: ControlPlane | undefined;
}

export default async function globalSetup(): Promise<void> {
  if (process.env['DILU_TESTBED'] === 'off') {
    process.env[TESTBED_UNAVAILABLE_ENV] = 'DILU_TESTBED=off';
    console.log('\ncontrol-plane tests skipped: DILU_TESTBED=off');
    return;
  }
  const { paths, status } = locateTestbed();
  if (!status.ok) {
    const reason = `no test bed built on this machine (${status.reason})`;
    process.env[TESTBED_UNAVAILABLE_ENV] = reason;
    const ci = process.env['CI'] === 'true' || process.env['CI'] === '1';
    console.log(
      `\ncontrol-plane tests ${ci ? 'FAIL (required under CI)' : 'skipped'}: ${reason}; ` +
        'run `npm run testbed:setup` once (needs Go) to build it.',
    );
    return;
  }
  const t0 = Date.now();
  const verbose = process.env['DILU_TESTBED_VERBOSE'] === '1';
  const start = () =>
    startControlPlane({
      binDir: paths.binDir,
      keepRunDir: process.env['DILU_TESTBED_KEEP'] === '1',
      ...(verbose ? { log: (line: string) => console.log(`testbed: ${line}`) } : {}),
    });
  const controlPlane = await start().catch((err: unknown) => {
    // Ports are chosen free and then handed to the components, so another process can take
    // one in between; that is worth one more try, anything else is not.
    if (!String(err).includes('address already in use')) throw err;
    console.log('\ntestbed: a chosen port was taken before a component bound it; starting again');
    return start();
  });
  globalThis.__diluControlPlane = controlPlane;
  const file = join(controlPlane.connection.runDir, 'connection.json');
  writeConnection(file, controlPlane.connection);
  process.env[TESTBED_CONNECTION_ENV] = file;
  console.log(
    `\ntestbed: control plane (kubernetes ${status.manifest.versions.kubernetes}) ready at ` +
      `${controlPlane.connection.server} in ${((Date.now() - t0) / 1000).toFixed(1)} s`,
  );
}

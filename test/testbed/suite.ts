// What a suite uses to run against the control plane that Jest's global setup started.
import { describe, it } from '@jest/globals';
import type { KubeConfig } from '@kubernetes/client-node';
import { kubeConfigFor } from './client.js';
import { TESTBED_CONNECTION_ENV, TESTBED_UNAVAILABLE_ENV } from './connection-env.js';
import { readConnection, type TestbedConnection } from './control-plane.js';

export interface Testbed {
  readonly connection: TestbedConnection;
  /** A KubeConfig for a cluster administrator. */
  readonly kc: KubeConfig;
}

function underCi(): boolean {
  return process.env['CI'] === 'true' || process.env['CI'] === '1';
}

/**
 * `describe` for suites that need the control plane. Without one the suite is skipped, or,
 * under CI, replaced by one failing test that says why.
 */
export function describeWithControlPlane(name: string, body: (testbed: () => Testbed) => void) {
  const file = process.env[TESTBED_CONNECTION_ENV];
  if (file === undefined) {
    const why = process.env[TESTBED_UNAVAILABLE_ENV] ?? 'the Jest global setup did not run';
    if (underCi()) {
      describe(name, () => {
        it('has a control plane to run against', () => {
          throw new Error(`no control plane under CI: ${why}; .ci/run builds it first`);
        });
      });
    } else {
      describe.skip(name, () => body(() => unavailable(why)));
    }
    return;
  }
  let testbed: Testbed | undefined;
  describe(name, () =>
    body(() => {
      if (testbed === undefined) {
        const connection = readConnection(file);
        testbed = { connection, kc: kubeConfigFor(connection) };
      }
      return testbed;
    }),
  );
}

function unavailable(why: string): never {
  throw new Error(`no control plane: ${why}`);
}

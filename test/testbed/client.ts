// A @kubernetes/client-node KubeConfig for the test bed, and namespaces for test isolation.
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import type { TestbedConnection } from './control-plane.js';
import { waitFor } from './readiness.js';

export function kubeConfigFor(connection: TestbedConnection): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [
      {
        name: 'testbed',
        server: connection.server,
        caData: Buffer.from(connection.caPem).toString('base64'),
        skipTLSVerify: false,
      },
    ],
    users: [{ name: 'testbed-admin', token: connection.token }],
    contexts: [{ name: 'testbed', cluster: 'testbed', user: 'testbed-admin' }],
    currentContext: 'testbed',
  });
  return kc;
}

/** The HTTP status of a failed client-node call, if it carried one. */
export function statusCodeOf(err: unknown): number | undefined {
  if (typeof err === 'object' && err !== null && 'code' in err) {
    if (typeof err.code === 'number') return err.code;
  }
  return undefined;
}

/** The message of the Kubernetes Status a failed client-node call carried, if any. */
export function statusMessageOf(err: unknown): string | undefined {
  if (typeof err !== 'object' || err === null || !('body' in err)) return undefined;
  try {
    const body: unknown = typeof err.body === 'string' ? JSON.parse(err.body) : err.body;
    if (typeof body === 'object' && body !== null && 'message' in body) {
      return typeof body.message === 'string' ? body.message : undefined;
    }
  } catch {
    // Not a Status object.
  }
  return undefined;
}

/**
 * A fresh namespace named after `prefix`. It is returned once its default ServiceAccount exists
 * (the controller-manager creates it), because until then the ServiceAccount admission plugin
 * rejects pods in it.
 */
export async function createNamespace(kc: KubeConfig, prefix: string): Promise<string> {
  const core = kc.makeApiClient(CoreV1Api);
  const ns = await core.createNamespace({
    body: { metadata: { generateName: `${prefix.toLowerCase().replace(/[^a-z0-9-]/g, '-')}-` } },
  });
  const name = ns.metadata?.name;
  if (name === undefined) throw new Error('the API server returned a namespace without a name');
  await waitFor(
    `ServiceAccount ${name}/default`,
    async () => {
      await core.readNamespacedServiceAccount({ name: 'default', namespace: name });
      return true;
    },
    { timeoutMs: 30_000 },
  );
  return name;
}

/** Deletes a namespace; the controller-manager removes what is in it. */
export async function deleteNamespace(kc: KubeConfig, name: string): Promise<void> {
  try {
    await kc.makeApiClient(CoreV1Api).deleteNamespace({ name });
  } catch (err) {
    if (statusCodeOf(err) !== 404) throw err;
  }
}

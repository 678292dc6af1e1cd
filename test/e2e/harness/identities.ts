// The components run as local processes, but with the identities the manifests give them: a
// token of the manifest's ServiceAccount (TokenRequest API, as the kubelet projects one into a
// pod), so every API call they make is authorised by the install's own RBAC.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import type { TestbedConnection } from '../../testbed/control-plane.js';

export interface ServiceAccountIdentity {
  readonly namespace: string;
  readonly name: string;
  readonly token: string;
  /** A kubeconfig file with the token, for `--kubeconfig` / $KUBECONFIG. */
  readonly kubeconfigFile: string;
  readonly kc: KubeConfig;
}

export async function serviceAccountToken(
  admin: KubeConfig,
  namespace: string,
  name: string,
  audiences: readonly string[] = [],
): Promise<string> {
  const tr = await admin.makeApiClient(CoreV1Api).createNamespacedServiceAccountToken({
    name,
    namespace,
    body: { spec: { expirationSeconds: 3600, audiences: [...audiences] } },
  });
  const token = tr.status?.token;
  if (token === undefined) throw new Error(`no token for ServiceAccount ${namespace}/${name}`);
  return token;
}

/** A kubeconfig for ServiceAccount namespace/name of the applied install. */
export async function serviceAccountIdentity(
  admin: KubeConfig,
  connection: TestbedConnection,
  namespace: string,
  name: string,
  dir: string,
): Promise<ServiceAccountIdentity> {
  const token = await serviceAccountToken(admin, namespace, name);
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
    users: [{ name, token }],
    contexts: [{ name: 'testbed', cluster: 'testbed', user: name, namespace }],
    currentContext: 'testbed',
  });
  const kubeconfigFile = join(dir, `${namespace}-${name}.kubeconfig`);
  writeFileSync(kubeconfigFile, kc.exportConfig(), { mode: 0o600 });
  return { namespace, name, token, kubeconfigFile, kc };
}

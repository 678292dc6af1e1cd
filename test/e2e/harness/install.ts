// Installing the project's manifests into the test bed as a user installs them into a cluster
// (`kubectl apply --server-side` of an overlay), through a test-bed overlay that changes only
// what the test bed cannot do:
//
// - Deployments get 0 replicas and the certificate Job/CronJob are suspended: their pods would
//   need the images, which are not built here. The harness runs the same programs as local
//   processes, with the same arguments, the same ServiceAccounts' tokens and the same
//   ConfigMaps and Secrets (components.ts).
// - The MutatingWebhookConfiguration calls https://127.0.0.1:<port>/mutate instead of the
//   dilu-webhook Service: the test bed has no Service routing (no kube-proxy, and Endpoints may
//   not hold loopback addresses).
// - The device plugin DaemonSet needs no change: its nodeSelector (nvidia.com/gpu.present)
//   matches no node here; one plugin process per emulated node stands in for its pods.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import { dump, load } from 'js-yaml';
import { statusCodeOf } from '../../testbed/client.js';
import type { TestbedConnection } from '../../testbed/control-plane.js';
import {
  applyObjects,
  installKnativeServingCrds,
  installPrometheusOperatorCrds,
  KNATIVE_CRD_DIR,
} from '../../testbed/crds.js';
import { createCertificateAuthority } from '../../testbed/pki.js';
import {
  kustomizeBuild,
  overlayDir,
  runTool,
  type ManifestObject,
  type OverlayName,
  type Rendered,
} from '../../testbed/tools.js';

/** The test-bed overlay on top of manifests/overlays/<overlay> (see the file comment). */
export function testbedOverlay(base: string, webhookUrl: string, webhookCount: number): string {
  const clientConfig = Array.from({ length: webhookCount }, (_, i) => [
    { op: 'remove', path: `/webhooks/${i}/clientConfig/service` },
    { op: 'add', path: `/webhooks/${i}/clientConfig/url`, value: webhookUrl },
  ]).flat();
  return dump({
    apiVersion: 'kustomize.config.k8s.io/v1beta1',
    kind: 'Kustomization',
    resources: [base],
    patches: [
      {
        target: { kind: 'Deployment', namespace: 'dilu-system' },
        patch: JSON.stringify([{ op: 'replace', path: '/spec/replicas', value: 0 }]),
      },
      {
        target: { kind: 'Job', namespace: 'dilu-system' },
        patch: JSON.stringify([{ op: 'add', path: '/spec/suspend', value: true }]),
      },
      {
        target: { kind: 'CronJob', namespace: 'dilu-system' },
        patch: JSON.stringify([{ op: 'add', path: '/spec/suspend', value: true }]),
      },
      {
        target: { kind: 'MutatingWebhookConfiguration', name: 'dilu-webhook' },
        patch: JSON.stringify(clientConfig),
      },
    ],
  });
}

export interface NodeAgentTls {
  readonly caPem: string;
  readonly certPem: string;
  readonly keyPem: string;
}

/**
 * What the platform brings and what the user creates before installing (docs/quickstart.md):
 * the platform's namespaces (Knative's with its config-autoscaler; OpenFaaS's two), the CRDs
 * the install refers to, and the node agent's certificate (one for all nodes, DNS name
 * dilu-node-agent) as Secret dilu-node-agent-tls, its CA as ConfigMap dilu-node-agent-ca.
 */
export async function installPrerequisites(
  kc: KubeConfig,
  overlay: OverlayName,
): Promise<NodeAgentTls> {
  await installKnativeServingCrds(kc);
  await installPrometheusOperatorCrds(kc);
  const namespaces = overlay === 'knative' ? ['knative-serving'] : ['openfaas', 'openfaas-fn'];
  await applyObjects(
    kc,
    ['dilu-system', ...namespaces].map(name => ({
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name },
    })),
  );
  if (overlay === 'knative') {
    const cm = load(
      readFileSync(join(KNATIVE_CRD_DIR, 'config-autoscaler.yaml'), 'utf8'),
    ) as ManifestObject;
    await applyObjects(kc, [cm]);
  }
  const ca = createCertificateAuthority('dilu-node-agent-ca');
  const serving = ca.issueServing('dilu-node-agent', ['dilu-node-agent']);
  const core = kc.makeApiClient(CoreV1Api);
  await core
    .deleteNamespacedSecret({ name: 'dilu-node-agent-tls', namespace: 'dilu-system' })
    .catch((err: unknown) => {
      if (statusCodeOf(err) !== 404) throw err;
    });
  await core.createNamespacedSecret({
    namespace: 'dilu-system',
    body: {
      metadata: { name: 'dilu-node-agent-tls' },
      type: 'kubernetes.io/tls',
      stringData: { 'tls.crt': serving.certPem, 'tls.key': serving.keyPem, 'ca.crt': ca.certPem },
    },
  });
  await applyObjects(kc, [
    {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'dilu-node-agent-ca', namespace: 'dilu-system' },
      data: { 'ca.crt': ca.certPem },
    } as ManifestObject,
  ]);
  return { caPem: ca.certPem, certPem: serving.certPem, keyPem: serving.keyPem };
}

export interface Installed {
  readonly overlay: OverlayName;
  readonly rendered: Rendered;
  /** The test-bed overlay's folder. */
  readonly dir: string;
  /** kubectl's output, one line per object. */
  readonly applied: readonly string[];
}

/** Renders the test-bed overlay over manifests/overlays/<overlay> and applies it with kubectl. */
export function installOverlay(opts: {
  readonly connection: TestbedConnection;
  readonly overlay: OverlayName;
  readonly dir: string;
  readonly webhookUrl: string;
}): Installed {
  mkdirSync(opts.dir, { recursive: true });
  const plain = kustomizeBuild(overlayDir(opts.overlay));
  const webhooks = plain.objects
    .filter(o => o.kind === 'MutatingWebhookConfiguration' && o.metadata?.name === 'dilu-webhook')
    .flatMap(o => (o['webhooks'] as unknown[] | undefined) ?? []).length;
  writeFileSync(
    join(opts.dir, 'kustomization.yaml'),
    testbedOverlay(relative(opts.dir, overlayDir(opts.overlay)), opts.webhookUrl, webhooks),
  );
  const rendered = kustomizeBuild(opts.dir);
  const file = join(opts.dir, 'rendered.yaml');
  writeFileSync(file, rendered.yaml);
  const r = runTool('kubectl', ['apply', '--server-side', '--field-manager=dilu-e2e', '-f', file], {
    env: { ...process.env, KUBECONFIG: opts.connection.kubeconfigPath },
  });
  if (r.status !== 0) throw new Error(`kubectl apply failed: ${r.stderr.trim()}`);
  return {
    overlay: opts.overlay,
    rendered,
    dir: opts.dir,
    applied: r.stdout.trim().split('\n'),
  };
}

/** `kubectl delete` of everything the install applied (docs/operations.md, "Uninstall"). */
export function uninstallOverlay(connection: TestbedConnection, installed: Installed): string[] {
  const r = runTool(
    'kubectl',
    // Waits until every object is gone, the namespace included (its finalizer runs once the
    // namespace controller has emptied it), so a following install does not race it.
    [
      'delete',
      '--ignore-not-found',
      '--wait=true',
      '--timeout=120s',
      '-f',
      join(installed.dir, 'rendered.yaml'),
    ],
    { env: { ...process.env, KUBECONFIG: connection.kubeconfigPath }, timeoutMs: 150_000 },
  );
  if (r.status !== 0) throw new Error(`kubectl delete failed: ${r.stderr.trim()}`);
  return r.stdout.trim().split('\n');
}

/** An object of the rendered install, or an error naming what is missing. */
export function renderedObject(rendered: Rendered, kind: string, name: string): ManifestObject {
  const o = rendered.objects.find(x => x.kind === kind && x.metadata?.name === name);
  if (o === undefined) throw new Error(`the install has no ${kind} ${name}`);
  return o;
}

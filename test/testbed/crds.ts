// Installing CustomResourceDefinitions into the test bed: Knative Serving's (shipped in
// crds/knative/), the Prometheus Operator's (fetched by the test bed's set-up, see
// upstream-crds.ts) and the project's own (manifests/base/crds/). Server-side apply makes a
// second install (another suite, the same run) a no-op instead of a conflict.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  ApiextensionsV1Api,
  KubernetesObjectApi,
  loadYaml,
  PatchStrategy,
  type KubeConfig,
  type KubernetesObject,
} from '@kubernetes/client-node';
import { loadAll } from 'js-yaml';
import { locateTestbed, TEST_PACKAGE_ROOT } from './cache.js';
import { waitFor } from './readiness.js';
import { inspectUpstreamCrds, PROMETHEUS_OPERATOR_CRDS } from './upstream-crds.js';

export const KNATIVE_CRD_DIR = join(TEST_PACKAGE_ROOT, 'testbed', 'crds', 'knative');
export const PROJECT_CRD_DIR = join(TEST_PACKAGE_ROOT, '..', 'manifests', 'base', 'crds');

const FIELD_MANAGER = 'dilu-testbed';

function isObject(doc: unknown): doc is KubernetesObject & { kind: string } {
  return (
    typeof doc === 'object' &&
    doc !== null &&
    typeof (doc as { kind?: unknown }).kind === 'string' &&
    typeof (doc as { apiVersion?: unknown }).apiVersion === 'string'
  );
}

/** Every Kubernetes object in the YAML files of a folder (all documents of each file). */
export function readManifests(dir: string): KubernetesObject[] {
  return readdirSync(dir)
    .filter(f => /\.ya?ml$/.test(f))
    .sort()
    .flatMap(f => loadAll(readFileSync(join(dir, f), 'utf8')).filter(isObject));
}

/**
 * Server-side applies the objects (forcing ownership: the test bed is their only manager).
 * Objects are given as their JSON (YAML) form. client-node serializes a request body from its
 * typed models, whose field names differ from the JSON ones where the JSON name is not an
 * identifier (`x-kubernetes-preserve-unknown-fields`, `x-kubernetes-int-or-string`, `$ref`):
 * sent as they are, those fields would be silently dropped. So each object is first read into
 * the typed form, as client-node's own loadYaml does.
 */
export async function applyObjects(
  kc: KubeConfig,
  objects: readonly KubernetesObject[],
): Promise<void> {
  const api = KubernetesObjectApi.makeApiClient(kc);
  for (const obj of objects) {
    const typed = loadYaml<KubernetesObject>(JSON.stringify(obj));
    await api.patch(
      typed,
      undefined,
      undefined,
      FIELD_MANAGER,
      true,
      PatchStrategy.ServerSideApply,
    );
  }
}

/** Applies the CRDs among `objects` and waits until the API server serves each of them. */
export async function installCrds(
  kc: KubeConfig,
  objects: readonly KubernetesObject[],
): Promise<string[]> {
  const crds = objects.filter(o => o.kind === 'CustomResourceDefinition');
  await applyObjects(kc, crds);
  const ext = kc.makeApiClient(ApiextensionsV1Api);
  const names = crds.map(c => c.metadata?.name ?? '');
  await Promise.all(
    names.map(name =>
      waitFor(
        `CRD ${name} Established`,
        async () => {
          const crd = await ext.readCustomResourceDefinition({ name });
          return (
            crd.status?.conditions?.some(c => c.type === 'Established' && c.status === 'True') ??
            false
          );
        },
        { timeoutMs: 30_000, intervalMs: 100 },
      ),
    ),
  );
  return names;
}

/** Knative Serving v1.23 CRDs (PodAutoscaler, Metric, Revision, SKS, ...). */
export function installKnativeServingCrds(kc: KubeConfig): Promise<string[]> {
  return installCrds(kc, readManifests(KNATIVE_CRD_DIR));
}

/** The project's own CRDs from manifests/base/crds/. */
export function installProjectCrds(kc: KubeConfig): Promise<string[]> {
  return installCrds(kc, readManifests(PROJECT_CRD_DIR));
}

/** Prometheus Operator CRDs (PrometheusRule, ServiceMonitor, PodMonitor), as set-up fetched them. */
export function installPrometheusOperatorCrds(kc: KubeConfig): Promise<string[]> {
  const found = inspectUpstreamCrds(locateTestbed().paths.root, PROMETHEUS_OPERATOR_CRDS);
  if (!found.ok) {
    return Promise.reject(new Error(`${found.reason}: run npm run testbed:setup first`));
  }
  return installCrds(kc, readManifests(found.dir));
}

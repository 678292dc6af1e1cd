// Every overlay users install (manifests/overlays/*), rendered by kustomize and checked by the
// real API server: each object goes through server-side apply in dry-run mode with strict
// field validation (unknown or misspelt fields fail), after the CRDs it needs are installed,
// exactly as `kubectl apply -k` would send it. Then what no single object shows: references
// that resolve, Services and PodMonitors that select their pods, least-privilege RBAC and pod
// security.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { dump, load } from 'js-yaml';
import { AutoscalerMetrics, parseControllerConfig } from '@dilu/autoscaler/controller';
import { PlacementServiceMetrics } from '@dilu/autoscaler/placement-service';
import { DevicePluginMetrics } from '@dilu/device-plugin';
import { WebhookMetrics } from '@dilu/webhook';
import type { Registry } from 'prom-client';
import { deleteNamespace } from '../testbed/client.js';
import {
  applyObjects,
  installCrds,
  installKnativeServingCrds,
  installPrometheusOperatorCrds,
} from '../testbed/crds.js';
import { describeWithControlPlane } from '../testbed/suite.js';
import {
  kubectlKustomize,
  kustomizeBuild,
  objectRef,
  OVERLAYS,
  overlayDir,
  runTool,
  type OverlayName,
  type Rendered,
} from '../testbed/tools.js';
import {
  bindingProblems,
  labelProblems,
  podMonitorProblems,
  podProblems,
  rbacProblems,
  referenceProblems,
  serviceProblems,
  unscrapedProblems,
  webhookServiceProblems,
  type ExternalPod,
} from './checks.js';

/** Namespaces the platform itself brings (the overlay's prerequisites, not part of it). */
const PLATFORM_NAMESPACES: Record<OverlayName, readonly string[]> = {
  knative: ['knative-serving'],
  openfaas: ['openfaas', 'openfaas-fn'],
};

/**
 * The one workload allowed root, host paths and hostPID: the device plugin, for the kubelet's
 * sockets, the quota files and MPS, which matches clients by PID (decision 0145).
 */
const HOST_ACCESS: Readonly<Record<string, string>> = {
  'DaemonSet/dilu-system/dilu-device-plugin':
    "kubelet's device-plugin and pod-resources sockets, MPS pipes and PIDs, quota files",
};

/** What the user creates before installing (docs/quickstart.md, step 2). */
const PREREQUISITES = ['dilu-system/dilu-node-agent-tls'];

/**
 * Function pods as the platforms create them (Knative's revision Deployment, faas-netes), after
 * the webhook sized them: it labels each dilu.dev/function (docs/contracts/annotations.md; the
 * webhook's admission tests pin the key). The runtime serves /metrics on 8080 in both
 * (docs/contracts/runtime-metrics.md), under a different port name.
 */
const FUNCTION_PODS: readonly ExternalPod[] = [
  {
    name: 'Knative revision pod',
    namespace: 'fns',
    labels: {
      'serving.knative.dev/service': 'classify',
      'serving.knative.dev/revision': 'classify-00001',
      'dilu.dev/function': 'knative.fns.classify-00001',
    },
    containers: [
      { name: 'user-container', ports: [{ name: 'user-port', containerPort: 8080 }] },
      {
        name: 'queue-proxy',
        ports: [
          { name: 'http-queueadm', containerPort: 8022 },
          { name: 'http-autometric', containerPort: 9090 },
          { name: 'http-usermetric', containerPort: 9091 },
          { name: 'queue-port', containerPort: 8012 },
        ],
      },
    ],
  },
  {
    name: 'OpenFaaS function pod',
    namespace: 'openfaas-fn',
    labels: { faas_function: 'classify', 'dilu.dev/function': 'openfaas.openfaas-fn.classify' },
    containers: [{ name: 'classify', ports: [{ name: 'http', containerPort: 8080 }] }],
  },
];

/** The PodMonitors each overlay ships, and the pods outside the install they are for. */
const POD_MONITORS: Readonly<Record<string, readonly ExternalPod[]>> = {
  'PodMonitor/dilu-system/dilu-autoscaler': [],
  'PodMonitor/dilu-system/dilu-device-plugin': [],
  'PodMonitor/dilu-system/dilu-functions': FUNCTION_PODS,
  'PodMonitor/dilu-system/dilu-webhook': [],
};

/** Labels the operator and Prometheus put on every PodMonitor target. */
const TARGET_LABELS = ['namespace', 'pod', 'container', 'endpoint', 'job', 'instance'];

interface PodMonitorSpec {
  podTargetLabels?: string[];
  podMetricsEndpoints?: { honorLabels?: boolean; relabelings?: { targetLabel?: string }[] }[];
}

/** Target labels of a PodMonitor: the standard ones, pod labels it copies, relabelings' targets. */
const targetLabelsOf = (spec: PodMonitorSpec): Set<string> =>
  new Set([
    ...TARGET_LABELS,
    ...(spec.podTargetLabels ?? []).map(l => l.replace(/[^a-zA-Z0-9_]/g, '_')),
    ...(spec.podMetricsEndpoints ?? []).flatMap(ep =>
      (ep.relabelings ?? []).flatMap(r => (r.targetLabel === undefined ? [] : [r.targetLabel])),
    ),
  ]);

/** The registries each component's /metrics serves (the autoscaler's includes placement's). */
const EXPORTED_BY: Readonly<Record<string, () => readonly Registry[]>> = {
  'PodMonitor/dilu-system/dilu-autoscaler': () => [
    new AutoscalerMetrics({ defaultMetrics: false }).registry,
    new PlacementServiceMetrics({ defaultMetrics: false }).registry,
  ],
  'PodMonitor/dilu-system/dilu-webhook': () => [
    new WebhookMetrics({ defaultMetrics: false }).registry,
  ],
  'PodMonitor/dilu-system/dilu-device-plugin': () => [new DevicePluginMetrics().registry],
  // The Python runtime's series carry `code` at most (docs/contracts/runtime-metrics.md).
  'PodMonitor/dilu-system/dilu-functions': () => [],
};

/** Label names a registry's metrics declare (prom-client keeps them; its typings omit them). */
const labelNamesOf = (registry: Registry): string[] =>
  registry
    .getMetricsAsArray()
    .flatMap(m => (m as unknown as { labelNames?: readonly string[] }).labelNames ?? []);

const DRY_RUN_LINE = / serverside-applied \(server dry run\)$/;

describeWithControlPlane('manifests/overlays on the API server', testbed => {
  const rendered = new Map<OverlayName, Rendered>();
  const dir = mkdtempSync(join(tmpdir(), 'dilu-manifests-'));

  beforeAll(async () => {
    const { kc } = testbed();
    for (const overlay of OVERLAYS) rendered.set(overlay, kustomizeBuild(overlayDir(overlay)));
    await installKnativeServingCrds(kc);
    await installPrometheusOperatorCrds(kc);
  });

  afterAll(async () => {
    rmSync(dir, { recursive: true, force: true });
    await deleteNamespace(testbed().kc, 'dilu-system');
  });

  const render = (overlay: OverlayName): Rendered => {
    const r = rendered.get(overlay);
    if (r === undefined) throw new Error(`${overlay} was not rendered`);
    return r;
  };

  for (const overlay of OVERLAYS) {
    it(`${overlay}: kubectl apply -k sends what kustomize renders`, () => {
      // kubectl embeds its own kustomize; users run kubectl, the other suites run kustomize.
      expect(kubectlKustomize(overlayDir(overlay)).objects).toEqual(render(overlay).objects);
    });

    it(`${overlay}: every object passes server-side dry-run with strict field validation`, async () => {
      const { kc, connection } = testbed();
      const { objects, yaml } = render(overlay);
      await applyObjects(
        kc,
        PLATFORM_NAMESPACES[overlay].map(name => ({
          apiVersion: 'v1',
          kind: 'Namespace',
          metadata: { name },
        })),
      );
      // A dry run stores nothing, so what later objects need must exist for real: the
      // install's own CRDs (for its custom resources) and its namespace.
      await installCrds(kc, objects);
      await applyObjects(
        kc,
        objects.filter(o => o.kind === 'Namespace'),
      );
      const file = join(dir, `${overlay}.yaml`);
      writeFileSync(file, yaml);
      const r = runTool(
        'kubectl',
        [
          'apply',
          '--server-side',
          '--dry-run=server',
          '--validate=strict',
          '--field-manager=dilu-testbed',
          '-f',
          file,
        ],
        { env: { ...process.env, KUBECONFIG: connection.kubeconfigPath } },
      );
      expect(r.stderr.trim()).toBe('');
      expect(r.status).toBe(0);
      const accepted = r.stdout.split('\n').filter(l => DRY_RUN_LINE.test(l));
      expect(accepted).toHaveLength(objects.length);
    });

    it(`${overlay}: references resolve, Services select their pods, every object is labelled`, () => {
      const { objects } = render(overlay);
      expect([
        ...bindingProblems(objects),
        ...referenceProblems(objects, PREREQUISITES),
        ...serviceProblems(objects),
        ...webhookServiceProblems(objects),
        ...labelProblems(objects),
      ]).toEqual([]);
    });

    it(`${overlay}: PodMonitors scrape every component and the function pods, on ports they declare`, () => {
      const { objects } = render(overlay);
      expect(
        objects
          .filter(o => o.kind === 'PodMonitor')
          .map(objectRef)
          .sort(),
      ).toEqual(Object.keys(POD_MONITORS).sort());
      expect([
        ...podMonitorProblems(objects, POD_MONITORS, PREREQUISITES),
        ...unscrapedProblems(objects),
      ]).toEqual([]);
    });

    it(`${overlay}: PodMonitors honour exported labels where, and only where, series carry target labels`, () => {
      const found = render(overlay)
        .objects.filter(o => o.kind === 'PodMonitor')
        .map(pm => {
          const ref = objectRef(pm);
          const spec = (pm['spec'] ?? {}) as PodMonitorSpec;
          const targetLabels = targetLabelsOf(spec);
          const registries = EXPORTED_BY[ref]?.() ?? [];
          return {
            ref,
            known: ref in EXPORTED_BY,
            clashing: [...new Set(registries.flatMap(labelNamesOf))]
              .filter(l => targetLabels.has(l))
              .sort(),
            honorLabels: (spec.podMetricsEndpoints ?? []).map(ep => ep.honorLabels === true),
          };
        });
      for (const f of found) {
        expect(f).toEqual({
          ...f,
          known: true,
          honorLabels: f.honorLabels.map(() => f.clashing.length > 0),
        });
      }
      // The one component whose series carry the function's namespace and pod.
      expect(found.filter(f => f.clashing.length > 0)).toEqual([
        {
          ref: 'PodMonitor/dilu-system/dilu-autoscaler',
          known: true,
          clashing: ['namespace', 'pod'],
          honorLabels: [true],
        },
      ]);
    });

    it(`${overlay}: RBAC and pods are least privilege`, () => {
      const { objects } = render(overlay);
      expect([
        ...rbacProblems(objects),
        ...podProblems(objects, { hostAccess: HOST_ACCESS }),
      ]).toEqual([]);
    });
  }

  /** `promtool check rules` on a rules file; the output when it fails. */
  const promtoolCheck = (name: string, groups: unknown): { status: number | null; out: string } => {
    const file = join(dir, `${name}.rules.yaml`);
    writeFileSync(file, dump({ groups }));
    const r = spawnSync('promtool', ['check', 'rules', file], { encoding: 'utf8' });
    if (r.error !== undefined) {
      throw new Error(
        `promtool: ${r.error.message}; install Debian's prometheus package (.ci/run does)`,
      );
    }
    return { status: r.status, out: `${r.stdout}${r.stderr}` };
  };

  for (const overlay of OVERLAYS) {
    it(`${overlay}: its PrometheusRules load into Prometheus (promtool check rules)`, () => {
      const rules = render(overlay).objects.filter(o => o.kind === 'PrometheusRule');
      expect(rules.length).toBeGreaterThan(0);
      for (const rule of rules) {
        const groups = (rule['spec'] as { groups?: unknown[] } | undefined)?.groups;
        expect(groups?.length ?? 0).toBeGreaterThan(0);
        expect({
          rule: objectRef(rule),
          ...promtoolCheck(`${overlay}-${rule.metadata?.name ?? ''}`, groups),
        }).toEqual({
          rule: objectRef(rule),
          status: 0,
          out: expect.stringContaining('SUCCESS') as unknown,
        });
      }
    });

    it(`${overlay}: every query of its Grafana dashboards is valid PromQL`, () => {
      const dashboards = render(overlay).objects.filter(
        o => o.kind === 'ConfigMap' && o.metadata?.labels?.['grafana_dashboard'] === '1',
      );
      expect(dashboards.length).toBeGreaterThan(0);
      for (const cm of dashboards) {
        for (const [file, text] of Object.entries((cm['data'] ?? {}) as Record<string, string>)) {
          const dashboard = JSON.parse(text) as {
            panels?: { title?: string; targets?: { expr?: string }[] }[];
          };
          const exprs = (dashboard.panels ?? []).flatMap(p =>
            (p.targets ?? []).map(t => t.expr ?? ''),
          );
          expect(exprs.length).toBeGreaterThan(0);
          // Each query as a recording rule, template variables given a value, so that promtool
          // parses it as Prometheus will.
          const rules = exprs.map((expr, i) => ({
            record: `dashboard:query_${i}`,
            expr: expr.replace(/\$\{?(\w+)\}?/g, '.*'),
          }));
          expect({ file, ...promtoolCheck(`${overlay}-${file}`, [{ name: file, rules }]) }).toEqual(
            {
              file,
              status: 0,
              out: expect.stringContaining('SUCCESS') as unknown,
            },
          );
        }
      }
    });

    it(`${overlay}: the autoscaler's configuration is valid and in ${overlay} mode`, () => {
      const cm = render(overlay).objects.find(
        o => o.kind === 'ConfigMap' && o.metadata?.name === 'dilu-autoscaler',
      );
      const text = (cm?.['data'] as Record<string, string> | undefined)?.['config.yaml'] ?? '';
      const config = parseControllerConfig(load(text));
      expect(config.mode).toBe(overlay);
    });
  }

  it('openfaas: nothing of Knative is installed or granted', () => {
    const { objects } = render('openfaas');
    expect(objects.filter(o => o.metadata?.namespace === 'knative-serving').map(objectRef)).toEqual(
      [],
    );
    const groups = objects
      .filter(o => o.kind === 'ClusterRole')
      .flatMap(o =>
        ((o['rules'] ?? []) as { apiGroups?: string[] }[]).flatMap(r => r.apiGroups ?? []),
      );
    expect(groups.filter(g => g.includes('knative.dev'))).toEqual([]);
  });
});

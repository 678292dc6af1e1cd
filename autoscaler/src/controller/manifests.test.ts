// The autoscaler's manifests as data: the RBAC it ships is least privilege and covers
// every call the controller makes, the ConfigMap's settings parse, the Deployment runs two
// replicas, and the monitoring rules pass promtool's own checks and unit tests.
import { describe, expect, it } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import {
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
  copyFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { dump, load, loadAll } from 'js-yaml';
import { AutoscalerMetrics } from './core/autoscaler-metrics.js';
import { parseControllerConfig } from './core/config.js';

const MANIFESTS = fileURLToPath(new URL('../../../manifests/base/', import.meta.url));
const ci = process.env['CI'] === 'true' || process.env['CI'] === '1';

interface K8sObject {
  kind: string;
  metadata: { name: string; namespace?: string };
  [key: string]: unknown;
}
interface Rule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
}

function objects(dir: string): K8sObject[] {
  return readdirSync(join(MANIFESTS, dir))
    .filter(f => f.endsWith('.yaml') && f !== 'kustomization.yaml')
    .flatMap(f => loadAll(readFileSync(join(MANIFESTS, dir, f), 'utf8')) as K8sObject[]);
}
const autoscaler = objects('autoscaler');
const rulesOf = (kind: string, name: string): Rule[] =>
  (autoscaler.find(o => o.kind === kind && o.metadata.name === name)?.['rules'] as
    Rule[] | undefined) ?? [];
const allows = (rules: Rule[], group: string, resource: string, verb: string): boolean =>
  rules.some(
    r => r.apiGroups.includes(group) && r.resources.includes(resource) && r.verbs.includes(verb),
  );

describe('manifests/base/autoscaler', () => {
  it('lists every file in its kustomization', () => {
    const k = load(readFileSync(join(MANIFESTS, 'autoscaler', 'kustomization.yaml'), 'utf8')) as {
      resources: string[];
    };
    const files = readdirSync(join(MANIFESTS, 'autoscaler')).filter(
      f => f.endsWith('.yaml') && f !== 'kustomization.yaml',
    );
    expect([...k.resources].sort()).toEqual(files.sort());
  });

  it('grants what the controller calls, and no wildcards, deletes or secrets', () => {
    const cluster = rulesOf('ClusterRole', 'dilu-autoscaler');
    const calls: [string, string, string][] = [
      ['autoscaling.internal.knative.dev', 'podautoscalers', 'watch'],
      ['autoscaling.internal.knative.dev', 'podautoscalers/status', 'patch'],
      ['networking.internal.knative.dev', 'serverlessservices', 'create'],
      ['networking.internal.knative.dev', 'serverlessservices', 'patch'],
      ['apps', 'deployments', 'watch'],
      ['apps', 'deployments', 'patch'],
      ['apps', 'deployments/scale', 'patch'],
      ['', 'pods', 'watch'],
      ['', 'pods', 'patch'],
      ['', 'nodes', 'list'],
      ['dilu.dev', 'functionprofiles', 'watch'],
    ];
    for (const [g, r, v] of calls) expect(allows(cluster, g, r, v)).toBe(true);
    const all = autoscaler.filter(o => o.kind === 'ClusterRole' || o.kind === 'Role');
    for (const role of all) {
      for (const rule of role['rules'] as Rule[]) {
        expect(rule.verbs).not.toContain('*');
        expect(rule.verbs).not.toContain('delete');
        expect(rule.resources).not.toContain('*');
        expect(rule.resources).not.toContain('secrets');
      }
    }
    const lease = rulesOf('Role', 'dilu-autoscaler-leader-election');
    expect(allows(lease, 'coordination.k8s.io', 'leases', 'update')).toBe(true);
    expect(allows(cluster, 'coordination.k8s.io', 'leases', 'update')).toBe(false);
  });

  it('runs two replicas of `dilu autoscaler` with the ConfigMap settings, which parse', () => {
    const d = autoscaler.find(o => o.kind === 'Deployment') as unknown as {
      spec: { replicas: number; template: { spec: { containers: { args: string[] }[] } } };
    };
    expect(d.spec.replicas).toBe(2);
    expect(d.spec.template.spec.containers[0]?.args[0]).toBe('autoscaler');
    const cm = autoscaler.find(o => o.kind === 'ConfigMap') as unknown as {
      data: Record<string, string>;
    };
    const config = parseControllerConfig(load(cm.data['config.yaml'] ?? ''));
    expect(config).toMatchObject({ mode: 'knative', namespace: 'dilu-system', httpPort: 8080 });
  });
});

describe('manifests/base/monitoring', () => {
  const rule = loadAll(
    readFileSync(join(MANIFESTS, 'monitoring', 'prometheusrule.yaml'), 'utf8'),
  )[0] as { spec: { groups: { rules: { alert: string; expr: string }[] }[] } };
  const dashboard = JSON.parse(
    readFileSync(join(MANIFESTS, 'monitoring', 'dilu-autoscaler-dashboard.json'), 'utf8'),
  ) as { panels: { targets: { expr: string }[] }[] };

  it('alerts on SLO burn, quota saturation and scrape failures', () => {
    const alerts = rule.spec.groups.flatMap(g => g.rules.map(r => r.alert));
    for (const a of [
      'DiluSloBurnFast',
      'DiluSloBurnSlow',
      'DiluQuotaSaturated',
      'DiluScrapeFailures',
    ]) {
      expect(alerts).toContain(a);
    }
  });

  it('queries only metrics the autoscaler exports', async () => {
    const exported = new Set(
      (await new AutoscalerMetrics({ defaultMetrics: false }).registry.getMetricsAsJSON()).map(
        m => m.name,
      ),
    );
    const used = [
      ...rule.spec.groups.flatMap(g => g.rules.map(r => r.expr)),
      ...dashboard.panels.flatMap(p => p.targets.map(t => t.expr)),
    ]
      .flatMap(e => e.match(/dilu_autoscaler_[a-z0-9_]+/g) ?? [])
      .map(n => n.replace(/_(bucket|sum|count)$/, ''));
    expect(used.length).toBeGreaterThan(10);
    for (const name of new Set(used)) expect(exported).toContain(name);
  });

  const promtool = spawnSync('promtool', ['--version']).status === 0;
  (promtool || ci ? it : it.skip)(
    "passes promtool's rule check and the alert unit tests (Debian's prometheus package)",
    () => {
      const dir = mkdtempSync(join(tmpdir(), 'dilu-promtool-'));
      try {
        writeFileSync(join(dir, 'rules.yaml'), dump({ groups: rule.spec.groups }));
        copyFileSync(
          join(MANIFESTS, 'monitoring', 'tests', 'promtool-tests.yaml'),
          join(dir, 'tests.yaml'),
        );
        const check = spawnSync('promtool', ['check', 'rules', join(dir, 'rules.yaml')], {
          encoding: 'utf8',
        });
        expect(`${check.stdout}${check.stderr}`).toMatch(/SUCCESS: 8 rules found/);
        const test = spawnSync('promtool', ['test', 'rules', join(dir, 'tests.yaml')], {
          encoding: 'utf8',
        });
        expect(`${test.stdout}${test.stderr}`).toMatch(/SUCCESS/);
        expect(test.status).toBe(0);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  );
});

import { describe, expect, it } from '@jest/globals';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import yaml from 'js-yaml';
import { MUTATE_PATH } from './admission/app.js';
import { buildCli } from './cli/main.js';

/** The shipped manifests agree with the code: path, flags, selectors, least privilege. */
const DIR = fileURLToPath(new URL('../../manifests/base/webhook/', import.meta.url));

interface Obj {
  kind: string;
  metadata: { name: string; namespace?: string };
  [key: string]: unknown;
}

const docs: Obj[] = readdirSync(DIR)
  .filter(f => f.endsWith('.yaml') && f !== 'kustomization.yaml')
  .flatMap(f => yaml.loadAll(readFileSync(join(DIR, f), 'utf8')) as Obj[]);

function one(kind: string, name: string): Obj {
  const found = docs.find(d => d.kind === kind && d.metadata.name === name);
  if (!found) throw new Error(`no ${kind} ${name}`);
  return found;
}

interface Webhook {
  name: string;
  clientConfig: { service: { name: string; namespace: string; path: string; port: number } };
  failurePolicy: string;
  sideEffects: string;
  timeoutSeconds: number;
  admissionReviewVersions: string[];
  objectSelector: {
    matchExpressions?: { key: string; operator: string }[];
    matchLabels?: Record<string, string>;
  };
  rules: { operations: string[]; resources: string[] }[];
}

describe('manifests/base/webhook', () => {
  it('lists every file in its kustomization', () => {
    const k = yaml.load(readFileSync(join(DIR, 'kustomization.yaml'), 'utf8')) as {
      resources: string[];
    };
    const files = readdirSync(DIR).filter(f => f.endsWith('.yaml') && f !== 'kustomization.yaml');
    expect([...k.resources].sort()).toEqual(files.sort());
  });

  it('sends pod CREATEs to the served path, fails closed, and never sends a pod twice', () => {
    const config = one('MutatingWebhookConfiguration', 'dilu-webhook') as Obj & {
      webhooks: Webhook[];
    };
    const service = one('Service', 'dilu-webhook') as Obj & { spec: { ports: { port: number }[] } };
    expect(config.webhooks.map(w => w.name)).toEqual([
      'knative.pods.dilu.dev',
      'openfaas.pods.dilu.dev',
      'pods.dilu.dev',
    ]);
    for (const w of config.webhooks) {
      expect(w.clientConfig.service).toEqual({
        name: 'dilu-webhook',
        namespace: 'dilu-system',
        path: MUTATE_PATH,
        port: service.spec.ports[0]?.port,
      });
      expect(w).toMatchObject({
        failurePolicy: 'Fail',
        sideEffects: 'NoneOnDryRun',
        admissionReviewVersions: ['v1'],
      });
      expect(w.rules).toEqual([
        expect.objectContaining({ operations: ['CREATE'], resources: ['pods'] }),
      ]);
      expect(w.timeoutSeconds * 1000).toBeGreaterThan(8000);
    }
    const [knative, openfaas, pods] = config.webhooks;
    // Disjoint: entries 1 and 2 require the dilu.dev/enabled label to be absent, entry 3 needs
    // it; entry 2 excludes Knative pods.
    expect(knative?.objectSelector.matchExpressions).toContainEqual({
      key: 'dilu.dev/enabled',
      operator: 'DoesNotExist',
    });
    expect(openfaas?.objectSelector.matchExpressions).toContainEqual({
      key: 'dilu.dev/enabled',
      operator: 'DoesNotExist',
    });
    expect(openfaas?.objectSelector.matchExpressions).toContainEqual({
      key: 'serving.knative.dev/revision',
      operator: 'DoesNotExist',
    });
    expect(pods?.objectSelector.matchLabels).toEqual({ 'dilu.dev/enabled': 'true' });
  });

  it('runs the server with flags the CLI knows, on the port its probes and Service use', () => {
    const d = one('Deployment', 'dilu-webhook') as Obj & {
      spec: {
        template: {
          spec: {
            containers: { args: string[]; ports: { name: string; containerPort: number }[] }[];
          };
        };
      };
    };
    const c = d.spec.template.spec.containers[0];
    if (!c) throw new Error('no container');
    const serve = buildCli(
      { out: () => undefined, err: () => undefined },
      () => undefined,
    ).commands.find(x => x.name() === 'serve');
    const known = new Set(serve?.options.map(o => o.long));
    for (const arg of c.args.slice(1)) expect(known).toContain(arg.split('=')[0]);
    expect(c.args).toContain('--port=8443');
    expect(c.ports).toEqual([{ name: 'https', containerPort: 8443, protocol: 'TCP' }]);
  });

  it('grants no write access to the server and no wildcard to anyone', () => {
    const rules = docs
      .filter(d => d.kind === 'ClusterRole' || d.kind === 'Role')
      .flatMap(d =>
        (d.rules as { verbs: string[]; resources: string[]; apiGroups: string[] }[]).map(r => ({
          role: d.metadata.name,
          ...r,
        })),
      );
    for (const r of rules) {
      expect([...r.verbs, ...r.resources, ...r.apiGroups]).not.toContain('*');
      if (r.role === 'dilu-webhook') expect(r.verbs).toEqual(['get', 'list', 'watch']);
    }
  });
});

import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from '@jest/globals';
import yaml from 'js-yaml';
import { configSchema } from './config/config.js';

// Guards on manifests/base/device-plugin: the privileges stay what docs/device-plugin.md says,
// and the ConfigMap's configuration is one this package accepts.
const DIR = fileURLToPath(new URL('../../manifests/base/device-plugin/', import.meta.url));

interface Doc {
  kind: string;
  metadata: { name: string };
  [k: string]: unknown;
}

const docs: Doc[] = readdirSync(DIR)
  .filter(f => f.endsWith('.yaml') && f !== 'kustomization.yaml')
  .flatMap(f => yaml.loadAll(readFileSync(`${DIR}${f}`, 'utf8')) as Doc[]);
const byKind = (kind: string): Doc => {
  const d = docs.find(x => x.kind === kind);
  if (d === undefined) throw new Error(`no ${kind}`);
  return d;
};

describe('device plugin manifests', () => {
  it('lists every file in the kustomization', () => {
    const k = yaml.load(readFileSync(`${DIR}kustomization.yaml`, 'utf8')) as {
      resources: string[];
    };
    const files = readdirSync(DIR).filter(f => f.endsWith('.yaml') && f !== 'kustomization.yaml');
    expect([...k.resources].sort()).toEqual(files.sort());
  });

  it('grants only get pods, create tokenreviews and patch nodes', () => {
    const role = byKind('ClusterRole') as unknown as {
      rules: { apiGroups: string[]; resources: string[]; verbs: string[] }[];
    };
    expect(
      role.rules.map(r => `${r.apiGroups.join()}/${r.resources.join()}:${r.verbs.join()}`).sort(),
    ).toEqual(['/nodes:patch', '/pods:get', 'authentication.k8s.io/tokenreviews:create']);
  });

  it('runs unprivileged with exactly the documented host paths, hostPID and one hostPort', () => {
    const spec = (
      byKind('DaemonSet') as unknown as { spec: { template: { spec: Record<string, unknown> } } }
    ).spec.template.spec;
    expect(spec.hostPID).toBe(true);
    expect(spec.hostNetwork).toBeUndefined();
    expect(spec.hostIPC).toBeUndefined();
    const [c] = spec.containers as {
      securityContext: Record<string, unknown>;
      ports: { hostPort?: number }[];
    }[];
    expect(c?.securityContext).toMatchObject({
      privileged: false,
      allowPrivilegeEscalation: false,
    });
    expect(c?.securityContext.capabilities).not.toHaveProperty('add');
    expect(c?.ports.filter(p => p.hostPort !== undefined).map(p => p.hostPort)).toEqual([9450]);
    const hostPaths = (spec.volumes as { hostPath?: { path: string } }[]).flatMap(v =>
      v.hostPath === undefined ? [] : [v.hostPath.path],
    );
    expect(hostPaths.sort()).toEqual([
      '/run/dilu',
      '/run/dilu/mps/shm',
      '/var/lib/kubelet/device-plugins',
      '/var/lib/kubelet/pod-resources',
    ]);
  });

  it('ships a configuration the plugin accepts, with paths the DaemonSet mounts', () => {
    const cm = byKind('ConfigMap') as unknown as { data: Record<string, string> };
    const parsed = configSchema.safeParse(yaml.load(cm.data['config.yaml'] ?? ''));
    expect(parsed.error).toBeUndefined();
    const c = parsed.data!;
    const spec = (
      byKind('DaemonSet') as unknown as {
        spec: { template: { spec: { containers: { volumeMounts: { mountPath: string }[] }[] } } };
      }
    ).spec.template.spec;
    const mounts = spec.containers[0]!.volumeMounts.map(m => m.mountPath);
    for (const path of [
      c.stateDir,
      c.mps.root,
      c.devicePluginDir,
      c.podResourcesSocket,
      c.agent.tls.certFile,
    ]) {
      expect(mounts.some(m => path === m || path.startsWith(`${m}/`))).toBe(true);
    }
  });
});

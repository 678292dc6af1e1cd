// The manifest checks find what they are meant to find: each is run on a small install that
// breaks its rule, and on one that keeps it.
import { describe, expect, it } from '@jest/globals';
import type { KubernetesObject } from '@kubernetes/client-node';
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
} from './checks.js';

type Obj = KubernetesObject & { kind: string; [key: string]: unknown };

const part = { 'app.kubernetes.io/part-of': 'dilu' };

function deployment(
  overrides: { pod?: Record<string, unknown>; container?: Record<string, unknown> } = {},
): Obj {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web', namespace: 'ns', labels: part },
    spec: {
      template: {
        metadata: { labels: { app: 'web' } },
        spec: {
          serviceAccountName: 'web',
          securityContext: { runAsNonRoot: true },
          containers: [
            {
              name: 'web',
              image: 'example/web:1.0.0',
              ports: [{ name: 'http', containerPort: 8080 }],
              resources: { requests: { cpu: '10m', memory: '10Mi' }, limits: { memory: '20Mi' } },
              securityContext: {
                allowPrivilegeEscalation: false,
                readOnlyRootFilesystem: true,
                capabilities: { drop: ['ALL'] },
              },
              ...overrides.container,
            },
          ],
          ...overrides.pod,
        },
      },
    },
  };
}

const serviceAccount: Obj = {
  apiVersion: 'v1',
  kind: 'ServiceAccount',
  metadata: { name: 'web', namespace: 'ns', labels: part },
};

function service(targetPort: string, selector = { app: 'web' }): Obj {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'web', namespace: 'ns', labels: part },
    spec: { selector, ports: [{ port: 80, targetPort }] },
  };
}

function role(kind: 'Role' | 'ClusterRole', rules: unknown[]): Obj {
  return {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind,
    metadata: { name: 'r', ...(kind === 'Role' ? { namespace: 'ns' } : {}), labels: part },
    rules,
  };
}

function podMonitor(spec: Record<string, unknown>, name = 'web'): Obj {
  return {
    apiVersion: 'monitoring.coreos.com/v1',
    kind: 'PodMonitor',
    metadata: { name, namespace: 'ns', labels: part },
    spec,
  };
}

describe('manifest checks', () => {
  it('accept a well-formed workload, its account and its Service', () => {
    const install = [deployment(), serviceAccount, service('http')];
    expect([
      ...podProblems(install),
      ...referenceProblems(install),
      ...serviceProblems(install),
      ...labelProblems(install),
    ]).toEqual([]);
  });

  it('find wide permissions', () => {
    const problems = rbacProblems([
      role('ClusterRole', [
        { apiGroups: [''], resources: ['*'], verbs: ['get'] },
        { apiGroups: [''], resources: ['secrets'], verbs: ['list'] },
        { apiGroups: ['rbac.authorization.k8s.io'], resources: ['clusterroles'], verbs: ['bind'] },
        { apiGroups: [''], resources: ['pods/exec'], verbs: ['create'] },
      ]),
      role('Role', [{ apiGroups: [''], resources: ['secrets'], verbs: ['get'] }]),
      {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'ClusterRoleBinding',
        metadata: { name: 'b' },
        roleRef: { kind: 'ClusterRole', name: 'cluster-admin' },
      },
    ]);
    expect(problems).toEqual([
      'ClusterRole/r rules[0].resources: wildcard "*"',
      'ClusterRole/r rules[1]: Secrets readable or writable cluster-wide (list)',
      'ClusterRole/r rules[1]: Secrets must be read one by one by name (resourceNames)',
      'ClusterRole/r rules[2].verbs: "bind" lets the holder grant itself more',
      'ClusterRole/r rules[3].resources: pods/exec or pods/attach',
      'Role/ns/r rules[0]: Secrets must be read one by one by name (resourceNames)',
      'ClusterRoleBinding/b.roleRef: bound to cluster-admin',
    ]);
  });

  it('find bindings to roles and accounts the install lacks', () => {
    const binding: Obj = {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: { name: 'b', namespace: 'ns' },
      roleRef: { kind: 'Role', name: 'missing' },
      subjects: [{ kind: 'ServiceAccount', name: 'ghost', namespace: 'ns' }],
    };
    expect(bindingProblems([binding])).toEqual([
      'RoleBinding/ns/b.roleRef: no Role missing in the install',
      'RoleBinding/ns/b.subjects: no ServiceAccount ns/ghost',
    ]);
  });

  it('find unpinned images, missing requests and escalation', () => {
    const problems = podProblems([
      deployment({
        container: {
          image: 'example/web:latest',
          resources: {},
          securityContext: { privileged: true, capabilities: { add: ['SYS_ADMIN'] } },
        },
        pod: {
          hostNetwork: true,
          securityContext: {},
          volumes: [{ name: 'h', hostPath: { path: '/' } }],
        },
      }),
    ]);
    expect(problems).toEqual([
      'Deployment/ns/web.spec.hostNetwork: true',
      'Deployment/ns/web: hostPath volume in a workload not listed as needing host access',
      'Deployment/ns/web container web.image: "example/web:latest" is not pinned to a tag or digest',
      'Deployment/ns/web container web.resources.requests: cpu and memory needed',
      'Deployment/ns/web container web.resources.limits.memory: missing',
      'Deployment/ns/web container web.securityContext.privileged: true',
      'Deployment/ns/web container web.securityContext.allowPrivilegeEscalation: must be false',
      'Deployment/ns/web container web.securityContext.capabilities.add: SYS_ADMIN',
      'Deployment/ns/web container web.securityContext.capabilities.drop: must include ALL',
      'Deployment/ns/web container web: runAsNonRoot not set (pod or container)',
      'Deployment/ns/web container web.securityContext.readOnlyRootFilesystem: must be true',
    ]);
  });

  it('let a listed workload run as root with host paths and hostPID, but nothing more', () => {
    const listed = { hostAccess: { 'Deployment/ns/web': 'kubelet sockets' } };
    const root = (extra: Record<string, unknown>, sc: Record<string, unknown>) =>
      deployment({
        pod: {
          securityContext: {},
          hostPID: true,
          volumes: [{ name: 'h', hostPath: { path: '/var/lib/kubelet' } }],
          ...extra,
        },
        container: { securityContext: { allowPrivilegeEscalation: false, ...sc } },
      });
    expect(podProblems([root({}, { runAsUser: 0 })], listed)).toEqual([]);
    expect(
      podProblems([root({ hostNetwork: true }, { capabilities: { add: ['SYS_ADMIN'] } })], listed),
    ).toEqual([
      'Deployment/ns/web.spec.hostNetwork: true',
      'Deployment/ns/web container web.securityContext.capabilities.add: SYS_ADMIN',
    ]);
    expect(podProblems([root({}, {})])).toContain('Deployment/ns/web.spec.hostPID: true');
  });

  it('accept a Secret the user creates first when it is listed as a prerequisite', () => {
    const d = deployment({
      pod: { volumes: [{ name: 't', secret: { secretName: 'agent-tls' } }] },
    });
    expect(referenceProblems([d, serviceAccount])).toEqual([
      'Deployment/ns/web volume t: no Secret ns/agent-tls, and no Job of the install creates it',
    ]);
    expect(referenceProblems([d, serviceAccount], ['ns/agent-tls'])).toEqual([]);
  });

  it('find missing accounts, ConfigMaps and Secrets, except a Secret a Job of the install writes', () => {
    const d = deployment({
      pod: {
        serviceAccountName: 'nobody',
        volumes: [
          { name: 'c', configMap: { name: 'absent' } },
          { name: 'o', configMap: { name: 'absent', optional: true } },
          { name: 's', secret: { secretName: 'tls' } },
          { name: 't', secret: { secretName: 'made-by-job' } },
        ],
      },
    });
    const job: Obj = {
      apiVersion: 'batch/v1',
      kind: 'Job',
      metadata: { name: 'certs', namespace: 'ns' },
      spec: {
        template: {
          spec: {
            serviceAccountName: 'web',
            containers: [{ name: 'c', image: 'x:1', args: ['certs', '--secret=made-by-job'] }],
          },
        },
      },
    };
    expect(referenceProblems([d, job, serviceAccount])).toEqual([
      'Deployment/ns/web.serviceAccountName: no ServiceAccount ns/nobody',
      'Deployment/ns/web volume c: no ConfigMap ns/absent',
      'Deployment/ns/web volume s: no Secret ns/tls, and no Job of the install creates it',
    ]);
  });

  it('find Services that select nothing or target an undeclared port, and webhooks without their Service', () => {
    expect(serviceProblems([deployment(), service('http', { app: 'other' })])).toEqual([
      'Service/ns/web.spec.selector: selects 0 workloads, want 1',
    ]);
    expect(serviceProblems([deployment(), service('metrics')])).toEqual([
      'Service/ns/web port 80: targetPort metrics is no container port',
    ]);
    const config: Obj = {
      apiVersion: 'admissionregistration.k8s.io/v1',
      kind: 'MutatingWebhookConfiguration',
      metadata: { name: 'm' },
      webhooks: [
        {
          name: 'a.example',
          clientConfig: { service: { name: 'web', namespace: 'ns', port: 443 } },
        },
      ],
    };
    expect(webhookServiceProblems([config, service('http')])).toEqual([
      'MutatingWebhookConfiguration/m webhook a.example: no Service ns/web on port 443',
    ]);
  });

  it('accept a PodMonitor that selects a workload of the install on a port it declares', () => {
    const pm = podMonitor({
      selector: { matchLabels: { app: 'web' } },
      podMetricsEndpoints: [{ port: 'http', path: '/metrics' }],
    });
    expect(podMonitorProblems([deployment(), pm])).toEqual([]);
    const byNumber = podMonitor({
      selector: { matchExpressions: [{ key: 'app', operator: 'In', values: ['web'] }] },
      podMetricsEndpoints: [{ portNumber: 8080 }],
    });
    expect(podMonitorProblems([deployment(), byNumber])).toEqual([]);
  });

  it('find PodMonitors that select nothing, name no port or a missing one, or overlap', () => {
    expect(
      podMonitorProblems([
        deployment(),
        podMonitor({
          selector: { matchLabels: { app: 'other' } },
          podMetricsEndpoints: [{ port: 'http' }],
        }),
      ]),
    ).toEqual([
      'PodMonitor/ns/web.spec.selector: selects no pod of the install and none listed for it',
    ]);
    expect(
      podMonitorProblems([
        deployment(),
        podMonitor({
          selector: { matchLabels: { app: 'web' } },
          namespaceSelector: { matchNames: ['elsewhere'] },
          podMetricsEndpoints: [{ port: 'http' }],
        }),
      ]),
    ).toEqual([
      'PodMonitor/ns/web.spec.selector: selects no pod of the install and none listed for it',
    ]);
    expect(
      podMonitorProblems([
        deployment(),
        podMonitor({
          selector: { matchLabels: { app: 'web' } },
          podMetricsEndpoints: [{ port: 'metrics' }, { portNumber: 9090 }, { path: '/metrics' }],
        }),
        podMonitor({ selector: {}, podMetricsEndpoints: [{ port: 'http' }] }, 'all'),
        podMonitor(
          {
            selector: { matchExpressions: [{ key: 'app', operator: 'Exists' }] },
            podMetricsEndpoints: [{ port: 'http' }],
          },
          'again',
        ),
      ]),
    ).toEqual([
      'PodMonitor/ns/web.spec.podMetricsEndpoints[0]: port metrics is no container port of the Deployment/ns/web',
      'PodMonitor/ns/web.spec.podMetricsEndpoints[1]: port 9090 is no container port of the Deployment/ns/web',
      'PodMonitor/ns/web.spec.podMetricsEndpoints[2]: no port, would scrape every port the pods declare',
      'PodMonitor/ns/all.spec.selector: empty, would scrape every pod in scope',
      'Deployment/ns/web: scraped by PodMonitor/ns/web and PodMonitor/ns/again',
    ]);
  });

  it('hold a PodMonitor for pods outside the install to the pods listed for it', () => {
    const pod = {
      name: 'function pod',
      namespace: 'fns',
      labels: { 'example.dev/function': 'fns.f' },
      containers: [{ name: 'f', ports: [{ name: 'user-port', containerPort: 8080 }] }],
    };
    const pm = (namespaceSelector: Record<string, unknown>, portNumber: number) =>
      podMonitor({
        namespaceSelector,
        selector: { matchExpressions: [{ key: 'example.dev/function', operator: 'Exists' }] },
        podMetricsEndpoints: [{ portNumber }],
      });
    const external = { 'PodMonitor/ns/web': [pod] };
    expect(podMonitorProblems([deployment(), pm({ any: true }, 8080)], external)).toEqual([]);
    expect(podMonitorProblems([deployment(), pm({}, 8080)], external)).toEqual([
      'PodMonitor/ns/web.spec: does not select the function pod (namespace fns)',
      'PodMonitor/ns/web.spec.selector: selects no pod of the install and none listed for it',
    ]);
    expect(podMonitorProblems([deployment(), pm({ any: true }, 8081)], external)).toEqual([
      'PodMonitor/ns/web.spec.podMetricsEndpoints[0]: port 8081 is no container port of the function pod',
    ]);
  });

  it('find long-running workloads no PodMonitor scrapes, but not Jobs', () => {
    const job: Obj = {
      apiVersion: 'batch/v1',
      kind: 'Job',
      metadata: { name: 'once', namespace: 'ns' },
      spec: { template: { metadata: { labels: { app: 'once' } }, spec: { containers: [] } } },
    };
    expect(unscrapedProblems([deployment(), job])).toEqual([
      'Deployment/ns/web: no PodMonitor of the install scrapes its pods',
    ]);
    const pm = podMonitor({
      selector: { matchLabels: { app: 'web' } },
      podMetricsEndpoints: [{ port: 'http' }],
    });
    expect(unscrapedProblems([deployment(), job, pm])).toEqual([]);
  });

  it('find a PodMonitor TLS Secret that nothing creates, unless it is a prerequisite', () => {
    const pm = podMonitor({
      selector: { matchLabels: { app: 'web' } },
      podMetricsEndpoints: [
        {
          port: 'http',
          scheme: 'https',
          tlsConfig: { ca: { secret: { name: 'web-tls', key: 'ca.crt' } } },
        },
      ],
    });
    expect(podMonitorProblems([deployment(), pm])).toEqual([
      'PodMonitor/ns/web.spec.podMetricsEndpoints[0].tlsConfig: no Secret ns/web-tls, and no Job of the install creates it',
    ]);
    expect(podMonitorProblems([deployment(), pm], {}, ['ns/web-tls'])).toEqual([]);
  });

  it('find objects without the part-of label', () => {
    expect(
      labelProblems([
        { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c', namespace: 'ns' } },
      ]),
    ).toEqual(['ConfigMap/ns/c: no label app.kubernetes.io/part-of=dilu']);
  });
});

// What the API server's dry-run cannot see in a rendered install: objects that are each valid
// but do not fit together (a Service or PodMonitor selecting no pods, a binding to a role that is
// not there), and permissions or pod settings wider than the components need. Each check returns
// the problems it found, one line each naming the object and the field, so a test can print them.
import { objectRef, type ManifestObject as Obj } from '../testbed/tools.js';

interface Container {
  name: string;
  image?: string;
  args?: string[];
  ports?: { name?: string; containerPort: number }[];
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  securityContext?: {
    privileged?: boolean;
    allowPrivilegeEscalation?: boolean;
    readOnlyRootFilesystem?: boolean;
    runAsNonRoot?: boolean;
    runAsUser?: number;
    capabilities?: { add?: string[]; drop?: string[] };
  };
  volumeMounts?: { name: string; mountPath: string }[];
}

interface PodSpec {
  serviceAccountName?: string;
  hostNetwork?: boolean;
  hostPID?: boolean;
  hostIPC?: boolean;
  securityContext?: { runAsNonRoot?: boolean; runAsUser?: number };
  containers: Container[];
  initContainers?: Container[];
  volumes?: {
    name: string;
    configMap?: { name: string; optional?: boolean };
    secret?: { secretName: string; optional?: boolean };
    hostPath?: { path: string };
  }[];
}

interface Workload {
  readonly obj: Obj;
  readonly namespace: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly pod: PodSpec;
}

interface PolicyRule {
  apiGroups?: string[];
  resources?: string[];
  verbs: string[];
  resourceNames?: string[];
  nonResourceURLs?: string[];
}

const get = (o: unknown, ...path: string[]): unknown =>
  path.reduce<unknown>(
    (v, k) => (typeof v === 'object' && v !== null ? (v as Record<string, unknown>)[k] : undefined),
    o,
  );

/** Pod templates of Deployments, DaemonSets, StatefulSets, Jobs and CronJobs. */
export function workloads(objects: readonly Obj[]): Workload[] {
  const out: Workload[] = [];
  for (const obj of objects) {
    const template =
      obj.kind === 'CronJob'
        ? get(obj, 'spec', 'jobTemplate', 'spec', 'template')
        : ['Deployment', 'DaemonSet', 'StatefulSet', 'Job'].includes(obj.kind)
          ? get(obj, 'spec', 'template')
          : undefined;
    if (template === undefined) continue;
    out.push({
      obj,
      namespace: obj.metadata?.namespace ?? 'default',
      labels: (get(template, 'metadata', 'labels') ?? {}) as Record<string, string>,
      pod: get(template, 'spec') as PodSpec,
    });
  }
  return out;
}

function find(objects: readonly Obj[], kind: string, name: string, namespace?: string) {
  return objects.find(
    o =>
      o.kind === kind &&
      o.metadata?.name === name &&
      (namespace === undefined || o.metadata.namespace === namespace),
  );
}

const FORBIDDEN_VERBS = ['escalate', 'bind', 'impersonate', '*'];
const BROAD_ROLES = ['cluster-admin', 'admin', 'edit'];

/**
 * Least privilege: no wildcards, no role-granting verbs, no pods/exec, Secrets never readable
 * in bulk or cluster-wide, no binding to the built-in broad roles.
 */
export function rbacProblems(objects: readonly Obj[]): string[] {
  const problems: string[] = [];
  for (const o of objects) {
    if (o.kind === 'ClusterRole' || o.kind === 'Role') {
      const rules = (get(o, 'rules') ?? []) as PolicyRule[];
      rules.forEach((r, i) => {
        const at = `${objectRef(o)} rules[${i}]`;
        for (const f of ['apiGroups', 'resources', 'verbs'] as const) {
          if ((r[f] ?? []).includes('*')) problems.push(`${at}.${f}: wildcard "*"`);
        }
        for (const v of r.verbs.filter(v => FORBIDDEN_VERBS.includes(v) && v !== '*')) {
          problems.push(`${at}.verbs: "${v}" lets the holder grant itself more`);
        }
        const resources = r.resources ?? [];
        if (resources.some(x => x === 'pods/exec' || x === 'pods/attach')) {
          problems.push(`${at}.resources: pods/exec or pods/attach`);
        }
        if (resources.includes('secrets')) {
          const reads = r.verbs.filter(v => ['get', 'list', 'watch'].includes(v));
          if (o.kind === 'ClusterRole' && r.verbs.some(v => v !== 'create')) {
            problems.push(
              `${at}: Secrets readable or writable cluster-wide (${r.verbs.join(',')})`,
            );
          }
          if (reads.some(v => v !== 'get') || (reads.length > 0 && !r.resourceNames?.length)) {
            problems.push(`${at}: Secrets must be read one by one by name (resourceNames)`);
          }
        }
      });
    }
    if (o.kind === 'ClusterRoleBinding' || o.kind === 'RoleBinding') {
      const role = get(o, 'roleRef', 'name') as string;
      if (BROAD_ROLES.includes(role)) problems.push(`${objectRef(o)}.roleRef: bound to ${role}`);
    }
  }
  return problems;
}

/** Bindings point at roles and service accounts the install creates. */
export function bindingProblems(
  objects: readonly Obj[],
  external: readonly string[] = [],
): string[] {
  const problems: string[] = [];
  for (const o of objects) {
    if (o.kind !== 'ClusterRoleBinding' && o.kind !== 'RoleBinding') continue;
    const kind = get(o, 'roleRef', 'kind') as string;
    const name = get(o, 'roleRef', 'name') as string;
    const ns = kind === 'Role' ? o.metadata?.namespace : undefined;
    if (find(objects, kind, name, ns) === undefined && !external.includes(`${kind}/${name}`)) {
      problems.push(`${objectRef(o)}.roleRef: no ${kind} ${name} in the install`);
    }
    const subjects = (get(o, 'subjects') ?? []) as {
      kind: string;
      name: string;
      namespace?: string;
    }[];
    for (const s of subjects.filter(s => s.kind === 'ServiceAccount')) {
      if (find(objects, 'ServiceAccount', s.name, s.namespace) === undefined) {
        problems.push(
          `${objectRef(o)}.subjects: no ServiceAccount ${s.namespace ?? '?'}/${s.name}`,
        );
      }
    }
  }
  return problems;
}

/** Secrets that a Job of the install creates at run time (the webhook's certificate job). */
function secretsCreatedByJobs(objects: readonly Obj[]): Set<string> {
  const names = new Set<string>();
  for (const w of workloads(objects)) {
    if (w.obj.kind !== 'Job' && w.obj.kind !== 'CronJob') continue;
    for (const c of w.pod.containers) {
      for (const a of c.args ?? []) {
        const m = /^--secret=(.+)$/.exec(a);
        if (m?.[1] !== undefined) names.add(`${w.namespace}/${m[1]}`);
      }
    }
  }
  return names;
}

/**
 * Service accounts, ConfigMaps and Secrets a pod needs exist (or are optional, made by a Job of
 * the install, or listed in `prerequisites` as "namespace/name" of what the user creates first).
 */
export function referenceProblems(
  objects: readonly Obj[],
  prerequisites: readonly string[] = [],
): string[] {
  const problems: string[] = [];
  const jobSecrets = secretsCreatedByJobs(objects);
  for (const w of workloads(objects)) {
    const at = objectRef(w.obj);
    const sa = w.pod.serviceAccountName;
    if (sa === undefined) problems.push(`${at}: no serviceAccountName (would run as "default")`);
    else if (find(objects, 'ServiceAccount', sa, w.namespace) === undefined) {
      problems.push(`${at}.serviceAccountName: no ServiceAccount ${w.namespace}/${sa}`);
    }
    for (const v of w.pod.volumes ?? []) {
      if (v.configMap !== undefined && v.configMap.optional !== true) {
        if (find(objects, 'ConfigMap', v.configMap.name, w.namespace) === undefined) {
          problems.push(`${at} volume ${v.name}: no ConfigMap ${w.namespace}/${v.configMap.name}`);
        }
      }
      if (v.secret !== undefined && v.secret.optional !== true) {
        const key = `${w.namespace}/${v.secret.secretName}`;
        const made = jobSecrets.has(key) || prerequisites.includes(key);
        if (find(objects, 'Secret', v.secret.secretName, w.namespace) === undefined && !made) {
          problems.push(
            `${at} volume ${v.name}: no Secret ${key}, and no Job of the install creates it`,
          );
        }
      }
    }
  }
  return problems;
}

function selects(selector: Record<string, string>, labels: Readonly<Record<string, string>>) {
  const entries = Object.entries(selector);
  return entries.length > 0 && entries.every(([k, v]) => labels[k] === v);
}

/** Every Service selects one workload's pods and targets a port those containers declare. */
export function serviceProblems(objects: readonly Obj[]): string[] {
  const problems: string[] = [];
  const all = workloads(objects);
  for (const svc of objects.filter(o => o.kind === 'Service')) {
    const selector = (get(svc, 'spec', 'selector') ?? {}) as Record<string, string>;
    const ns = svc.metadata?.namespace ?? 'default';
    const targets = all.filter(w => w.namespace === ns && selects(selector, w.labels));
    if (targets.length !== 1) {
      problems.push(`${objectRef(svc)}.spec.selector: selects ${targets.length} workloads, want 1`);
      continue;
    }
    const ports = targets[0]!.pod.containers.flatMap(c => c.ports ?? []);
    const servicePorts = (get(svc, 'spec', 'ports') ?? []) as {
      port: number;
      targetPort?: string | number;
    }[];
    for (const p of servicePorts) {
      const t = p.targetPort ?? p.port;
      const ok = ports.some(cp => (typeof t === 'string' ? cp.name === t : cp.containerPort === t));
      if (!ok)
        problems.push(`${objectRef(svc)} port ${p.port}: targetPort ${t} is no container port`);
    }
  }
  return problems;
}

interface WebhookEntry {
  name: string;
  clientConfig: { service?: { name: string; namespace: string; port?: number } };
}

/** Webhook configurations call a Service of the install, on a port it serves. */
export function webhookServiceProblems(objects: readonly Obj[]): string[] {
  const problems: string[] = [];
  const configs = objects.filter(o => /^(Mutating|Validating)WebhookConfiguration$/.test(o.kind));
  for (const cfg of configs) {
    for (const wh of (get(cfg, 'webhooks') ?? []) as WebhookEntry[]) {
      const s = wh.clientConfig.service;
      if (s === undefined) continue;
      const svc = find(objects, 'Service', s.name, s.namespace);
      const ports = (get(svc, 'spec', 'ports') ?? []) as { port: number }[];
      if (svc === undefined || !ports.some(p => p.port === (s.port ?? 443))) {
        problems.push(
          `${objectRef(cfg)} webhook ${wh.name}: no Service ${s.namespace}/${s.name} on port ${s.port ?? 443}`,
        );
      }
    }
  }
  return problems;
}

export interface PodSecurityExceptions {
  /**
   * Workloads ("Kind/namespace/name") that run as root with host paths, the host PID
   * namespace and root's default capabilities (never added ones, never privileged), with why.
   */
  readonly hostAccess?: Readonly<Record<string, string>>;
}

function isPinned(image: string | undefined): boolean {
  return (
    image !== undefined &&
    /(:[\w.-]+|@sha256:[0-9a-f]{64})$/.test(image) &&
    !image.endsWith(':latest')
  );
}

function resourceProblems(c: Container, cat: string): string[] {
  const problems: string[] = [];
  if (!isPinned(c.image)) {
    problems.push(`${cat}.image: "${c.image ?? ''}" is not pinned to a tag or digest`);
  }
  const requests = c.resources?.requests ?? {};
  if (requests['cpu'] === undefined || requests['memory'] === undefined) {
    problems.push(`${cat}.resources.requests: cpu and memory needed`);
  }
  if (c.resources?.limits?.['memory'] === undefined) {
    problems.push(`${cat}.resources.limits.memory: missing`);
  }
  return problems;
}

function securityProblems(c: Container, cat: string, strict: boolean, podNonRoot: boolean) {
  const problems: string[] = [];
  const sc = c.securityContext ?? {};
  if (sc.privileged === true) problems.push(`${cat}.securityContext.privileged: true`);
  if (sc.allowPrivilegeEscalation !== false) {
    problems.push(`${cat}.securityContext.allowPrivilegeEscalation: must be false`);
  }
  const added = sc.capabilities?.add ?? [];
  if (added.length > 0) {
    problems.push(`${cat}.securityContext.capabilities.add: ${added.join(',')}`);
  }
  if (!strict) return problems;
  if (!(sc.capabilities?.drop ?? []).includes('ALL')) {
    problems.push(`${cat}.securityContext.capabilities.drop: must include ALL`);
  }
  if (!podNonRoot && sc.runAsNonRoot !== true) {
    problems.push(`${cat}: runAsNonRoot not set (pod or container)`);
  }
  if (sc.readOnlyRootFilesystem !== true) {
    problems.push(`${cat}.securityContext.readOnlyRootFilesystem: must be true`);
  }
  return problems;
}

function containerProblems(c: Container, at: string, strict: boolean, podNonRoot: boolean) {
  const cat = `${at} container ${c.name}`;
  return [...resourceProblems(c, cat), ...securityProblems(c, cat, strict, podNonRoot)];
}

/**
 * Pods: pinned images, CPU and memory requests and a memory limit, no privilege escalation,
 * all capabilities dropped, not privileged, no host namespaces; non-root with a read-only root
 * file system and no host paths unless listed as needing host access.
 */
export function podProblems(
  objects: readonly Obj[],
  exceptions: PodSecurityExceptions = {},
): string[] {
  const problems: string[] = [];
  for (const w of workloads(objects)) {
    const at = objectRef(w.obj);
    const host = exceptions.hostAccess?.[at] !== undefined;
    const hostNamespaces = host
      ? (['hostNetwork', 'hostIPC'] as const)
      : (['hostNetwork', 'hostPID', 'hostIPC'] as const);
    for (const f of hostNamespaces) {
      if (w.pod[f] === true) problems.push(`${at}.spec.${f}: true`);
    }
    if (!host && (w.pod.volumes ?? []).some(v => v.hostPath !== undefined)) {
      problems.push(`${at}: hostPath volume in a workload not listed as needing host access`);
    }
    const podNonRoot = w.pod.securityContext?.runAsNonRoot === true;
    for (const c of [...(w.pod.initContainers ?? []), ...w.pod.containers]) {
      problems.push(...containerProblems(c, at, !host, podNonRoot));
    }
  }
  return problems;
}

/** Every object carries the label uninstall and inventory rely on. */
export function labelProblems(objects: readonly Obj[]): string[] {
  return objects
    .filter(o => o.metadata?.labels?.['app.kubernetes.io/part-of'] !== 'dilu')
    .map(o => `${objectRef(o)}: no label app.kubernetes.io/part-of=dilu`);
}

/** A pod the install does not create but a PodMonitor of it is meant to scrape. */
export interface ExternalPod {
  /** How problems name it, e.g. "Knative revision pod". */
  readonly name: string;
  readonly namespace: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly containers: readonly PodContainerPorts[];
}

/** The part of a container a scrape target depends on. */
export interface PodContainerPorts {
  readonly name: string;
  readonly ports?: readonly { readonly name?: string; readonly containerPort: number }[];
}

interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: { key: string; operator: string; values?: string[] }[];
}

interface PodMetricsEndpoint {
  port?: string;
  portNumber?: number;
  targetPort?: string | number;
  tlsConfig?: { ca?: { secret?: { name: string } }; cert?: { secret?: { name: string } } };
}

/** A label selector as the API server reads it; an empty one matches everything. */
function matchesSelector(selector: LabelSelector, labels: Readonly<Record<string, string>>) {
  const byLabel = Object.entries(selector.matchLabels ?? {}).every(([k, v]) => labels[k] === v);
  const byExpression = (selector.matchExpressions ?? []).every(e => {
    const value = labels[e.key];
    switch (e.operator) {
      case 'In':
        return value !== undefined && (e.values ?? []).includes(value);
      case 'NotIn':
        return value === undefined || !(e.values ?? []).includes(value);
      case 'Exists':
        return value !== undefined;
      case 'DoesNotExist':
        return value === undefined;
      default:
        return false;
    }
  });
  return byLabel && byExpression;
}

interface ScrapedPod {
  readonly ref: string;
  readonly namespace: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly containers: readonly PodContainerPorts[];
}

function endpointPort(ep: PodMetricsEndpoint): string | number | undefined {
  return ep.port ?? ep.portNumber ?? ep.targetPort;
}

function installPods(objects: readonly Obj[]): ScrapedPod[] {
  return workloads(objects).map(w => ({
    ref: objectRef(w.obj),
    namespace: w.namespace,
    labels: w.labels,
    containers: w.pod.containers,
  }));
}

/** The pods among `pods` a PodMonitor discovers: in its namespaces, matching its selector. */
function selectedBy(pm: Obj, pods: readonly ScrapedPod[]): ScrapedPod[] {
  const selector = (get(pm, 'spec', 'selector') ?? {}) as LabelSelector;
  const nsSelector = (get(pm, 'spec', 'namespaceSelector') ?? {}) as {
    any?: boolean;
    matchNames?: string[];
  };
  const namespaces = nsSelector.matchNames ?? [pm.metadata?.namespace ?? 'default'];
  return pods.filter(
    p =>
      (nsSelector.any === true || namespaces.includes(p.namespace)) &&
      matchesSelector(selector, p.labels),
  );
}

/** The endpoint names a port, and every pod it scrapes declares it. */
function endpointPortProblems(
  ep: PodMetricsEndpoint,
  at: string,
  pods: readonly ScrapedPod[],
): string[] {
  const port = endpointPort(ep);
  if (port === undefined) return [`${at}: no port, would scrape every port the pods declare`];
  return pods
    .filter(
      p =>
        !p.containers
          .flatMap(c => c.ports ?? [])
          .some(cp => (typeof port === 'string' ? cp.name === port : cp.containerPort === port)),
    )
    .map(p => `${at}: port ${port} is no container port of the ${p.ref}`);
}

/** The TLS Secrets the endpoint reads exist, a Job of the install writes them, or the user does. */
function endpointSecretProblems(
  ep: PodMetricsEndpoint,
  at: string,
  namespace: string,
  objects: readonly Obj[],
  prerequisites: readonly string[],
): string[] {
  const jobSecrets = secretsCreatedByJobs(objects);
  const problems: string[] = [];
  for (const s of [ep.tlsConfig?.ca?.secret, ep.tlsConfig?.cert?.secret]) {
    if (s === undefined) continue;
    const key = `${namespace}/${s.name}`;
    const exists = find(objects, 'Secret', s.name, namespace) !== undefined;
    if (!exists && !jobSecrets.has(key) && !prerequisites.includes(key)) {
      problems.push(`${at}.tlsConfig: no Secret ${key}, and no Job of the install creates it`);
    }
  }
  return problems;
}

/**
 * One PodMonitor's problems, and the pods it scrapes: those of the install it selects and those
 * listed for it that it selects.
 */
function monitorProblems(
  pm: Obj,
  ownPods: readonly ScrapedPod[],
  listed: readonly ScrapedPod[],
  objects: readonly Obj[],
  prerequisites: readonly string[],
): { problems: string[]; selected: ScrapedPod[] } {
  const at = objectRef(pm);
  const selector = (get(pm, 'spec', 'selector') ?? {}) as LabelSelector;
  const empty =
    Object.keys(selector.matchLabels ?? {}).length === 0 &&
    (selector.matchExpressions ?? []).length === 0;
  if (empty) {
    return {
      problems: [`${at}.spec.selector: empty, would scrape every pod in scope`],
      selected: [],
    };
  }
  const listedSelected = selectedBy(pm, listed);
  const problems = listed
    .filter(p => !listedSelected.includes(p))
    .map(p => `${at}.spec: does not select the ${p.ref} (namespace ${p.namespace})`);
  const selected = [...selectedBy(pm, ownPods), ...listedSelected];
  if (selected.length === 0) {
    problems.push(`${at}.spec.selector: selects no pod of the install and none listed for it`);
    return { problems, selected };
  }
  const endpoints = (get(pm, 'spec', 'podMetricsEndpoints') ?? []) as PodMetricsEndpoint[];
  if (endpoints.length === 0) problems.push(`${at}.spec.podMetricsEndpoints: none`);
  const ns = pm.metadata?.namespace ?? 'default';
  endpoints.forEach((ep, i) => {
    const eat = `${at}.spec.podMetricsEndpoints[${i}]`;
    problems.push(...endpointPortProblems(ep, eat, selected));
    problems.push(...endpointSecretProblems(ep, eat, ns, objects, prerequisites));
  });
  return { problems, selected };
}

/**
 * PodMonitors scrape something: each selects pods of one of the install's workloads, or the pods
 * outside it listed for it in `external` ("PodMonitor/namespace/name" → pods as the platforms
 * make them, every one of which it must select), and no pod twice across PodMonitors (the series
 * would be doubled). Each endpoint names one port, by name or number, that every selected pod
 * declares (Prometheus drops a pod without it, and scrapes every declared port when none is
 * named). A TLS Secret an endpoint reads exists, is written by a Job of the install, or is listed
 * in `prerequisites` as "namespace/name".
 */
export function podMonitorProblems(
  objects: readonly Obj[],
  external: Readonly<Record<string, readonly ExternalPod[]>> = {},
  prerequisites: readonly string[] = [],
): string[] {
  const problems: string[] = [];
  const ownPods = installPods(objects);
  const scrapedBy = new Map<string, string[]>();
  for (const pm of objects.filter(o => o.kind === 'PodMonitor')) {
    const at = objectRef(pm);
    const listed = (external[at] ?? []).map(p => ({ ...p, ref: p.name }));
    const found = monitorProblems(pm, ownPods, listed, objects, prerequisites);
    problems.push(...found.problems);
    for (const p of found.selected) scrapedBy.set(p.ref, [...(scrapedBy.get(p.ref) ?? []), at]);
  }
  for (const [pod, monitors] of scrapedBy) {
    if (monitors.length > 1) problems.push(`${pod}: scraped by ${monitors.join(' and ')}`);
  }
  return problems;
}

/** Long-running workloads of the install (not Jobs) that no PodMonitor of it scrapes. */
export function unscrapedProblems(objects: readonly Obj[]): string[] {
  const monitors = objects.filter(o => o.kind === 'PodMonitor');
  const servers = installPods(objects).filter(p => !/^(Job|CronJob)\//.test(p.ref));
  return servers
    .filter(p => !monitors.some(pm => selectedBy(pm, [p]).length > 0))
    .map(p => `${p.ref}: no PodMonitor of the install scrapes its pods`);
}

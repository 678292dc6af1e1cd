// Reading the scenario's state from where each component publishes it: pods and their
// webhook decisions from the API server, allocations from the node agents' HTTPS API (with a
// token the agents accept: the autoscaler's, audience dilu-node-agent), what each runtime
// applies from its own /metrics, the leader from the Lease.
import { request } from 'node:https';
import { request as httpRequest } from 'node:http';
import {
  AppsV1Api,
  CoordinationV1Api,
  CoreV1Api,
  type KubeConfig,
  type V1Pod,
} from '@kubernetes/client-node';

export interface Decision {
  readonly batch: number;
  readonly smRequest: number;
  readonly smLimit: number;
  readonly memoryMiB: number;
  readonly node: string;
  readonly gpuIndex: number;
  readonly reservation: string;
  readonly source: string;
}

export function decisionOf(pod: V1Pod): Decision | undefined {
  const raw = pod.metadata?.annotations?.['dilu.dev/decision'];
  return raw === undefined ? undefined : (JSON.parse(raw) as Decision);
}

export function isReady(pod: V1Pod): boolean {
  return (
    pod.metadata?.deletionTimestamp === undefined &&
    (pod.status?.conditions ?? []).some(c => c.type === 'Ready' && c.status === 'True')
  );
}

export async function functionPods(
  kc: KubeConfig,
  namespace: string,
  selector: string,
): Promise<V1Pod[]> {
  const list = await kc
    .makeApiClient(CoreV1Api)
    .listNamespacedPod({ namespace, labelSelector: selector });
  return list.items.filter(p => p.metadata?.deletionTimestamp === undefined);
}

export async function replicas(
  kc: KubeConfig,
  namespace: string,
  deployment: string,
): Promise<number> {
  const d = await kc
    .makeApiClient(AppsV1Api)
    .readNamespacedDeployment({ name: deployment, namespace });
  return d.spec?.replicas ?? 0;
}

export async function leaseHolder(kc: KubeConfig): Promise<string | undefined> {
  const l = await kc
    .makeApiClient(CoordinationV1Api)
    .readNamespacedLease({ name: 'dilu-autoscaler', namespace: 'dilu-system' });
  return l.spec?.holderIdentity ?? undefined;
}

/** node-agent-api.md `Allocation`. */
export interface Allocation {
  readonly allocationId: string;
  readonly gpuIndex: number;
  readonly smRequest: number;
  readonly smLimit: number;
  readonly quota: number;
  readonly memoryMiB: number;
  readonly generation: number;
  readonly pod: { namespace: string; name: string; container?: string } | null;
}

export function nodeAgentAllocations(
  agentUrl: string,
  auth: { token: string; caPem: string },
): Promise<Allocation[]> {
  return new Promise((resolve, reject) => {
    const r = request(
      `${agentUrl}/v1/allocations`,
      {
        method: 'GET',
        ca: auth.caPem,
        servername: 'dilu-node-agent',
        headers: { authorization: `Bearer ${auth.token}` },
        timeout: 5000,
      },
      res => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => {
          if (res.statusCode !== 200)
            reject(new Error(`GET ${agentUrl}/v1/allocations: ${res.statusCode}: ${body}`));
          else resolve(JSON.parse(body) as Allocation[]);
        });
      },
    );
    r.on('timeout', () => r.destroy(new Error('timeout')));
    r.on('error', reject);
    r.end();
  });
}

/** Unlabelled gauge values of a Prometheus text exposition, by metric name. */
export function gauges(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*) ([-+0-9.eE]+|NaN)$/.exec(line);
    if (m !== null) out.set(m[1]!, Number(m[2]));
  }
  return out;
}

/** GET http://<ip>:<port>/metrics of a function instance (the runtime's own metrics). */
export function runtimeMetrics(ip: string, port = 8080): Promise<Map<string, number>> {
  return new Promise((resolve, reject) => {
    const r = httpRequest(
      { host: ip, port, path: '/metrics', method: 'GET', timeout: 3000 },
      res => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => resolve(gauges(body)));
      },
    );
    r.on('timeout', () => r.destroy(new Error('timeout')));
    r.on('error', reject);
    r.end();
  });
}

/** GET a URL's body as text (a metrics endpoint). */
export function scrapeText(url: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const r = httpRequest(url, { method: 'GET', timeout: 3000 }, res => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve(body));
    });
    r.on('timeout', () => r.destroy(new Error('timeout')));
    r.on('error', reject);
    r.end();
  });
}

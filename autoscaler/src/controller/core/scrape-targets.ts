import type { V1Node, V1Pod } from '@kubernetes/client-node';

/**
 * Where the controller reaches a pod's queue-proxy statistics and a node's agent. Production
 * uses the addresses the cluster reports (pod IP, node InternalIP) and fixed ports; the ports
 * are configuration. Tests run the same code path: the test bed gives its fake nodes pod
 * CIDRs and InternalIPs inside 127.0.0.0/8, so "the pod's IP" is a loopback address an
 * emulated queue-proxy listens on (docs/autoscaler.md, decision 0254).
 */
export interface ScrapeTargets {
  queueProxyStatsUrl(pod: V1Pod): string | undefined;
  /** The runtime's Prometheus metrics (runtime-metrics.md), for its latency histogram. */
  runtimeMetricsUrl(pod: V1Pod): string | undefined;
  nodeAgentUrl(node: V1Node | undefined): string | undefined;
}

export function createScrapeTargets(opts: {
  readonly queueProxyStatsPort: number;
  readonly runtimeMetricsPort: number;
  readonly nodeAgentPort: number;
  readonly nodeAgentScheme?: 'https' | 'http';
}): ScrapeTargets {
  const host = (ip: string): string => (ip.includes(':') ? `[${ip}]` : ip);
  return {
    queueProxyStatsUrl(pod) {
      const ip = pod.status?.podIP;
      return ip ? `http://${host(ip)}:${opts.queueProxyStatsPort}/metrics` : undefined;
    },
    runtimeMetricsUrl(pod) {
      const ip = pod.status?.podIP;
      return ip ? `http://${host(ip)}:${opts.runtimeMetricsPort}/metrics` : undefined;
    },
    nodeAgentUrl(node) {
      const ip = node?.status?.addresses?.find(a => a.type === 'InternalIP')?.address;
      return ip
        ? `${opts.nodeAgentScheme ?? 'https'}://${host(ip)}:${opts.nodeAgentPort}`
        : undefined;
    },
  };
}

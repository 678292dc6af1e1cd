// What the emulated kubelet runs for a container: a local process (or an in-process server)
// standing in for the image, with the pod's IP, the container's resolved environment and the
// device plugin's Allocate answer applied. There are no mount namespaces, so a path in the
// environment that falls under a mount of the Allocate answer is rewritten to its host path
// (e.g. DILU_QUOTA_FILE=/var/run/dilu/quota.json becomes <stateDir>/allocations/<id>/quota.json).
import type { V1Container, V1Pod } from '@kubernetes/client-node';
import { startProcess, type ExitStatus } from '../../testbed/processes.js';

export interface ContainerLaunch {
  readonly pod: V1Pod;
  readonly container: V1Container;
  readonly podIp: string;
  readonly nodeName: string;
  /** The container's environment as the kubelet would give it. */
  readonly env: Readonly<Record<string, string>>;
  /** Where this container's output goes. */
  readonly logFile: string;
}

export interface RunningContainer {
  readonly exited: Promise<ExitStatus>;
  /** SIGTERM (or the in-process equivalent), then SIGKILL after graceMs. */
  stop(graceMs: number): Promise<void>;
}

/** Maps an image to what runs it here; undefined means the image cannot run on this node. */
export type ContainerRuntime = (launch: ContainerLaunch) => Promise<RunningContainer> | undefined;

/** A container that is a local process. */
export function processContainer(
  launch: ContainerLaunch,
  command: string,
  args: readonly string[],
  opts: { cwd?: string; extraEnv?: Record<string, string> } = {},
): RunningContainer {
  const p = startProcess({
    name: `${launch.pod.metadata?.name ?? 'pod'}/${launch.container.name}`,
    command,
    args,
    logFile: launch.logFile,
    env: {
      PATH: process.env['PATH'] ?? '',
      HOME: process.env['HOME'] ?? '/tmp',
      ...launch.env,
      ...opts.extraEnv,
    },
    ...(opts.cwd === undefined ? {} : { cwd: opts.cwd }),
  });
  return {
    exited: p.exited,
    async stop(graceMs) {
      await p.stop(graceMs);
    },
  };
}

/** Downward-API fields the emulation serves (the pod's own IP stands for the host's too). */
function fieldValue(pod: V1Pod, path: string, podIp: string, nodeName: string): string {
  const fields: Record<string, string | undefined> = {
    'metadata.name': pod.metadata?.name,
    'metadata.namespace': pod.metadata?.namespace,
    'metadata.uid': pod.metadata?.uid,
    'spec.nodeName': nodeName,
    'spec.serviceAccountName': pod.spec?.serviceAccountName,
    'status.podIP': podIp,
    'status.hostIP': podIp,
  };
  return fields[path] ?? '';
}

/**
 * The container's own environment (values and downward-API field references; other sources
 * are not emulated) followed by the device plugin's, with paths under its mounts rewritten.
 */
export function containerEnv(opts: {
  pod: V1Pod;
  container: V1Container;
  podIp: string;
  nodeName: string;
  allocated: Readonly<Record<string, string>>;
  mounts: readonly { containerPath: string; hostPath: string }[];
}): Record<string, string> {
  const env: Record<string, string> = {};
  for (const e of opts.container.env ?? []) {
    const ref = e.valueFrom?.fieldRef?.fieldPath;
    if (e.value !== undefined) env[e.name] = e.value;
    else if (ref !== undefined) env[e.name] = fieldValue(opts.pod, ref, opts.podIp, opts.nodeName);
  }
  Object.assign(env, opts.allocated);
  // Longest mount first, so a nested mount wins over its parent.
  const mounts = [...opts.mounts].sort((a, b) => b.containerPath.length - a.containerPath.length);
  for (const [k, v] of Object.entries(env)) {
    const m = mounts.find(x => v === x.containerPath || v.startsWith(`${x.containerPath}/`));
    if (m !== undefined) env[k] = m.hostPath + v.slice(m.containerPath.length);
  }
  return env;
}

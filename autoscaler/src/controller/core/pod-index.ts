import type { V1Pod } from '@kubernetes/client-node';

/**
 * Pods grouped by `<namespace>/<value of one label>` (the Knative revision or the OpenFaaS
 * function), maintained from informer events so a tick never scans every pod.
 */
export interface PodIndex {
  apply(event: 'add' | 'update' | 'delete', pod: V1Pod): string | undefined;
  pods(namespace: string, value: string): readonly V1Pod[];
  /** Count of indexed pods. */
  size(): number;
}

export function createPodIndex(label: string): PodIndex {
  const groups = new Map<string, Map<string, V1Pod>>();
  const frozen = new Map<string, readonly V1Pod[]>();
  let count = 0;
  const keyOf = (pod: V1Pod): string | undefined => {
    const v = pod.metadata?.labels?.[label];
    return v === undefined ? undefined : `${pod.metadata?.namespace ?? ''}/${v}`;
  };
  return {
    apply(event, pod) {
      const key = keyOf(pod);
      const name = pod.metadata?.name;
      if (key === undefined || name === undefined) return undefined;
      let g = groups.get(key);
      frozen.delete(key);
      if (event === 'delete') {
        if (g?.delete(name) === true) count--;
        if (g?.size === 0) groups.delete(key);
        return key;
      }
      if (g === undefined) {
        g = new Map();
        groups.set(key, g);
      }
      if (!g.has(name)) count++;
      g.set(name, pod);
      return key;
    },
    pods(namespace, value) {
      const key = `${namespace}/${value}`;
      let list = frozen.get(key);
      if (list === undefined) {
        list = [...(groups.get(key)?.values() ?? [])];
        frozen.set(key, list);
      }
      return list;
    },
    size: () => count,
  };
}

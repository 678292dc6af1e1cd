// The k8s.io/kubernetes module cannot be built with `go install pkg@version`: its go.mod
// requires every staging module (k8s.io/api, k8s.io/client-go, ...) at the placeholder version
// v0.0.0, which only resolves inside the Kubernetes repository. A wrapper module that requires
// k8s.io/kubernetes and replaces each placeholder with the published v0.<minor>.<patch> of that
// module builds the real commands. The replace list is derived from the release's own go.mod so
// that a version bump needs no hand edits.

/** Module paths required at v0.0.0 in a k8s.io/kubernetes go.mod. */
export function placeholderRequirements(goMod: string): string[] {
  const found = new Set<string>();
  for (const raw of goMod.split('\n')) {
    // Inside a require block a line is "path version [// comment]"; a one-line require
    // starts with the keyword.
    const line = raw.replace(/\/\/.*$/, '').trim();
    const m = /^(?:require\s+)?(\S+)\s+v0\.0\.0$/.exec(line);
    if (m?.[1] !== undefined) found.add(m[1]);
  }
  return [...found].sort();
}

/** v1.34.10 -> v0.34.10: the tag the staging modules are published under. */
export function stagingVersion(kubernetesVersion: string): string {
  const m = /^v1\.(\d+)\.(\d+)$/.exec(kubernetesVersion);
  if (m === null) {
    throw new Error(
      `kubernetes version "${kubernetesVersion}": expected a release tag such as v1.34.10`,
    );
  }
  return `v0.${m[1] ?? ''}.${m[2] ?? ''}`;
}

/** The go.mod of the wrapper module, before `go get` fills in the rest. */
export function wrapperGoMod(kubernetesVersion: string, kubernetesGoMod: string): string {
  const staging = stagingVersion(kubernetesVersion);
  const modules = placeholderRequirements(kubernetesGoMod);
  if (modules.length === 0) {
    throw new Error(
      `k8s.io/kubernetes ${kubernetesVersion}: its go.mod requires no module at v0.0.0; ` +
        'the wrapper recipe does not apply to this release',
    );
  }
  const goLine = /^go\s+(\S+)$/m.exec(kubernetesGoMod)?.[1] ?? '1.24';
  return [
    'module dilu.dev/testbed/kubernetes',
    '',
    `go ${goLine}`,
    '',
    `require k8s.io/kubernetes ${kubernetesVersion}`,
    '',
    'replace (',
    ...modules.map(m => `\t${m} => ${m} ${staging}`),
    ')',
    '',
  ].join('\n');
}

export interface ReleaseInfo {
  readonly version: string;
  /** Commit of the release tag (from the module proxy's .info Origin). */
  readonly commit?: string;
  /** Tag time (ISO 8601), used as the build date so rebuilds are reproducible. */
  readonly time?: string;
}

/**
 * -X flags that give the binaries their real version. Without them `--version` reports
 * v0.0.0-master, and clients that pick behaviour by server version misjudge it. Kubernetes'
 * own build sets the same variables in both packages (hack/lib/version.sh).
 */
export function kubernetesLdflags(release: ReleaseInfo): string[] {
  const m = /^v(\d+)\.(\d+)\.\d+$/.exec(release.version);
  if (m === null) throw new Error(`kubernetes version "${release.version}": not a release tag`);
  const values: [string, string][] = [
    ['gitVersion', release.version],
    ['gitMajor', m[1] ?? ''],
    ['gitMinor', m[2] ?? ''],
    ['gitTreeState', 'clean'],
  ];
  if (release.commit !== undefined) values.push(['gitCommit', release.commit]);
  if (release.time !== undefined) {
    values.push(['buildDate', release.time.replace(/\.\d+Z$/, 'Z')]);
  }
  const flags: string[] = [];
  for (const pkg of ['k8s.io/component-base/version', 'k8s.io/client-go/pkg/version']) {
    for (const [name, value] of values) flags.push(`-X ${pkg}.${name}=${value}`);
  }
  return flags;
}

import { describe, expect, it } from '@jest/globals';
import {
  kubernetesLdflags,
  placeholderRequirements,
  stagingVersion,
  wrapperGoMod,
} from './kubernetes-module.js';

// Shaped like k8s.io/kubernetes' go.mod: staging modules at v0.0.0 inside a require block,
// other modules (including pseudo-versions that start with v0.0.0-) left alone.
const goMod = `module k8s.io/kubernetes

go 1.24.0

godebug default=go1.24

require (
	github.com/armon/circbuf v0.0.0-20190214190532-5111143e8da2
	k8s.io/api v0.0.0
	k8s.io/client-go v0.0.0 // indirect
	k8s.io/utils v0.0.0-20250604170112-4c0f3b243397
)

require k8s.io/kube-scheduler v0.0.0
`;

describe('placeholderRequirements', () => {
  it('finds every module required at v0.0.0 and nothing at a pseudo-version', () => {
    expect(placeholderRequirements(goMod)).toEqual([
      'k8s.io/api',
      'k8s.io/client-go',
      'k8s.io/kube-scheduler',
    ]);
  });
});

describe('stagingVersion', () => {
  it('maps a Kubernetes release to its staging modules tag', () => {
    expect(stagingVersion('v1.34.10')).toBe('v0.34.10');
  });
  it('names the field and the expected form for anything else', () => {
    expect(() => stagingVersion('1.34')).toThrow(/kubernetes version "1.34".*v1\.34\.10/);
  });
});

describe('wrapperGoMod', () => {
  it('requires the release and replaces each placeholder with the published module', () => {
    const mod = wrapperGoMod('v1.34.10', goMod);
    expect(mod).toContain('require k8s.io/kubernetes v1.34.10');
    expect(mod).toContain('go 1.24.0');
    expect(mod).toContain('\tk8s.io/api => k8s.io/api v0.34.10\n');
    expect(mod).toContain('\tk8s.io/kube-scheduler => k8s.io/kube-scheduler v0.34.10\n');
    expect(mod).not.toContain('k8s.io/utils =>');
    expect(mod).not.toContain('circbuf');
  });
  it('refuses a go.mod the recipe does not fit', () => {
    expect(() => wrapperGoMod('v1.34.10', 'module x\n\ngo 1.24\n')).toThrow(
      /no module at v0\.0\.0/,
    );
  });
});

describe('kubernetesLdflags', () => {
  it('sets the version variables in both packages Kubernetes itself sets', () => {
    const flags = kubernetesLdflags({
      version: 'v1.34.10',
      commit: 'abc123',
      time: '2026-07-15T10:11:12.5Z',
    });
    for (const pkg of ['k8s.io/component-base/version', 'k8s.io/client-go/pkg/version']) {
      expect(flags).toContain(`-X ${pkg}.gitVersion=v1.34.10`);
      expect(flags).toContain(`-X ${pkg}.gitMajor=1`);
      expect(flags).toContain(`-X ${pkg}.gitMinor=34`);
      expect(flags).toContain(`-X ${pkg}.gitCommit=abc123`);
      expect(flags).toContain(`-X ${pkg}.buildDate=2026-07-15T10:11:12Z`);
    }
  });
});

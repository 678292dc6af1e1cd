import { describe, expect, it } from '@jest/globals';
import { goVersionAtLeast, parseGoVersion, requireGo } from './go-toolchain.js';

describe('Go version checks', () => {
  it('parses go env GOVERSION output and bare versions', () => {
    expect(parseGoVersion('go1.26.8')).toEqual([1, 26, 8]);
    expect(parseGoVersion('1.26')).toEqual([1, 26, 0]);
    expect(parseGoVersion('devel')).toBeUndefined();
  });

  it('compares numerically, not as text', () => {
    expect(goVersionAtLeast('go1.26.10', '1.26.5')).toBe(true);
    expect(goVersionAtLeast('go1.26.5', '1.26.5')).toBe(true);
    expect(goVersionAtLeast('go1.26.4', '1.26.5')).toBe(false);
    expect(goVersionAtLeast('go1.9.0', '1.26.5')).toBe(false);
    expect(goVersionAtLeast('go2.0.0', '1.26.5')).toBe(true);
  });

  it('says how to get Go when there is none on PATH', () => {
    expect(() => requireGo('1.26.5', { PATH: '/nonexistent' })).toThrow(
      /Go is not installed.*Go >= 1\.26\.5/,
    );
  });
});

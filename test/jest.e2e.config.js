import preset from '../jest.preset.js';

/**
 * The end-to-end and fault suites (test/e2e): the whole install on its own control plane, one
 * suite at a time (they start many processes and share the machine's loopback addresses).
 * @type {import('jest').Config}
 */
export default {
  ...preset,
  rootDir: import.meta.dirname,
  roots: ['<rootDir>/e2e'],
  globalSetup: '<rootDir>/testbed/jest-global-setup.mjs',
  globalTeardown: '<rootDir>/testbed/jest-global-teardown.mjs',
  maxWorkers: 1,
  testTimeout: 300_000,
};

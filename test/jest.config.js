import preset from '../jest.preset.js';

/** @type {import('jest').Config} */
export default {
  ...preset,
  rootDir: import.meta.dirname,
  roots: ['<rootDir>/testbed', '<rootDir>/controlplane', '<rootDir>/manifests'],
  // One control plane for the whole run (see testbed/global-setup.ts).
  globalSetup: '<rootDir>/testbed/jest-global-setup.mjs',
  globalTeardown: '<rootDir>/testbed/jest-global-teardown.mjs',
  // Calls go to a real API server, scheduler and controllers on a small shared machine.
  testTimeout: 60_000,
};

// Counterpart of jest-global-setup.mjs: runs the compiled global-teardown.ts.
export default async function jestGlobalTeardown() {
  const { default: globalTeardown } = await import('../dist/testbed/global-teardown.js');
  await globalTeardown();
}

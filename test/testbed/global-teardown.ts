// Stops the control plane started by global-setup.ts (every process by its PID) and
// removes its run folder.
export default async function globalTeardown(): Promise<void> {
  const controlPlane = globalThis.__diluControlPlane;
  globalThis.__diluControlPlane = undefined;
  await controlPlane?.stop();
}

import type { Operation } from 'fast-json-patch';
import jsonPatch from 'fast-json-patch';
import type { Pod } from '../pod/pod-types.js';

/** The only parts of a pod the webhook may change, as JSON pointers and accessors. */
function sections(gpu: number): { pointer: string; get: (p: Pod) => unknown }[] {
  return [
    { pointer: '/metadata', get: p => p.metadata },
    { pointer: `/spec/containers/${gpu}`, get: p => p.spec?.containers[gpu] },
    { pointer: '/spec/affinity', get: p => p.spec?.affinity },
  ];
}

/**
 * The RFC 6902 patch from `original` to `mutated` (made by `mutatePod`), built and checked
 * before it leaves:
 * - every part of the pod outside metadata, the GPU container and the affinity must be the
 *   identical object in both (mutatePod copies on write), so no other container can change;
 * - each section's patch, applied to a copy of the original section, must give exactly the
 *   mutated section.
 * Diffing only the three sections keeps this to a fraction of a millisecond. A failed check is
 * a bug here, and the admission is refused rather than sending a pod somewhere wrong.
 */
export function buildVerifiedPatch(
  original: Pod,
  mutated: Pod,
  gpuContainerIndex: number,
): Operation[] {
  assertUntouchedOutside(original, mutated, gpuContainerIndex);
  const patch: Operation[] = [];
  for (const { pointer, get } of sections(gpuContainerIndex)) {
    const before = get(original);
    const after = get(mutated);
    if (after === undefined) {
      if (before !== undefined) throw new Error(`mutation removed ${pointer}`);
      continue;
    }
    if (before === undefined) {
      patch.push({ op: 'add', path: pointer, value: after });
      continue;
    }
    const ops = jsonPatch.compare(before as object, after as object);
    // A JSON round trip is the copy the API server will patch (and cheaper than
    // structuredClone); no op validation, since the comparison below checks the outcome.
    const copy = JSON.parse(JSON.stringify(before)) as object;
    const applied = jsonPatch.applyPatch(copy, ops, false, true).newDocument;
    if (jsonPatch.compare(applied, after as object).length > 0) {
      throw new Error(`patch of ${pointer} does not reproduce the mutated pod`);
    }
    for (const op of ops) patch.push({ ...op, path: `${pointer}${op.path}` });
  }
  return patch;
}

function assertUntouchedOutside(original: Pod, mutated: Pod, gpu: number): void {
  for (const key of new Set([...Object.keys(original), ...Object.keys(mutated)])) {
    if (key !== 'metadata' && key !== 'spec' && original[key] !== mutated[key]) {
      throw new Error(`mutation changed ${key}`);
    }
  }
  const before = original.spec;
  const after = mutated.spec;
  if (!before || !after) throw new Error('pod has no spec');
  for (const key of new Set([...Object.keys(before), ...Object.keys(after)])) {
    if (key !== 'containers' && key !== 'affinity' && before[key] !== after[key]) {
      throw new Error(`mutation changed spec.${key}`);
    }
  }
  if (before.containers.length !== after.containers.length) {
    throw new Error('mutation changed the number of containers');
  }
  before.containers.forEach((c, i) => {
    if (i !== gpu && c !== after.containers[i]) {
      throw new Error(`mutation changed container "${c.name}", which is not the GPU container`);
    }
  });
}

import type { Operation } from 'fast-json-patch';
import jsonPatch from 'fast-json-patch';
import type { Pod } from '../pod/pod-types.js';

/**
 * The RFC 6902 patch that turns `original` into `mutated`, checked before it leaves: applied to
 * a copy of the original it must give exactly `mutated`, and it may touch no container but the
 * GPU container. A failed check is a bug here, and the admission is refused rather than
 * sending a pod somewhere wrong.
 */
export function buildVerifiedPatch(
  original: Pod,
  mutated: Pod,
  gpuContainerIndex: number,
): Operation[] {
  const patch = jsonPatch.compare(original, mutated);
  // validate() returns undefined when the patch applies (its typings say otherwise).
  const problem: unknown = jsonPatch.validate(patch, structuredClone(original));
  if (problem instanceof Error)
    throw new Error(`generated patch is invalid: ${problem.name}: ${problem.message}`);
  const applied = jsonPatch.applyPatch(structuredClone(original), patch, false, false).newDocument;
  // compare() rather than a deep-equal on prototypes: a diff of nothing is the JSON-level
  // equality the API server will see.
  if (jsonPatch.compare(applied, mutated).length > 0) {
    throw new Error('generated patch does not reproduce the mutated pod');
  }
  const before = original.spec?.containers ?? [];
  const after = applied.spec?.containers ?? [];
  if (before.length !== after.length) throw new Error('patch changed the number of containers');
  before.forEach((c, i) => {
    if (i !== gpuContainerIndex && JSON.stringify(c) !== JSON.stringify(after[i])) {
      throw new Error(`patch would change container "${c.name}", which is not the GPU container`);
    }
  });
  if (
    JSON.stringify(original.spec?.initContainers) !== JSON.stringify(applied.spec?.initContainers)
  ) {
    throw new Error('patch would change init containers');
  }
  return patch;
}

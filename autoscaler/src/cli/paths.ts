import { fileURLToPath } from 'node:url';

/** Profiles shipped with the package (Dilu's published A100 measurements). */
export const BUNDLED_PROFILES_DIR = fileURLToPath(
  new URL('../../data/profiles/dilu-a100/', import.meta.url),
);

/** The scenario `dilu simulate` and `npm start` run when given none. */
export const BUNDLED_DEFAULT_SCENARIO = fileURLToPath(
  new URL('../../data/scenarios/default.yaml', import.meta.url),
);

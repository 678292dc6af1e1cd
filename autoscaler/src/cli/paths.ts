import { fileURLToPath } from 'node:url';

/** Profiles shipped with the package (Dilu's published A100 measurements). */
export const BUNDLED_PROFILES_DIR = fileURLToPath(
  new URL('../../data/profiles/dilu-a100/', import.meta.url),
);

/**
 * Extended resources are integer counts, but the API server serialises quantities in canonical
 * form: 1000 arrives as "1k", 1048576 as "1Mi". This reads such a quantity as a whole number
 * and refuses fractions ("1.5", "500m") with the reason, since a device count cannot be one.
 */
const QUANTITY = /^(\d+)(?:(k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)|e(\d+))?$/;

const SUFFIX: Readonly<Record<string, number>> = {
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
};

export type IntegerQuantity =
  { readonly ok: true; readonly value: number } | { readonly ok: false; readonly reason: string };

export function parseIntegerQuantity(raw: unknown): IntegerQuantity {
  if (typeof raw === 'number') {
    return Number.isSafeInteger(raw) && raw >= 0
      ? { ok: true, value: raw }
      : { ok: false, reason: `must be a whole number, got ${raw}` };
  }
  if (typeof raw !== 'string') return { ok: false, reason: 'must be a quantity string' };
  const m = QUANTITY.exec(raw.trim());
  if (!m) return { ok: false, reason: `must be a whole number, got "${raw}"` };
  const base = Number(m[1]);
  const factor =
    m[2] !== undefined ? (SUFFIX[m[2]] ?? 1) : m[3] !== undefined ? 10 ** Number(m[3]) : 1;
  const value = base * factor;
  if (!Number.isSafeInteger(value)) return { ok: false, reason: `is too large: "${raw}"` };
  return { ok: true, value };
}

import { InvalidArgumentError } from 'commander';

/** Commander parser for a number within [min, max]; the message names what is allowed. */
export function numberIn(min: number, max: number, integer = false) {
  return (raw: string): number => {
    const v = Number(raw);
    if (
      raw.trim() === '' ||
      !Number.isFinite(v) ||
      v < min ||
      v > max ||
      (integer && !Number.isInteger(v))
    ) {
      throw new InvalidArgumentError(
        `expected ${integer ? 'an integer' : 'a number'} in ${min}..${max}, got '${raw}'`,
      );
    }
    return v;
  };
}

export function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

/** Commander parser for one of a fixed set of words. */
export function oneOf<T extends string>(allowed: readonly T[]) {
  return (raw: string): T => {
    if (!(allowed as readonly string[]).includes(raw)) {
      throw new InvalidArgumentError(`expected one of ${allowed.join(', ')}, got '${raw}'`);
    }
    return raw as T;
  };
}

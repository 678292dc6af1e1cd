/**
 * Bad input to the placement module: a request, a node or an option that breaks a rule.
 * `field` names the offending field (dotted path for nested input, e.g. `gpus[1].memoryMiB`)
 * so an HTTP layer can answer 400 with it and a caller can fix one thing at a time.
 *
 * "No GPU fits" is not an error: placers return it as a normal result.
 */
export class PlacementError extends Error {
  readonly field: string;
  readonly rule: string;

  constructor(field: string, rule: string, options?: ErrorOptions) {
    super(`${field}: ${rule}`, options);
    this.name = 'PlacementError';
    this.field = field;
    this.rule = rule;
  }
}

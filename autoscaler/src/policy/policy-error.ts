import type { z } from 'zod';

/**
 * Input the policy cannot act on. Names the field (a dotted path such as
 * `instances[2].quota`) and the rule it broke, so the caller can log it and skip this
 * function without losing the others.
 */
export class PolicyInputError extends Error {
  readonly field: string;
  readonly rule: string;

  constructor(field: string, rule: string, options?: ErrorOptions) {
    super(`${field}: ${rule}`, options);
    this.name = 'PolicyInputError';
    this.field = field;
    this.rule = rule;
  }
}

/** Turns the first zod issue into a PolicyInputError whose field starts at `root`. */
export function fromZodError(root: string, error: z.ZodError): PolicyInputError {
  const issue = error.issues[0];
  if (issue === undefined) return new PolicyInputError(root, 'invalid', { cause: error });
  const path = issue.path.reduce<string>(
    (acc, part) => (typeof part === 'number' ? `${acc}[${part}]` : `${acc}.${String(part)}`),
    root,
  );
  return new PolicyInputError(path, issue.message, { cause: error });
}

/**
 * A profile that cannot be used. Carries the file, the line (when one applies) and the
 * rule that was broken, so the message points a user straight at the fix.
 */
export class ProfileError extends Error {
  readonly file: string;
  readonly line: number | undefined;
  readonly rule: string;

  constructor(file: string, line: number | undefined, rule: string, options?: ErrorOptions) {
    super(`${file}${line === undefined ? '' : `:${line}`}: ${rule}`, options);
    this.name = 'ProfileError';
    this.file = file;
    this.line = line;
    this.rule = rule;
  }
}

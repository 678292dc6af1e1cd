/**
 * Input the simulator cannot use. Like the profile loader's errors, each names the file, the
 * line (when one applies) and the rule that was broken, so the message points at the fix.
 */
abstract class FileRuleError extends Error {
  readonly file: string;
  readonly line: number | undefined;
  readonly rule: string;

  constructor(file: string, line: number | undefined, rule: string, options?: ErrorOptions) {
    super(`${file}${line === undefined ? '' : `:${line}`}: ${rule}`, options);
    this.file = file;
    this.line = line;
    this.rule = rule;
  }
}

/** A scenario file that does not follow the schema or names files that cannot be used. */
export class ScenarioError extends FileRuleError {
  constructor(file: string, line: number | undefined, rule: string, options?: ErrorOptions) {
    super(file, line, rule, options);
    this.name = 'ScenarioError';
  }
}

/** A trace file that cannot be read as the format the scenario says it is. */
export class TraceError extends FileRuleError {
  constructor(file: string, line: number | undefined, rule: string, options?: ErrorOptions) {
    super(file, line, rule, options);
    this.name = 'TraceError';
  }
}

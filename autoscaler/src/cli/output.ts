/** Where commands write; injected so tests can capture output without spawning processes. */
export interface CliOutput {
  out(text: string): void;
  err(text: string): void;
}

export const processOutput: CliOutput = {
  out: text => process.stdout.write(text.endsWith('\n') ? text : `${text}\n`),
  err: text => process.stderr.write(text.endsWith('\n') ? text : `${text}\n`),
};

export function printJson(output: CliOutput, value: unknown): void {
  output.out(JSON.stringify(value, null, 2));
}

import yaml from 'js-yaml';

/** A parsed YAML document plus the 1-based line where each mapping or sequence began. */
export interface YamlWithLines {
  readonly doc: unknown;
  readonly lineOf: (node: unknown) => number | undefined;
}

/**
 * Loads YAML with js-yaml and remembers where every object and array started, so schema
 * errors found later can still name a line. js-yaml reports an 'open' event when it starts
 * composing a node and a 'close' event with the built value; pairing them gives the line.
 */
export function loadYamlWithLines(text: string, filename: string): YamlWithLines {
  const lines = new WeakMap<object, number>();
  const stack: number[] = [];
  const doc = yaml.load(text, {
    filename,
    listener(this: unknown, event: 'open' | 'close', state: { line: number; result: unknown }) {
      if (event === 'open') {
        stack.push(state.line + 1);
        return;
      }
      const line = stack.pop();
      const result = state.result;
      if (
        line !== undefined &&
        typeof result === 'object' &&
        result !== null &&
        !lines.has(result)
      ) {
        lines.set(result, line);
      }
    },
  });
  return {
    doc,
    lineOf: node => (typeof node === 'object' && node !== null ? lines.get(node) : undefined),
  };
}

/** The deepest object or array along `path` inside `root` that has a known line. */
export function lineAtPath(
  root: unknown,
  path: readonly PropertyKey[],
  lineOf: (node: unknown) => number | undefined,
): number | undefined {
  let node: unknown = root;
  let best = lineOf(node);
  for (const key of path) {
    if (typeof node !== 'object' || node === null) break;
    node = (node as Record<PropertyKey, unknown>)[key];
    best = lineOf(node) ?? best;
  }
  return best;
}

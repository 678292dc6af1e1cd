import { describe, expect, it } from '@jest/globals';
import { lineAtPath, loadYamlWithLines } from './yaml-with-lines.js';

const text = `kind: Thing
spec:
  items:
    - name: a
      size: 1
    - {name: b, size: 2}
    -
      name: c
`;

describe('loadYamlWithLines', () => {
  it('knows the line where every mapping and sequence item begins', () => {
    const { doc, lineOf } = loadYamlWithLines(text, 't.yaml');
    const items = (doc as { spec: { items: object[] } }).spec.items;
    expect(items.map(lineOf)).toEqual([4, 6, 8]);
  });

  it('has no line for scalars or for values it did not build', () => {
    const { lineOf } = loadYamlWithLines(text, 't.yaml');
    expect(lineOf('a')).toBeUndefined();
    expect(lineOf({})).toBeUndefined();
  });

  it('throws js-yaml errors with their position for malformed input', () => {
    expect(() => loadYamlWithLines('a: [1, 2\n', 'bad.yaml')).toThrow(/bad\.yaml/);
  });
});

describe('lineAtPath', () => {
  const { doc, lineOf } = loadYamlWithLines(text, 't.yaml');

  it('gives the deepest node along the path that has a line', () => {
    expect(lineAtPath(doc, ['spec', 'items', 1, 'size'], lineOf)).toBe(6);
    expect(lineAtPath(doc, ['spec', 'items', 2], lineOf)).toBe(8);
  });

  it('stops at the last existing node when the path runs past the document', () => {
    expect(lineAtPath(doc, ['spec', 'items', 9, 'name'], lineOf)).toBe(
      lineOf((doc as { spec: { items: unknown } }).spec.items),
    );
    expect(lineAtPath(undefined, ['x'], lineOf)).toBeUndefined();
  });
});

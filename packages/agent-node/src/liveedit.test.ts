import { describe, expect, it } from 'vitest';
import type { InspectorSession } from './inspector.js';
import { ScriptEdits } from './liveedit.js';
import { applyInsertions, insertionOrder, type Insertion } from './patch.js';

const source = 'const a = 1;\nfunction f(x) { return x + a; }\nf(2);\n';

function editsWith(applied: Map<number, Insertion[]>) {
  const inspector = { post: () => ({ scriptSource: source }) } as unknown as InspectorSession;
  const events = { edited() {}, refused() {}, restoreLater() {}, committed() {}, spent() {} };
  const edits = new ScriptEdits(inspector, () => {}, 2000, events);
  const state = edits.stateOf({ scriptId: '7', url: 'file:///a.js', path: '/a.js', isModule: false, sourceMapURL: '' });
  state.applied = applied;
  return edits;
}

describe('ScriptEdits.originalColumn', () => {
  const line = 1;
  const lineStart = source.indexOf('function');
  const lineEnd = source.indexOf('\n', lineStart);
  const at = (text: string) => lineStart + source.slice(lineStart).indexOf(text);
  // Two actions on the line: insertions at two places, one of them holding two (the order V8 has them in is the
  // insertion order, not the order of the map).
  const applied = new Map<number, Insertion[]>([
    [2, [{ offset: at('return'), text: '__h.b(2);', seq: 3 }]],
    [
      0,
      [
        { offset: at('x + a'), text: '(__h.a(0),', seq: 1 },
        { offset: at('; }'), text: ')', closing: true, seq: 2 },
      ],
    ],
    [1, [{ offset: at('return'), text: '__h.c(1);', seq: 0 }]],
  ]);
  const patched = applyInsertions(source, [...applied.values()].flat());
  const patchedLine = patched.split('\n')[line]!;

  it('maps every column of the patched line back to the original, and a column inside an insertion to its place', () => {
    const edits = editsWith(applied);
    // The expected map, built apart: each inserted character stands for the place it was inserted before.
    const sorted = [...applied.values()].flat().sort(insertionOrder);
    let line1 = '';
    const expected: number[] = [];
    for (let o = lineStart; o < lineEnd; o++) {
      for (const ins of sorted.filter((i) => i.offset === o))
        for (const ch of ins.text) {
          line1 += ch;
          expected.push(o - lineStart);
        }
      line1 += source[o];
      expected.push(o - lineStart);
    }
    expect(line1).toBe(patchedLine);
    expect(patchedLine.indexOf('__h.c(1);__h.b(2);')).toBeGreaterThan(0);
    for (let p = 0; p < patchedLine.length; p++) expect(edits.originalColumn('7', line, p)).toBe(expected[p]);
  });

  it('leaves columns alone on lines without insertions and in scripts without a patch', () => {
    const edits = editsWith(applied);
    expect(edits.originalColumn('7', 0, 6)).toBe(6);
    expect(edits.originalColumn('7', 2, 3)).toBe(3);
    expect(edits.originalColumn('8', line, 20)).toBe(20);
    expect(editsWith(new Map()).originalColumn('7', line, 20)).toBe(20);
  });
});

import { parseResources, type DefinitionProblem, type TestSpec } from '@spyglass/trace-tests';
import { stringify } from 'yaml';

/** The file name problems in the console's editor are reported against. */
export const EDITOR_FILE = 'test.yaml';

/**
 * Values the parser fills in when they are left out (`false`, empty lists): dropped from the YAML so that the editor
 * shows what a person would write (the stored test comes back normalised, with every default spelled out).
 */
function prune(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(prune);
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    if (v === undefined || v === false || (Array.isArray(v) && v.length === 0)) continue;
    out[k] = prune(v);
  }
  return out;
}

/** A stored test as Tracetest's YAML (`type: Test` + `spec:`), defaults left out; it parses back to the same test. */
export function testYaml(spec: TestSpec): string {
  const pruned = prune(spec) as Record<string, unknown>;
  // An output's selector defaults to "" (every span); a spec's selector has no default and stays even when empty.
  if (Array.isArray(pruned.outputs)) {
    pruned.outputs = (pruned.outputs as Record<string, unknown>[]).map(({ name, selector, ...rest }) => ({
      name,
      ...(selector === '' ? {} : { selector }),
      ...rest,
    }));
  }
  // lineWidth 0: long selectors and URLs stay on one line; multi-line bodies become literal blocks.
  return stringify({ type: 'Test', spec: pruned }, { lineWidth: 0 });
}

export interface EditorCheck {
  /** The test the text defines, when it has no problem. */
  spec: TestSpec | null;
  problems: DefinitionProblem[];
}

/**
 * Checks the editor's text as the CLI would (`parseResources`: YAML, schema, selectors, expressions, with line and
 * column), plus what the page needs: exactly one Test, and the id of the test being edited (another id would add a
 * second test rather than change this one).
 */
export function checkTestText(text: string, testId: string): EditorCheck {
  const { resources, problems } = parseResources(text, { file: EDITOR_FILE });
  if (problems.length > 0) return { spec: null, problems };
  const at = (line: number, column: number, path: string, message: string): EditorCheck => ({
    spec: null,
    problems: [{ file: EDITOR_FILE, line, column, path, message }],
  });
  if (resources.length === 0) return at(1, 1, '', 'the definition is empty: write one resource of type Test');
  if (resources.length > 1) {
    const second = resources[1]!;
    return at(second.line, 1, '', 'only one resource is edited here: apply several at once with the CLI');
  }
  const only = resources[0]!;
  if (only.resource.type !== 'Test') {
    const pos = only.positions.type ?? { line: only.line, column: 1 };
    return at(pos.line, pos.column, 'type', `this page edits a Test, not a ${only.resource.type}`);
  }
  const spec = only.resource.spec;
  if (spec.id !== testId) {
    const pos = only.positions['spec.id'] ?? { line: only.line, column: 1 };
    return at(
      pos.line,
      pos.column,
      'spec.id',
      `the id must stay "${testId}" (it is "${spec.id}"; another id would add a second test)`,
    );
  }
  return { spec, problems: [] };
}

/** The 0-based offset in `text` of a 1-based line and column (clamped to the text), to put the cursor there. */
export function offsetOf(text: string, line: number, column: number): number {
  let offset = 0;
  for (let l = 1; l < line; l++) {
    const nl = text.indexOf('\n', offset);
    if (nl < 0) return text.length;
    offset = nl + 1;
  }
  const end = text.indexOf('\n', offset);
  const lineEnd = end < 0 ? text.length : end;
  return Math.min(offset + Math.max(0, column - 1), lineEnd);
}

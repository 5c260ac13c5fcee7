import { parseResources, type TestSpec } from '@spyglass/trace-tests';
import { describe, expect, it } from 'vitest';
import { checkTestText, offsetOf, testYaml } from './test-yaml.js';

/** A test as the hub answers it: normalised, every default present. */
const stored: TestSpec = {
  id: 'add-book',
  name: 'Bookstore - Add',
  description: 'Add a book',
  trigger: {
    type: 'http',
    httpRequest: {
      url: 'http://catalogue:8081/books',
      method: 'POST',
      headers: [{ key: 'Content-Type', value: 'application/json' }],
      body: '{\n  "title": "Dune"\n}',
      sslVerification: false,
    },
  },
  specs: [
    {
      name: 'The API answers 201',
      selector: 'span[tracetest.span.type="http" name="POST /books" http.method="POST"]',
      assertions: ['attr:http.status_code = 201', 'attr:tracetest.span.duration < 500ms'],
    },
    { selector: '', assertions: ['attr:tracetest.selected_spans.count > 0'] },
  ],
  outputs: [
    {
      name: 'BOOK_ID',
      selector: 'span[name = "Tracetest trigger"]',
      value: "attr:tracetest.response.body | json_path '$.id'",
    },
    { name: 'ANY', selector: '', value: 'attr:name' },
  ],
  skipTraceCollection: false,
  probes: [],
};

describe('testYaml', () => {
  it("writes Tracetest's shape without the defaults, and parses back to the same test", () => {
    const text = testYaml(stored);
    expect(text.startsWith('type: Test\nspec:\n  id: add-book\n  name: Bookstore - Add\n')).toBe(true);
    expect(text).not.toContain('sslVerification');
    expect(text).not.toContain('skipTraceCollection');
    expect(text).not.toContain('probes');
    // The multi-line body is a literal block; the empty spec selector stays (it means every span).
    expect(text).toContain('body: |-\n        {\n          "title": "Dune"\n        }\n');
    expect(text).toContain('- selector: ""');
    expect(text).toContain('    - name: ANY\n      value: attr:name\n');
    const { resources, problems } = parseResources(text, { file: 'test.yaml' });
    expect(problems).toEqual([]);
    expect(resources.map((r) => r.resource)).toEqual([{ type: 'Test', spec: stored }]);
  });

  it('keeps a long selector on one line', () => {
    const selector = `span[name="${'x'.repeat(200)}"]`;
    const text = testYaml({ ...stored, specs: [{ selector, assertions: ['attr:a = 1'] }] });
    expect(text).toContain(`- selector: span[name="${'x'.repeat(200)}"]\n`);
  });
});

describe('checkTestText', () => {
  const good = testYaml(stored);

  it('accepts the test of the page', () => {
    const check = checkTestText(good, 'add-book');
    expect(check.problems).toEqual([]);
    expect(check.spec).toEqual(stored);
  });

  it('reports a broken selector at its line and column', () => {
    const text = good.replace('http.method="POST"]', 'http.method="POST"');
    const lines = text.split('\n');
    const line = lines.findIndex((l) => l.includes('http.method="POST"')) + 1;
    const check = checkTestText(text, 'add-book');
    expect(check.spec).toBeNull();
    expect(check.problems).toHaveLength(1);
    expect(check.problems[0]).toMatchObject({ line, path: 'spec.specs[0].selector' });
    expect(check.problems[0]!.message).toMatch(/expected "\]"/);
    // The column is inside that line, at the end of the selector where "]" was expected.
    expect(check.problems[0]!.column).toBe(lines[line - 1]!.length + 1);
  });

  it('reports YAML syntax errors and assertion syntax errors', () => {
    expect(checkTestText('type: Test\nspec: [', 'x').problems[0]).toMatchObject({ line: 2 });
    const text = good.replace('attr:http.status_code = 201', 'attr:http.status_code =');
    const [problem] = checkTestText(text, 'add-book').problems;
    expect(problem!.message).toBe(
      'invalid syntax "attr:http.status_code =": unexpected end of input (expected a value)',
    );
  });

  it('refuses another id, another type, several resources and an empty text', () => {
    const renamed = checkTestText(good.replace('id: add-book', 'id: other'), 'add-book');
    expect(renamed.problems).toEqual([
      {
        file: 'test.yaml',
        line: 3,
        column: 7,
        path: 'spec.id',
        message: 'the id must stay "add-book" (it is "other"; another id would add a second test)',
      },
    ]);
    const suite = 'type: TestSuite\nspec:\n  id: s\n  name: s\n  steps: [add-book]\n';
    expect(checkTestText(suite, 's').problems[0]!.message).toBe('this page edits a Test, not a TestSuite');
    const two = `${good}---\n${good.replace('id: add-book', 'id: second')}`;
    const [many] = checkTestText(two, 'add-book').problems;
    expect(many!.message).toMatch(/only one resource/);
    expect(many!.line).toBe(good.split('\n').length + 1);
    expect(checkTestText('', 'add-book').problems[0]!.message).toMatch(/empty/);
  });
});

describe('offsetOf', () => {
  it('turns a line and column into an offset, clamped to the line', () => {
    const text = 'ab\ncdef\n\ng';
    expect(offsetOf(text, 1, 1)).toBe(0);
    expect(offsetOf(text, 2, 3)).toBe(5);
    expect(offsetOf(text, 2, 99)).toBe(7);
    expect(offsetOf(text, 4, 1)).toBe(9);
    expect(offsetOf(text, 9, 1)).toBe(text.length);
  });
});

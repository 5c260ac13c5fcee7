import { describe, expect, it } from 'vitest';
import { SyntaxProblem } from '../model.js';
import { renderTemplate, variablesOf, type EvalContext } from './index.js';

const ctx: EvalContext = {
  variables: new Map([
    ['HOST', 'shop.local'],
    ['PORT', '8080'],
    ['TOKEN', 'abc"def'],
    ['BODY', '{"id": 7}'],
  ]),
  random: () => 0,
  now: () => new Date(2024, 0, 2, 3, 4, 5),
};

describe('renderTemplate', () => {
  it.each([
    ['http://${var:HOST}:${var:PORT}/books', 'http://shop.local:8080/books'],
    ['http://${env:HOST}/', 'http://shop.local/'],
    ['${var:PORT + 1}', '8081'],
    ['Bearer ${var:TOKEN}', 'Bearer abc"def'],
    ['{"id": "${uuid()}", "day": "${date()}"}', '{"id": "00000000-0000-4000-8000-000000000000", "day": "2024-01-02"}'],
    ["${var:BODY | json_path '$.id'}", '7'],
    ['${"a" }', 'a'],
    // A literal % stays a % (Tracetest would run it through Sprintf).
    ['discount=10%&id=${var:PORT}', 'discount=10%&id=8080'],
    ['%s %d %%', '%s %d %%'],
    // Quotes and backslashes outside the parts are kept exactly.
    ['{"q": "it\'s \\"quoted\\""}', '{"q": "it\'s \\"quoted\\""}'],
    ["it\\'s ${var:PORT}", "it\\'s 8080"],
    ['no parts', 'no parts'],
    ['${ unclosed', '${ unclosed'],
    ['', ''],
  ])('%s', (template, expected) => {
    expect(renderTemplate(template, ctx)).toBe(expected);
  });

  it('fails on an unknown variable', () => {
    expect(() => renderTemplate('http://${var:MISSING}/', ctx)).toThrow(
      new Error('resolution error: variable "MISSING" not found'),
    );
  });

  it('fails on attributes outside a span', () => {
    expect(() => renderTemplate('${attr:x}', ctx)).toThrow(/^resolution error: there are no matching spans/);
  });

  it('throws a syntax problem for a bad part', () => {
    expect(() => renderTemplate('x ${var:A +} y', ctx)).toThrow(SyntaxProblem);
  });
});

describe('variablesOf', () => {
  it.each<[string, string[]]>([
    ['var:A = env:B', ['A', 'B']],
    ['attr:x = "${var:A}-${env:C}"', ['A', 'C']],
    ['[var:A, randomInt(var:B, 10)] | get_index var:C = var:A', ['A', 'B', 'C']],
    ['attr:x | json_path "$.${var:PATH}" = 1', ['PATH']],
    ['\'${"x"}\' = "${var:Y}"', ['Y']],
    ['var:A + var:B', ['A', 'B']],
    ['http://${var:HOST}:${env:PORT}/${var:HOST}', ['HOST', 'PORT']],
    ['${var:OK} and ${var:BAD +}', ['OK']],
    ['attr:a = 1', []],
    ['plain text', []],
  ])('%s', (text, names) => {
    expect(variablesOf(text)).toEqual(names);
  });

  it('reads the text as the kind asked for', () => {
    // As a template, `var:X` is literal text; as an expression it is a variable.
    expect(variablesOf('var:X', 'template')).toEqual([]);
    expect(variablesOf('var:X', 'expression')).toEqual(['X']);
    expect(variablesOf('var:X = 1', 'statement')).toEqual(['X']);
    expect(variablesOf('var:X = 1', 'expression')).toEqual([]);
    expect(variablesOf('${var:X}', 'template')).toEqual(['X']);
  });
});

import { describe, expect, it } from 'vitest';
import type { TestSpan } from '../model.js';
import { evaluateExpression, evaluateStatement, parseExpression, parseStatement, type EvalContext } from './index.js';

function span(attributes: Record<string, string>, name = 'GET /books'): TestSpan {
  return {
    id: '00f067aa0ba902b7',
    parentId: null,
    name,
    kind: 'server',
    startUs: 0,
    durationUs: 0,
    attributes,
    children: [],
  };
}

const NO_VARIABLES: EvalContext = { variables: new Map() };

function run(text: string, ctx: Partial<EvalContext> = {}): ReturnType<typeof evaluateStatement> {
  return evaluateStatement(parseStatement(text), { ...NO_VARIABLES, ...ctx });
}

type Case = [text: string, passed: boolean, ctx?: Partial<EvalContext>];

function table(cases: Case[]): void {
  it.each(cases)('%s', (text, passed, ctx) => {
    const outcome = run(text, ctx);
    expect(outcome.error).toBeUndefined();
    expect(outcome.passed).toBe(passed);
  });
}

describe('basic comparisons', () => {
  table([
    ['1 = 1', true],
    ['1 = 2', false],
    ['"matheus" != "jorge"', true],
    ['"a" != "a"', false],
    ['999 < 1000', true],
    ['1000 < 999', false],
    ['13 > 12', true],
    ['12 > 12', false],
    ['12 >= 12', true],
    ['11 >= 12', false],
    ['12 <= 12', true],
    ['13 <= 12', false],
    ['100ms < 200 ms', true],
    ['"hello" contains "lo"', true],
    ['"lo" contains "hello"', false],
    ['"hello" not-contains "xyz"', true],
    ['"hello" not-contains "ell"', false],
    // Equality is on the rendered text, not the number.
    ['1.50 = 1.5', false],
    ["'5' = 5", true],
    ['007 = 7', false],
  ]);
});

describe('arithmetic (left to right, no precedence)', () => {
  table([
    ['1 + 1 = 2', true],
    ['8 - 3 > 0', true],
    ['15 * 10 = 150', true],
    ['8 / 2 = 4', true],
    ['1 + 2 * 3 = 9', true],
    ['1 + 2 * 3 = 7', false],
    ['8 / 3 = 2', true],
    ["1 - 2 = '-1'", true],
    ['1.5 + 1 = 2.50', true],
    ['0.1 + 0.2 = 0.30', true],
    ['10 / 4.0 = 2.50', true],
    ['100ms + 200ms = 300ms', true],
    ['1s - 500ms = 500ms', true],
    ['2 * 2 * 2 = 8', true],
  ]);

  it('has no negative literals', () => {
    expect(() => parseStatement('1 - 2 = -1')).toThrow(
      'invalid syntax "1 - 2 = -1": unexpected token "-" (expected a value)',
    );
  });

  it('refuses mixed types', () => {
    expect(
      run('attr:tracetest.span.duration + 1ms = 2ms', { span: span({ 'tracetest.span.duration': '1000' }) }),
    ).toEqual({ passed: false, observed: '', error: 'types mismatch' });
    expect(run('1 + "a" = 1').error).toBe('types mismatch');
    expect(run('1ms + 1 = 1').error).toBe('types mismatch');
  });

  it('computes only on numbers and durations', () => {
    expect(run('"a" + "b" = "ab"').error).toBe('operation is only allowed on numbers and duration fields');
  });

  it('refuses a division by zero', () => {
    expect(run('1 / 0 = 1').error).toBe('division by zero');
  });

  it('shows a typed duration attribute in nanoseconds when added', () => {
    expect(evaluateExpression(parseExpression("'42ms' + 1ms"), NO_VARIABLES)).toEqual({ value: '43000000' });
  });
});

describe('ordering is on integers only', () => {
  it.each([
    ['1.5 < 2', 'cannot parse "1.5" as integer'],
    ['1 < 2.5', 'cannot parse "2.5" as integer'],
    ['1.5 < 2.5', 'cannot parse "2.5" as integer'],
    ['"abc" > 1', 'cannot parse "abc" as integer'],
    ['attr:tracetest.span.duration < 500', 'cannot parse "notANumber" as integer'],
  ])('%s', (text, error) => {
    const outcome = run(text, { span: span({ 'tracetest.span.duration': 'notANumber' }) });
    expect(outcome.passed).toBe(false);
    expect(outcome.error).toBe(error);
  });

  it('accepts signed integers', () => {
    expect(run("'-5' < 3").passed).toBe(true);
  });
});

describe('attributes', () => {
  const books = span({
    my_attribute: '42',
    'dapr-app-id': '42',
    'tracetest.span.name': 'GET /books',
    'http.status_code': '200',
    empty: '',
  });
  table([
    ['attr:my_attribute = 42', true, { span: books }],
    ['attr:dapr-app-id = 42', true, { span: books }],
    ['attr:name = "GET /books"', true, { span: books }],
    ['attr:http.status_code >= 200', true, { span: books }],
    ['attr:http.status_code < 300', true, { span: books }],
    ['attr:tracetest.selected_spans.count = 3', true, { selectedCount: 3 }],
    ['attr:tracetest.selected_spans.count = 0', true, { selectedCount: 0 }],
    [
      '"Selected matched ${attr:tracetest.selected_spans.count} spans" = "Selected matched 2 spans"',
      true,
      { selectedCount: 2 },
    ],
  ]);

  it('falls back to the span name for the alias', () => {
    expect(run('attr:name = "GET /books"', { span: span({}) }).passed).toBe(true);
  });

  it.each([
    ['attr:dapr-app-id = 43', 'resolution error: attribute "dapr-app-id" not found', span({})],
    [
      'attr:my_attribute = "abc"',
      'resolution error: attribute "my_attribute" not found',
      span({ attr1: '1', attr2: '2' }),
    ],
    ['attr:empty = ""', 'resolution error: attribute "empty" not found', books],
    [
      'attr:dapr-app-id = 42',
      'resolution error: there are no matching spans to retrieve the attribute "dapr-app-id" from. To fix this error, create a selector matching at least one span.',
      undefined,
    ],
    [
      'attr:tracetest.selected_spans.sum = 1',
      'resolution error: unknown meta attribute "tracetest.selected_spans.sum"',
      books,
    ],
  ])('%s', (text, error, target) => {
    expect(run(text, target === undefined ? {} : { span: target })).toEqual({ passed: false, observed: '', error });
  });

  it('counts selected spans without a span', () => {
    expect(run('attr:tracetest.selected_spans.count > 0', { selectedCount: 0 })).toEqual({
      passed: false,
      observed: '0',
    });
  });
});

describe('variables', () => {
  const variables = new Map([
    ['HOST', 'example.com'],
    ['COUNT', '3'],
    ['EMPTY', ''],
  ]);
  table([
    ['var:HOST = "example.com"', true, { variables }],
    ['env:HOST = var:HOST', true, { variables }],
    ['var:COUNT + 1 = 4', true, { variables }],
    ['var:EMPTY = ""', true, { variables }],
  ]);

  it.each([
    ['env:test = "abc"', 'resolution error: variable "test" not found'],
    ['var:host = "abc"', 'resolution error: variable "host" not found'],
    [
      '["value", env:test, "anotherValue"] | get_index 0 = "value"',
      'resolution error: at index 1 of array: variable "test" not found',
    ],
    [
      '["value", var:host, "anotherValue"] | get_index 0 = "value"',
      'resolution error: at index 1 of array: variable "host" not found',
    ],
    ['"x ${var:host}" = "x"', 'resolution error: variable "host" not found'],
  ])('%s', (text, error) => {
    expect(run(text, { variables })).toEqual({ passed: false, observed: '', error });
  });
});

describe('string interpolation', () => {
  table([
    ['attr:text = \'this run took ${"25ms"}\'', true, { span: span({ text: 'this run took 25ms' }) }],
    [
      "'${1} is a number, ${\"dog\"} is a string, and ${1ms + 1ns} is a duration' = '1 is a number, dog is a string, and 1000001 is a duration'",
      true,
    ],
    ['"100% of ${1 + 1}" = "100% of 2"', true],
    ['\'{"id": "${var:ID}"}\' = \'{"id": "7"}\'', true, { variables: new Map([['ID', '7']]) }],
    ['"${[1, 2]}" = "[1, 2]"', true],
  ]);
});

describe('filters in statements', () => {
  const body = span({ 'tracetest.response.body': '{"id": 8, "name": "john doe"}' });
  const sqlBody = span({ 'tracetest.response.body': '{"results":[{"count(*)":{"result":3}}]}' });
  table([
    ["attr:tracetest.response.body | json_path '.id' = 8", true, { span: body }],
    ['\'{ "name": "john", "age": 37 }\' | regex_group \'"age": (\\d+)\' = 37', true],
    [
      '\'{ "array": [{ "name": "john", "age": 37 }, { "name": "jonas", "age": 38 }]}\' | regex_group \'"age": (\\d+)\' | get_index 1 = 38',
      true,
    ],
    ["'{ \"array\": [1, 2, 3] }' | json_path '$.array[*]' | length = 3", true],
    ["'{ \"array\": [1, 2, 5] }' | json_path '$.array[*]' | get_index 'last' = 5", true],
    ["attr:tracetest.response.body | json_path '$.results[0][\\'count(*)\\'].result' = 3", true, { span: sqlBody }],
    ['attr:tracetest.response.body | json_path \'.missing\' = ""', true, { span: body }],
    [
      'attr:tracetest.response.body | json_path "$.${var:KEY}" = "john doe"',
      true,
      { span: body, variables: new Map([['KEY', 'name']]) },
    ],
    ['[1, 2] | get_index randomInt(1, 1) = 2', true],
    ['attr:name | length = 10', true, { span: body }],
    ["'héllo' | length = 6", true], // bytes, as Go's len()
    ['"abc" | type = "string"', true],
    ['1 | type = "number"', true],
    ['1ms | type = "duration"', true],
    ['"1ms" | type = "duration"', true],
    ['"${1ms}" | type = "number"', true], // rendered into a string, a duration is its nanoseconds
  ]);

  it.each([
    ['"value" | missingFilter = "abc"', 'resolution error: filter "missingFilter" not found'],
    ["[1, 2] | json_path '$.a' = 1", 'json_path: cannot process array of json objects'],
    ["[1, 2] | regex '1' = 1", 'regex: cannot process array of json objects'],
    ["[1, 2] | regex_group '(1)' = 1", 'regex_group: cannot process array of json objects'],
    ['"x" | json_path = 1', 'json_path: wrong number of args. Expected 1, got 0'],
    ['"x" | length 1 = 1', 'length: wrong number of args. Expected 0, got 1'],
    ['"x" | type "a" = 1', 'type: wrong number of args. Expected 0, got 1'],
    ['"x" | get_index = 1', 'get_index: wrong number of args. Expected 1, got 0'],
    ['"not json" | json_path \'$.a\' = 1', 'json_path: invalid JSON input: invalid literal at offset 0'],
    [
      "'{\"a\": 1}' | json_path '$[' = 1",
      'json_path: invalid json_path: expected an index, a name or a filter at offset 2',
    ],
    ['"abc" | regex \'(\' = 1', 'regex: invalid regex: Invalid regular expression: /(/g: Unterminated group'],
    ['"abc" | regex \'(?<=a)b\' = 1', 'regex: invalid regex: lookahead and lookbehind are not supported (RE2 syntax)'],
    ['"abab" | regex \'(a)\\1\' = 1', 'regex: invalid regex: backreferences are not supported (RE2 syntax)'],
    ['[1, 2] | get_index 2 = 1', 'get_index: index out of boundaries: 2 out of 2'],
    ['"abc" | get_index 1 = 1', 'get_index: index out of boundaries: 1 out of 1'],
    ['[1, 2] | get_index "x" = 1', 'get_index: index must be an integer'],
  ])('%s', (text, error) => {
    const outcome = run(text);
    expect(outcome.passed).toBe(false);
    expect(outcome.error).toBe(error);
  });
});

describe('functions', () => {
  table([
    ['firstName() | length > 0', true],
    ['firstName() != firstName()', true, { random: sequence([0.1, 0.9]) }],
    ['randomInt(0,10) <= 10', true],
    ['randomInt(10,20) < 10', false],
    ['randomInt(10,20) >= 10', true],
    ['uuid() | length = 36', true],
  ]);

  const now = (): Date => new Date(2024, 0, 2, 15, 4, 5);
  table([
    ['date() = "2024-01-02"', true, { now }],
    ['date("DD/MM/YYYY") = "02/01/2024"', true, { now }],
    ['dateTime("DD/MM/YYYY hh:mm") = "02/01/2024 15:04"', true, { now }],
  ]);

  it.each([
    ['nope() = 1', 'resolution error: function "nope" not found'],
    ['randomInt(1) = 1', 'randomInt: invalid number of arguments. Expected 2, got 1'],
    ['randomInt("a", 2) = 1', 'randomInt: invalid argument type on index 0: expected number, got string'],
    ['uuid(1) = 1', 'uuid: invalid number of arguments. Expected 0, got 1'],
    ['date("a", "b") = 1', 'date: invalid number of arguments. Expected 0 to 1, got 2'],
    [
      'randomInt(var:X, 2) = 1',
      'resolution error: invalid argument on index 0 of function "randomInt": variable "X" not found',
    ],
    ['[uuid(1)] = 1', 'resolution error: at index 0 of array: uuid: invalid number of arguments. Expected 0, got 1'],
  ])('%s', (text, error) => {
    expect(run(text).error).toBe(error);
  });
});

describe('arrays', () => {
  table([
    ['[] = []', true],
    ['[1, 2, 3] = [1, 2, 3]', true],
    ['[1, 2, 3] = [3, 2, 1]', false],
    ['[1,2,3] = [1, 2, 3]', true],
    ['[1,2,3] = [1, 2]', false],
    ['[1, 2, 3] | length = 3', true],
    ['["this", "is", "sparta"] | get_index 2 | length = 6', true],
    ['["this", "is", "sparta"] | type = "array"', true],
    ['["{}", "{}", "{}"] | type = "array"', true],
    [
      '\'{ "array": [{ "name": "john", "age": 37 }, { "name": "jonas", "age": 38 }]}\' | json_path \'$.array[*].age\' = [37, 38]',
      true,
    ],
    [
      '\'[{ "name": "john", "age": 37 }, { "name": "jonas", "age": 38 }]\' | json_path \'$[?(@.name == "john")].age\' = 37',
      true,
    ],
    ['[31,35,39] contains 35', true],
    ['[31,35,39] contains 42', false],
    ['["a", "b"] = \'["a", "b"]\'', true],
    ['["a", "b"] not-contains "c"', true],
  ]);

  it('renders strings quoted and the rest bare', () => {
    expect(run('[1, "x", 2ms, \'{"a":1}\'] = 1').observed).toBe('[1, "x", 2000000, {"a":1}]');
  });
});

describe('JSON', () => {
  table([
    ['\'{"name": "john", "age": 32, "email": "john@company.com"}\' | type = "json"', true],
    ['\'[{"a": 1}]\' | type = "json"', true],
    ['\'[1, 2]\' | type = "array"', true],
    ['\'[]\' | type = "array"', true],
    ['\'{not json\' | type = "string"', true],
    [
      '\'{"name": "john", "age": 32, "email": "john@company.com"}\' contains \'{"email": "john@company.com", "name": "john"}\'',
      true,
    ],
    [
      '\'{"name": "john", "age": 32, "email": "john@company.com"}\' contains \'{"email": "john@company.com", "name": "john", "age": 32}\'',
      true,
    ],
    [
      '\'{"name": "john", "age": 32, "email": "john@company.com", "company": {"name": "Company", "address": "1234 Agora Street"}}\' contains \'{"email": "john@company.com", "name": "john", "company": {"name": "Company"}}\'',
      true,
    ],
    ['\'[{"name": "john", "age": 32}, {"name": "Maria", "age": 63}]\' contains \'[{"age": 63}, {"age": 32}]\'', true],
    ['\'[{"name": "john", "age": 32}, {"name": "Maria", "age": 63}]\' contains \'[{"age": 64}]\'', false],
    ['\'{"numbers": [0,1,2,3,4]}\' contains \'{"numbers": [0,1,2,3,4]}\'', true],
    ['\'{"numbers": [0,1,2,3,4]}\' contains \'{"numbers": [0,1]}\'', false],
    ['\'{"numbers": [0,1,2,3,4]}\' contains \'{"numbers": [0,1,"2","3",4]}\'', false],
    [
      '\'{"name": "john", "age": 32, "email": "john@company.com", "company": {"name": "Company", "address": "1234 Agora Street", "telephones": ["01", "02", "03"]}}\' contains \'{"email": "john@company.com", "name": "john", "company": {"name": "Company", "telephones": ["01", "02", "03"]}}\'',
      true,
    ],
    ['\'{"name": "john"}\' contains \'{"name": "jane"}\'', false],
    ['\'{"a": {"b": 1}}\' contains \'{"a": 1}\'', false],
    ['\'{"n": 1.0}\' contains \'{"n": 1}\'', true],
    [
      'attr:tracetest.response.body contains \'{"name": "john"}\'',
      true,
      { span: span({ 'tracetest.response.body': '{"name": "john", "age": 32, "email": "john@company.com"}' }) },
    ],
    // Plain substring when the right side is not JSON.
    ['\'{"name": "john"}\' contains \'john\'', true],
  ]);
});

describe('durations', () => {
  const timed = (ns: string): Partial<EvalContext> => ({ span: span({ 'tracetest.span.duration': ns }) });
  it.each<[string, string, boolean, string]>([
    ['attr:tracetest.span.duration = 42ms', '42300000', true, '42ms'],
    ['attr:tracetest.span.duration = 42ms', '42600000', false, '43ms'],
    ['attr:tracetest.span.duration < 500ms', '157234567', true, '157ms'],
    ['attr:tracetest.span.duration <= 500ms', '500400000', true, '500ms'],
    ['attr:tracetest.span.duration < 500ms', '500400000', false, '500ms'],
    ['attr:tracetest.span.duration = 1.5s', '1470000000', true, '1.5s'],
    ['attr:tracetest.span.duration > 1s', '1500000000', true, '1.5s'],
    ['attr:tracetest.span.duration = 2m', '120000000000', true, '2m'],
    ['attr:tracetest.span.duration = 2ms', '1500000', true, '2ms'],
    ['attr:tracetest.span.duration = 1500000ns', '2000000', true, '2ms'],
    ['attr:tracetest.span.duration = 1ms', '1500000', false, '2ms'],
  ])('%s with %s ns', (text, ns, passed, observed) => {
    expect(run(text, timed(ns))).toEqual({ passed, observed });
  });

  table([
    ['1500000ns = 2ms', true],
    ['2ms = 1500000ns', true],
    ['1s = 1000ms', true],
    ['1.5s = 1500ms', true],
    ['90s = 1.5m', true],
    ['60m = 1h', true],
    ["'42ms' = 42ms", true],
    ['42300000 = 42ms', true],
  ]);

  it('shows both sides formatted, the left as observed', () => {
    expect(run('1500ms > 2s')).toEqual({ passed: false, observed: '1.5s' });
  });

  it('leaves a non-numeric side as it is', () => {
    expect(run('"abc" = 1ms')).toEqual({ passed: false, observed: 'abc' });
    expect(run('"abc" < 1ms')).toEqual({ passed: false, observed: 'abc', error: 'cannot parse "abc" as integer' });
  });
});

describe('bare expressions', () => {
  it.each<[string, string, Partial<EvalContext>?]>([
    ['1', '1'],
    ['"matheus"', 'matheus'],
    ['attr:my_attribute', '42', { span: span({ my_attribute: '42' }) }],
    ['\'this run took ${"25ms"}\'', 'this run took 25ms'],
    [
      '\'${1} is a number, ${"dog"} is a string, and ${1ms + 1ns} is a duration\'',
      '1 is a number, dog is a string, and 1000001 is a duration',
    ],
    [
      'attr:tracetest.response.body',
      '{"id": 8, "name": "john doe"}',
      { span: span({ 'tracetest.response.body': '{"id": 8, "name": "john doe"}' }) },
    ],
    ['\'{ "name": "john", "age": 37 }\' | regex_group \'"age": (\\d+)\'', '37'],
    ["'{ \"array\": [1, 2, 3] }' | json_path '$.array[*]'", '[1, 2, 3]'],
    ["'{ \"array\": [1, 2, 3] }' | json_path '$.array[*]' | length", '3'],
    ["'{ \"array\": [1, 2, 5] }' | json_path '$.array[*]' | get_index 'last'", '5'],
    ['\'{ "a": {"b": [1, {"c": "d"}]} }\' | json_path \'$.a\'', '{"b":[1,{"c":"d"}]}'],
    ['100ms', '100000000'],
    ['1 + 1', '2'],
  ])('%s → %s', (text, value, ctx) => {
    expect(evaluateExpression(parseExpression(text), { ...NO_VARIABLES, ...ctx })).toEqual({ value });
  });

  it('reports failures with an empty value', () => {
    expect(evaluateExpression(parseExpression('attr:x'), NO_VARIABLES)).toEqual({
      value: '',
      error:
        'resolution error: there are no matching spans to retrieve the attribute "x" from. To fix this error, create a selector matching at least one span.',
    });
  });

  it('evaluates objects not made by parseExpression', () => {
    expect(evaluateExpression({ text: '2 * 21' }, NO_VARIABLES)).toEqual({ value: '42' });
    expect(evaluateExpression({ text: '2 *' }, NO_VARIABLES).error).toBe(
      'invalid syntax "2 *": unexpected end of input (expected a value)',
    );
    expect(evaluateStatement({ text: 'attr:x' }, NO_VARIABLES)).toEqual({
      passed: false,
      observed: '',
      error: 'invalid syntax "attr:x": unexpected end of input (expected a comparator)',
    });
  });
});

function sequence(values: number[]): () => number {
  let i = 0;
  return () => values[i++ % values.length] ?? 0;
}

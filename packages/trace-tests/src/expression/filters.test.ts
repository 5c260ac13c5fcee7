import { describe, expect, it } from 'vitest';
import { FilterError, lookupFilter } from './filters.js';
import { compileRe2, findAll, RegexError } from './regex.js';
import { arrayFromStrings, arrayOf, detectType, fromString, NIL, render, typeOf, type Value } from './values.js';

function apply(name: string, input: Value, ...args: string[]): Value {
  const fn = lookupFilter(name);
  if (fn === undefined) throw new Error(`no filter ${name}`);
  return fn(input, args);
}

describe('json_path', () => {
  it.each([
    ['{ "id": 38, "name": "Tracetest" }', '.id', '38'],
    ['{ "array": [ { "id": 38, "name": "Tracetest" } ] }', '$.array[0].id', '38'],
    ['{ "array": [ { "id": 38, "name": "Tracetest" }, {"id": 39, "name": "Kusk"} ] }', '$.array[*].id', '[38, 39]'],
    [
      '{ "array": [ { "id": 38, "name": "Tracetest" }, {"id": 39, "name": "Kusk"} ] }',
      "$.array[*]..['id', 'name']",
      '[38, "Tracetest", 39, "Kusk"]',
    ],
    ['{"results":[{"count(*)":{"result":3}}]}', "$.results[0]['count(*)'].result", '3'],
    ['{"a": 1}', '$.b', ''],
  ])('%s %s → %s', (json, path, expected) => {
    expect(render(apply('json_path', fromString(json), path))).toBe(expected);
  });

  it('gives nil for no hit, a single typed value for one, an array for several', () => {
    expect(apply('json_path', fromString('{"a": 1}'), '$.b')).toEqual(NIL);
    expect(typeOf(apply('json_path', fromString('{"a": "5ms"}'), '$.a'))).toBe('duration');
    expect(typeOf(apply('json_path', fromString('{"a": {"b": 1}}'), '$.a'))).toBe('json');
    expect(typeOf(apply('json_path', fromString('{"a": [1, 2]}'), '$.a[*]'))).toBe('array');
  });

  it('refuses arrays', () => {
    expect(() => apply('json_path', arrayFromStrings(['{}']), '$')).toThrow(
      new FilterError('cannot process array of json objects'),
    );
  });
});

describe('regex', () => {
  it.each([
    ['{ "id": 38, "name": "Tracetest" }', '"id": \\d+', '"id": 38'],
    ['[{ "id": 38, "name": "Tracetest" }, { "id": 39, "name": "Kusk" }]', '"id": \\d+', '[""id": 38", ""id": 39"]'],
    ['abc', 'x', '[]'],
    ['ABC abc', '(?i)abc', '[ABC, abc]'.replace('ABC, abc', '"ABC", "abc"')],
    ['a.b', 'a.b', 'a.b'],
    ['a\nb', 'a.b', '[]'],
    ['a\nb', '(?s)a.b', 'a\nb'],
    ['line1\nline2', '(?m)^line\\d$', '["line1", "line2"]'],
    ['x=1 y=22', '\\w=\\d+', '["x=1", "y=22"]'],
    ['price: $5', '\\$\\d', '"$5"'.slice(1, -1)],
    ['a-b', 'a\\-b', 'a-b'],
    ['tab\there', '\\s', '\t'],
    ['2024-01-02', '[[:digit:]]+', '[2024, 01, 02]'],
    ['a.b*c', '\\Q.b*\\E', '.b*'],
    ['id=7', '(?P<num>\\d)', '7'],
    ['héllo', '\\pL+', 'héllo'],
    ['abc', '\\Aab', 'ab'],
    ['abc', 'bc\\z', 'bc'],
  ])('%j ~ %j → %s', (input, pattern, expected) => {
    expect(render(apply('regex', fromString(input), pattern))).toBe(expected);
  });

  it('follows Go for empty matches', () => {
    expect(findAll(compileRe2('x*'), 'axxb').map((m) => m[0])).toEqual(['', 'xx', '']); // the empty match right after "xx" is skipped
    expect(findAll(compileRe2('a*'), 'baaa').map((m) => m[0])).toEqual(['', 'aaa']);
    expect(findAll(compileRe2(''), 'ab').length).toBe(3);
  });

  it.each([
    ['(?=a)', 'lookahead and lookbehind are not supported (RE2 syntax)'],
    ['(?!a)', 'lookahead and lookbehind are not supported (RE2 syntax)'],
    ['(?<=a)b', 'lookahead and lookbehind are not supported (RE2 syntax)'],
    ['(?<!a)b', 'lookahead and lookbehind are not supported (RE2 syntax)'],
    ['(a)\\1', 'backreferences are not supported (RE2 syntax)'],
    ['(?<n>a)\\k<n>', 'backreferences are not supported (RE2 syntax)'],
    ['a(?i)b', 'inline flags are only supported at the start of the pattern'],
    ['(?U)a+', 'the U (ungreedy) flag is not supported'],
    ['[[:nope:]]', 'unsupported character class [:nope:]'],
  ])('rejects %s', (pattern, message) => {
    expect(() => compileRe2(pattern)).toThrow(new RegexError(message));
  });

  it('wraps plain syntax errors', () => {
    expect(() => apply('regex', fromString('a'), '(')).toThrow(/^invalid regex: Invalid regular expression/);
  });
});

describe('regex_group', () => {
  it.each([
    ['{ "id": 38, "name": "Tracetest" }', '"id": (\\d+)', '38'],
    ['[{ "id": 38, "name": "Tracetest" }, { "id": 39, "name": "Kusk" }]', '"id": (\\d+)', '[38, 39]'],
    [
      '[{ "id": 38, "name": "Tracetest" }, { "id": 39, "name": "Kusk" }]',
      '"id": (\\d+), "name": "(\\w+)"',
      '[38, "Tracetest", 39, "Kusk"]',
    ],
    ['abc', '(x)', '[]'],
    ['abc', 'b', '[]'], // no groups: nothing to return
    ['ab', '(a)(x)?', '[a, ""]'.replace('[a', '["a"')],
  ])('%j ~ %j → %s', (input, pattern, expected) => {
    expect(render(apply('regex_group', fromString(input), pattern))).toBe(expected);
  });
});

describe('get_index', () => {
  const list = arrayFromStrings(['abc', 'def', 'ghi']);
  it('picks an item', () => {
    expect(render(apply('get_index', list, '1'))).toBe('def');
    expect(render(apply('get_index', list, 'last'))).toBe('ghi');
    expect(render(apply('get_index', list, '+0'))).toBe('abc');
    expect(render(apply('get_index', fromString('abc'), '0'))).toBe('abc');
  });
  it.each([
    [list, 'abc', 'index must be an integer'],
    [fromString('abc'), '1', 'index out of boundaries: 1 out of 1'],
    [list, '-1', 'index out of boundaries: -1 out of 3'],
    [arrayOf([]), 'last', 'index out of boundaries: -1 out of 0'],
    [NIL, '0', 'index out of boundaries: 0 out of 0'],
  ])('fails on %j index %s', (input, index, message) => {
    expect(() => apply('get_index', input, index)).toThrow(new FilterError(message));
  });
});

describe('length', () => {
  it.each<[Value, string]>([
    [arrayOf([]), '0'],
    [arrayFromStrings(['a']), '1'],
    [arrayFromStrings(['a', 'b', 'c']), '3'],
    [fromString('sparta'), '6'],
    [fromString('200'), '3'],
    [fromString('日本'), '6'],
    [NIL, '0'],
  ])('%j → %s', (input, expected) => {
    const output = apply('length', input);
    expect(render(output)).toBe(expected);
    expect(typeOf(output)).toBe('number');
  });
});

describe('type', () => {
  it.each<[Value, string]>([
    [arrayOf([]), 'array'],
    [arrayFromStrings(['1', '2']), 'array'],
    [fromString('1'), 'number'],
    [fromString('1.5'), 'number'],
    [fromString('25ms'), 'duration'],
    [fromString('abc'), 'string'],
    [fromString('{"a": 1}'), 'json'],
    [NIL, 'nil'],
  ])('%j → %s', (input, expected) => {
    expect(render(apply('type', input))).toBe(expected);
  });
});

describe('type detection', () => {
  it.each([
    ['42', 'number'],
    ['4.2', 'number'],
    ['4.', 'string'],
    ['.5', 'string'],
    ['-1', 'string'],
    ['25ms', 'duration'],
    ['1.5s', 'duration'],
    ['25 ms', 'string'],
    ['{"a": 1}', 'json'],
    [' {"a": 1} ', 'json'],
    ['{"a": 1', 'string'],
    ['[{"a": 1}, {"b": 2}]', 'json'],
    ['[{"a": 1}, 2]', 'array'],
    ['[1, 2]', 'array'],
    ['["a"]', 'array'],
    ['[]', 'array'],
    ['[not json]', 'array'],
    ['a [b] c', 'string'],
    ['', 'string'],
    ['true', 'string'],
  ])('%j → %s', (text, type) => {
    expect(detectType(text)).toBe(type);
  });
});

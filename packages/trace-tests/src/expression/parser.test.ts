import { describe, expect, it } from 'vitest';
import { SyntaxProblem } from '../model.js';
import { parseExpression, parseStatement, parseTemplate } from './index.js';
import { parseExprText, parseStatementText, type Expr, type Term } from './parser.js';

const expr = (left: Term, extra: Partial<Expr> = {}): Expr => ({ left, ops: [], filters: [], ...extra });
const num = (text: string): Term => ({ kind: 'number', text });
const attr = (name: string): Term => ({ kind: 'attribute', name });
const str = (...parts: (string | Expr)[]): Term => ({ kind: 'string', parts });

describe('parser', () => {
  it.each<[string, ReturnType<typeof parseStatementText>]>([
    ['1 = 1', { left: expr(num('1')), comparator: '=', right: expr(num('1')) }],
    [
      '100ms = 100ms',
      {
        left: expr({ kind: 'duration', text: '100ms' }),
        comparator: '=',
        right: expr({ kind: 'duration', text: '100ms' }),
      },
    ],
    ['attr:abc = attr:abc', { left: expr(attr('abc')), comparator: '=', right: expr(attr('abc')) }],
    [
      'var:var1 = env:var2',
      {
        left: expr({ kind: 'variable', prefix: 'var', name: 'var1' }),
        comparator: '=',
        right: expr({ kind: 'variable', prefix: 'env', name: 'var2' }),
      },
    ],
    ['"abc" = "abc"', { left: expr(str('abc')), comparator: '=', right: expr(str('abc')) }],
    [
      `"my name is \\"john\\"" = 'my name is \\'john\\''`,
      { left: expr(str('my name is "john"')), comparator: '=', right: expr(str("my name is 'john'")) },
    ],
    [
      `attr:text = 'this is a "nice" test'`,
      { left: expr(attr('text')), comparator: '=', right: expr(str('this is a "nice" test')) },
    ],
    // Other escapes stay as written.
    [
      String.raw`'a\nb' = 'a\\b'`,
      { left: expr(str(String.raw`a\nb`)), comparator: '=', right: expr(str(String.raw`a\\b`)) },
    ],
    [
      '2 + 1 = 1 + 2',
      {
        left: expr(num('2'), { ops: [{ operator: '+', term: num('1') }] }),
        comparator: '=',
        right: expr(num('1'), { ops: [{ operator: '+', term: num('2') }] }),
      },
    ],
    [
      '2 - 1 != 1 * 2 / 3',
      {
        left: expr(num('2'), { ops: [{ operator: '-', term: num('1') }] }),
        comparator: '!=',
        right: expr(num('1'), {
          ops: [
            { operator: '*', term: num('2') },
            { operator: '/', term: num('3') },
          ],
        }),
      },
    ],
    [
      'attr:text = "your age is ${18} but you must be ${21} to start drinking"',
      {
        left: expr(attr('text')),
        comparator: '=',
        right: expr(str('your age is ', expr(num('18')), ' but you must be ', expr(num('21')), ' to start drinking')),
      },
    ],
    [
      'attr:text = "your age will be ${attr:user_age + 2} in two years"',
      {
        left: expr(attr('text')),
        comparator: '=',
        right: expr(
          str(
            'your age will be ',
            expr(attr('user_age'), { ops: [{ operator: '+', term: num('2') }] }),
            ' in two years',
          ),
        ),
      },
    ],
    [
      `attr:tracetest.response.body = '{"userID":"\${attr:myapp.myspan.user_id}"}'`,
      {
        left: expr(attr('tracetest.response.body')),
        comparator: '=',
        right: expr(str('{"userID":"', expr(attr('myapp.myspan.user_id')), '"}')),
      },
    ],
    [
      `attr:my_json_attribute | json_path '.id' = 32`,
      {
        left: expr(attr('my_json_attribute'), { filters: [{ name: 'json_path', args: [str('.id')] }] }),
        comparator: '=',
        right: expr(num('32')),
      },
    ],
    [
      `attr:user_id = attr:tracetest.response.body | json_path '.id'`,
      {
        left: expr(attr('user_id')),
        comparator: '=',
        right: expr(attr('tracetest.response.body'), { filters: [{ name: 'json_path', args: [str('.id')] }] }),
      },
    ],
    [
      `attr:my_json_attribute | my_function 'arg1' 'arg2' 42 = "abc"`,
      {
        left: expr(attr('my_json_attribute'), {
          filters: [{ name: 'my_function', args: [str('arg1'), str('arg2'), num('42')] }],
        }),
        comparator: '=',
        right: expr(str('abc')),
      },
    ],
    [
      `attr:my_json_attribute | json_path '.name' | lowercase = "john"`,
      {
        left: expr(attr('my_json_attribute'), {
          filters: [
            { name: 'json_path', args: [str('.name')] },
            { name: 'lowercase', args: [] },
          ],
        }),
        comparator: '=',
        right: expr(str('john')),
      },
    ],
    [
      `attr:message = "welcome to tracetest, \${attr:tracetest.response.body | json_path '.name'}"`,
      {
        left: expr(attr('message')),
        comparator: '=',
        right: expr(
          str(
            'welcome to tracetest, ',
            expr(attr('tracetest.response.body'), { filters: [{ name: 'json_path', args: [str('.name')] }] }),
          ),
        ),
      },
    ],
    [
      'randomInt(0, 10) <= [1, uuid()]',
      {
        left: expr({ kind: 'call', name: 'randomInt', args: [num('0'), num('10')] }),
        comparator: '<=',
        right: expr({ kind: 'array', items: [num('1'), { kind: 'call', name: 'uuid', args: [] }] }),
      },
    ],
    [
      '[] contains []',
      { left: expr({ kind: 'array', items: [] }), comparator: 'contains', right: expr({ kind: 'array', items: [] }) },
    ],
  ])('%s', (text, expected) => {
    expect(parseStatementText(text)).toEqual(expected);
  });

  it('keeps an unclosed ${ as text', () => {
    expect(parseExprText('"cost: ${ 5"')).toEqual(expr(str('cost: ${ 5')));
  });

  it('reads left-to-right chains without precedence', () => {
    const parsed = parseExprText('1 + 2 * 3');
    expect(parsed.ops.map((o) => o.operator)).toEqual(['+', '*']);
  });
});

function syntaxProblem(parse: () => unknown): SyntaxProblem {
  try {
    parse();
  } catch (e) {
    if (e instanceof SyntaxProblem) return e;
    throw e;
  }
  throw new Error('expected a syntax problem');
}

describe('syntax problems', () => {
  it.each([
    ['1 1 + = 2', 2, 'unexpected token "1" (expected a comparator)'],
    ['http.status_code = 200', 4, 'invalid input text ".status_code"'],
    ['attr:a =', 8, 'unexpected end of input (expected a value)'],
    ['attr:a = 1 = 1', 11, 'unexpected token "=" (expected end of input)'],
    ['attr:a', 6, 'unexpected end of input (expected a comparator)'],
    ['attr:a | = 1', 9, 'unexpected token "=" (expected a filter name)'],
    ['attr:a | length 1 + 1 = 2', 18, 'unexpected token "+" (expected a comparator)'],
    ['[1, 2 = 1', 6, 'unexpected token "=" (expected "]")'],
    ['randomInt(1 2) = 1', 12, 'unexpected token "2" (expected ")")'],
    ['foo = 1', 0, 'unexpected token "foo" (expected a value)'],
    ['+ 1 = 1', 0, 'unexpected token "+" (expected a value)'],
    ['"a ${attr:x ==} b" = 1', 12, 'unexpected token "=" (expected end of input)'],
    // Offsets inside an interpolation count the escapes that were removed.
    [`'\\'\${ ; }' = 1`, 6, 'invalid input text "; "'],
  ])('%s', (text, offset, reason) => {
    const problem = syntaxProblem(() => parseStatement(text));
    expect(problem.message).toBe(`invalid syntax "${text}": ${reason}`);
    expect(problem.offset).toBe(offset);
  });

  it('reports bare expressions with the same prefix', () => {
    const problem = syntaxProblem(() => parseExpression('attr:attribute env:number'));
    expect(problem.message).toBe(
      'invalid syntax "attr:attribute env:number": unexpected token "env:number" (expected end of input)',
    );
    expect(problem.offset).toBe(15);
  });

  it('rejects a comparator in a bare expression', () => {
    expect(syntaxProblem(() => parseExpression('attr:a = 1')).offset).toBe(7);
  });

  it('reports a bad template part at its offset in the template', () => {
    const problem = syntaxProblem(() => parseTemplate('http://${var:HOST}:${var:PORT +}/x'));
    expect(problem.message).toBe(
      'invalid syntax "http://${var:HOST}:${var:PORT +}/x": unexpected end of input (expected a value)',
    );
    expect(problem.offset).toBe(31);
  });

  it('accepts plain templates', () => {
    expect(() => parseTemplate('{"id": "${uuid()}", "price": 10%}')).not.toThrow();
    expect(() => parseTemplate('no parts at all')).not.toThrow();
  });
});

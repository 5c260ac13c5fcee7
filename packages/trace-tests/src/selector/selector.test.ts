import type { Span } from '@spyglass/protocol';
import { describe, expect, it } from 'vitest';
import { SyntaxProblem, type TestTrace } from '../model.js';
import { buildTestTrace } from '../trace.js';
import { parseSelector, selectSpans } from './index.js';

// A shop's trace as the hub stores it: the run's trigger span, an Express HTTP server span with its middleware and
// request-handler spans, PostgreSQL and Redis client spans, and a manual span.
const T0 = 1_714_557_600_000_000;
const LABELS: Record<string, string> = {};

function span(label: string, id: string, parent: string | null, fields: Partial<Span>): Span {
  LABELS[id] = label;
  return {
    traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
    spanId: id,
    parentSpanId: parent,
    traceState: null,
    name: label,
    kind: 'internal',
    service: 'books',
    startUs: T0,
    durationUs: 100,
    status: { code: 'unset', message: '' },
    attributes: {},
    resource: { 'service.name': 'books', 'service.version': '1.4.0' },
    scope: { name: '@opentelemetry/instrumentation-express', version: '0.47.0' },
    events: [],
    links: [],
    dropped: { attributes: 0, events: 0, links: 0 },
    truncated: false,
    ...fields,
  };
}

const SPANS: Span[] = [
  span('E', 'a000000000000009', 'a000000000000007', {
    name: 'pg.query:SELECT shop',
    kind: 'client',
    startUs: T0 + 35_000,
    durationUs: 2_000,
    status: { code: 'error', message: 'relation "reviews" does not exist' },
    attributes: { 'db.system': 'postgresql', 'db.name': 'shop', 'db.statement': 'SELECT * FROM reviews' },
  }),
  span('T', 'f000000000000001', null, {
    name: 'Tracetest trigger',
    kind: 'client',
    service: 'tracetest',
    startUs: T0,
    durationUs: 60_000,
    attributes: { 'tracetest.response.status': '200', 'tracetest.response.body': '{"id":42}' },
    resource: { 'service.name': 'tracetest' },
  }),
  span('S', 'a000000000000001', 'f000000000000001', {
    name: 'GET /books/:id',
    kind: 'server',
    startUs: T0 + 1_000,
    durationUs: 50_000,
    attributes: {
      'http.method': 'GET',
      'http.route': '/books/:id',
      'http.target': '/books/42',
      'http.status_code': 200,
      'http.user_agent': 'curl/8.5.0',
    },
  }),
  span('M1', 'a000000000000002', 'a000000000000001', {
    name: 'middleware - query',
    startUs: T0 + 1_100,
    attributes: { 'express.name': 'query', 'express.type': 'middleware', 'http.route': '/' },
  }),
  span('M2', 'a000000000000003', 'a000000000000001', {
    name: 'middleware - expressInit',
    startUs: T0 + 1_200,
    attributes: { 'express.name': 'expressInit', 'express.type': 'middleware', 'http.route': '/' },
  }),
  span('H', 'a000000000000004', 'a000000000000001', {
    name: 'request handler - /books/:id',
    startUs: T0 + 1_300,
    durationUs: 30_000,
    attributes: { 'express.name': '/books/:id', 'express.type': 'request_handler', 'http.route': '/books/:id' },
  }),
  span('D1', 'a000000000000005', 'a000000000000004', {
    name: 'pg.query:SELECT shop',
    kind: 'client',
    startUs: T0 + 1_400,
    durationUs: 12_000,
    attributes: {
      'db.system': 'postgresql',
      'db.name': 'shop',
      'db.statement': 'SELECT * FROM "books" WHERE id = $1',
      'db.rows': 1,
    },
  }),
  span('D2', 'a000000000000006', 'a000000000000004', {
    name: 'pg.query:SELECT shop',
    kind: 'client',
    startUs: T0 + 14_000,
    durationUs: 9_000,
    attributes: {
      'db.system': 'postgresql',
      'db.name': 'shop',
      'db.statement': 'SELECT name FROM authors WHERE id = $1',
      'author.name': 'Émile Zola',
    },
  }),
  span('L', 'a000000000000007', 'a000000000000001', {
    name: 'Books List',
    startUs: T0 + 32_000,
    durationUs: 15_000,
    attributes: { 'books.count': 3, 'books.ratio': 1.5, 'cache.hit': true },
  }),
  span('D3', 'a000000000000008', 'a000000000000007', {
    name: 'redis-GET',
    kind: 'client',
    startUs: T0 + 33_000,
    durationUs: 800,
    attributes: { 'db.system': 'redis', 'db.statement': 'GET books:42' },
  }),
];

const TRACE: TestTrace = buildTestTrace('4bf92f3577b34da6a3ce929d0e0e4736', SPANS);
const ALL = ['T', 'S', 'M1', 'M2', 'H', 'D1', 'D2', 'L', 'D3', 'E'];

function select(text: string, trace: TestTrace = TRACE): string[] {
  return selectSpans(parseSelector(text), trace).map((s) => LABELS[s.id] ?? s.id);
}

function problemOf(text: string): { message: string; offset: number } {
  try {
    parseSelector(text);
  } catch (err) {
    expect(err).toBeInstanceOf(SyntaxProblem);
    const p = err as SyntaxProblem;
    return { message: p.message, offset: p.offset };
  }
  throw new Error(`parsed: ${text}`);
}

describe('the fixture trace', () => {
  it('is in pre-order, children by start time', () => {
    expect(TRACE.spans.map((s) => LABELS[s.id])).toEqual(ALL);
  });
});

describe('parseSelector: the AST (upstream parser cases)', () => {
  it('a string property', () => {
    const [part] = parseSelector('span[service.name="Pokeshop"]').parts;
    expect(part!.filters).toEqual([
      {
        property: 'service.name',
        operator: '=',
        value: { type: 'string', value: 'Pokeshop' },
        expected: 'Pokeshop',
        offset: 5,
      },
    ]);
    expect(part!.pseudo).toBeNull();
    expect(part!.child).toBeNull();
  });

  it('an int property', () => {
    const filter = parseSelector('span[http.status_code=200]').parts[0]!.filters[0]!;
    expect(filter.value).toEqual({ type: 'int', value: 200n });
    expect(filter.expected).toBe('200');
  });

  it('several attributes, separated by spaces or commas', () => {
    for (const text of [
      'span[service.name="Pokeshop" tracetest.span.type="http"]',
      'span[service.name="Pokeshop", tracetest.span.type="http"]',
      'span[ service.name = "Pokeshop"\n\ttracetest.span.type="http" ]',
    ]) {
      const filters = parseSelector(text).parts[0]!.filters;
      expect(filters.map((f) => [f.property, f.expected])).toEqual([
        ['service.name', 'Pokeshop'],
        ['tracetest.span.type', 'http'],
      ]);
    }
  });

  it('the contains comparator', () => {
    const filter = parseSelector('span[service.name contains "api-"]').parts[0]!.filters[0]!;
    expect([filter.property, filter.operator, filter.expected]).toEqual(['service.name', 'contains', 'api-']);
  });

  it('nth_child', () => {
    const part = parseSelector('span[tracetest.span.type="http"]:nth_child(2)').parts[0]!;
    expect(part.pseudo).toEqual({ type: 'nth_child', n: 2 });
  });

  it('first and last', () => {
    expect(parseSelector('span[]:first').parts[0]!.pseudo).toEqual({ type: 'first' });
    expect(parseSelector('span[] : last').parts[0]!.pseudo).toEqual({ type: 'last' });
  });

  it('a hierarchy', () => {
    const part = parseSelector('span[service.name="Pokeshop"] span[tracetest.span.type="http"]').parts[0]!;
    expect(part.filters[0]!.property).toBe('service.name');
    expect(part.child!.filters[0]!.property).toBe('tracetest.span.type');
    expect(part.child!.filters[0]!.expected).toBe('http');
    expect(part.child!.offset).toBe(30);
  });

  it('several parts, with and without hierarchy', () => {
    const parts = parseSelector(
      'span[tracetest.span.type="http"], span[service.name="Pokeshop"] span[tracetest.span.type="grpc"]',
    ).parts;
    expect(parts).toHaveLength(2);
    expect(parts[0]!.child).toBeNull();
    expect(parts[1]!.filters[0]!.expected).toBe('Pokeshop');
    expect(parts[1]!.child!.filters[0]!.expected).toBe('grpc');
  });

  it('three levels and a pseudo-class on each', () => {
    const part = parseSelector('span[a=1]:first span[b=2]:last span[c=3]:nth_child(3)').parts[0]!;
    expect(part.pseudo).toEqual({ type: 'first' });
    expect(part.child!.pseudo).toEqual({ type: 'last' });
    expect(part.child!.child!.pseudo).toEqual({ type: 'nth_child', n: 3 });
  });

  it('no space is needed between levels', () => {
    expect(parseSelector('span[a=1]span[b=2]').parts[0]!.child!.filters[0]!.property).toBe('b');
  });

  it.each([
    ['', 0],
    ['   ', 0],
    ['span[]', 1],
    ['span[], span[]', 2],
  ])('%j has %i parts', (text, count) => {
    expect(parseSelector(text).parts).toHaveLength(count);
  });

  it('keeps the text', () => {
    expect(parseSelector('span[name="x"]').text).toBe('span[name="x"]');
  });
});

describe('parseSelector: values as the comparison sees them', () => {
  it.each([
    ['"Pokeshop"', 'Pokeshop'],
    [String.raw`"say \"hi\""`, 'say "hi"'],
    [String.raw`"a\\b"`, 'a\\b'],
    [String.raw`"tab\tnew\nline"`, 'tab\tnew\nline'],
    [String.raw`"\a\b\f\r\v"`, '\x07\x08\x0c\r\x0b'],
    [String.raw`"\u00c9mile"`, 'Émile'],
    [String.raw`"\U0001F600"`, '😀'],
    [String.raw`"\xc3\x89mile"`, 'Émile'],
    [String.raw`"\303\211mile"`, 'Émile'],
    [String.raw`"\x41"`, 'A'],
    ['"Émile"', 'Émile'],
    ['""', ''],
    ['200', '200'],
    ['0', '0'],
    ['0xc8', '200'],
    ['0XC8', '200'],
    ['0o310', '200'],
    ['0310', '200'],
    ['0b11001000', '200'],
    ['1_000', '1000'],
    ['9223372036854775807', '9223372036854775807'],
    ['0.5', '0.50'],
    ['1.5', '1.50'],
    ['1.', '1.00'],
    ['.5', '0.50'],
    ['2.675', '2.67'],
    ['0.125', '0.12'],
    ['0.375', '0.38'],
    ['1e3', '1000.00'],
    ['1.5e-1', '0.15'],
    ['true', 'true'],
    ['false', 'false'],
  ])('%s → %j', (literal, expected) => {
    expect(parseSelector(`span[x=${literal}]`).parts[0]!.filters[0]!.expected).toBe(expected);
  });

  it('keywords are names where a name is expected', () => {
    const filters = parseSelector('span[contains contains "x" span=true true="1"]').parts[0]!.filters;
    expect(filters.map((f) => [f.property, f.operator, f.expected])).toEqual([
      ['contains', 'contains', 'x'],
      ['span', '=', 'true'],
      ['true', '=', '1'],
    ]);
  });

  it('names may use letters beyond ASCII, digits after the first, and "_"', () => {
    expect(parseSelector('span[app.größe_2=1 _x=2]').parts[0]!.filters.map((f) => f.property)).toEqual([
      'app.größe_2',
      '_x',
    ]);
  });
});

describe('parseSelector: syntax errors (message and 0-based offset)', () => {
  it.each([
    ['span[name="x"', 'expected "]" at column 14', 13],
    ['span[tracetest.span.type="db" 5]', 'expected "]" at column 31', 30],
    ['span[name="x"]]', 'unexpected "]" at column 15; expected "span[", "," or the end', 14],
    ['span[] foo', 'unexpected "foo" at column 8; expected "span[", "," or the end', 7],
    ['span.tracetest.span.type="http"', 'expected "[" after "span" at column 5', 4],
    ['span name="x"]', 'expected "[" after "span" at column 6', 5],
    ['spam[name="x"]', 'expected "span" at column 1', 0],
    ['Span[]', 'expected "span" at column 1; write "span" in lowercase', 0],
    ['span[],', 'expected "span" at column 8', 7],
    ['span[], , span[]', 'expected "span" at column 9', 8],
    ['name="x"', 'expected "span" at column 1', 0],
    ['span[]:second', 'unknown pseudo-class ":second" at column 7; use :first, :last or :nth_child(n)', 6],
    ['span[]:', 'expected a pseudo-class after ":" at column 7; use :first, :last or :nth_child(n)', 6],
    ['span[]:nth_child', 'expected "(" after ":nth_child" at column 17', 16],
    ['span[]:nth_child(x)', 'expected an integer in :nth_child(…) at column 18', 17],
    ['span[]:nth_child(1.5)', 'expected an integer in :nth_child(…) at column 18', 17],
    ['span[]:nth_child(2', 'expected ")" at column 19', 18],
    ['span[]:first(1)', '":first" takes no argument at column 13', 12],
    ['span[]:first:last', 'only one pseudo-class is allowed per span[…] at column 13', 12],
    [
      'span[http.user-agent="curl/8.5.0"]',
      '"-" is not allowed in an attribute name at column 15; selectors cannot name "http.user-agent": select its span by other attributes and check it with attr:http.user-agent in an assertion',
      14,
    ],
    [
      'span[x-request-id="1"]',
      '"-" is not allowed in an attribute name at column 7; selectors cannot name "x-request-id": select its span by other attributes and check it with attr:x-request-id in an assertion',
      6,
    ],
    ['span[name!="x"]', 'operator "!=" is not supported at column 10; selectors compare with "=" or "contains"', 9],
    ['span[n > 1]', 'operator ">" is not supported at column 8; selectors compare with "=" or "contains"', 7],
    ['span[n >= 1]', 'operator ">=" is not supported at column 8; selectors compare with "=" or "contains"', 7],
    [
      'span[name not-contains "x"]',
      'operator "not-contains" is not supported at column 11; selectors compare with "=" or "contains"',
      10,
    ],
    ['span[name "x"]', 'expected "=" or "contains" at column 11', 10],
    ['span[name]', 'expected "=" or "contains" at column 10', 9],
    ['span[name=]', 'expected a value (a "string", a number, true or false) at column 11', 10],
    ['span[name=', 'expected a value (a "string", a number, true or false) at column 11', 10],
    ['span[name=x]', 'expected a value at column 11; quote text: "x"', 10],
    ["span[name='x']", 'single-quoted strings are not allowed at column 11; use double quotes', 10],
    ['span[name=`x`]', 'backquoted strings are not allowed at column 11; use double quotes', 10],
    ['span[n=-1]', 'negative numbers are not supported at column 8; quote the value: "-1"', 7],
    ['span[name="x]', 'string not terminated at column 11', 10],
    ['span[name="x\n"]', 'string not terminated at column 11', 10],
    [String.raw`span[name="a\qb"]`, String.raw`unknown escape sequence "\q" in string at column 13`, 12],
    [String.raw`span[name="a\'b"]`, String.raw`unknown escape sequence "\'" in string at column 13`, 12],
    [String.raw`span[name="\x4"]`, String.raw`escape \x needs 2 hexadecimal digits at column 12`, 11],
    [String.raw`span[name="\uD800"]`, String.raw`escape \uD800 is not a valid Unicode code point at column 12`, 11],
    [String.raw`span[name="\400"]`, String.raw`octal escape \400 is above \377 at column 12`, 11],
    [String.raw`span[name="\12"]`, 'octal escape needs 3 digits at column 12', 11],
    ['span[,name="x"]', 'expected an attribute name at column 6', 5],
    ['span[name="x",]', 'expected an attribute name at column 15', 14],
    ['span["name"="x"]', 'expected an attribute name at column 6; attribute names are not quoted', 5],
    ['span[2xx=1]', 'expected an attribute name at column 6; names start with a letter or "_"', 5],
    ['span[a.=1]', 'expected a name after "." at column 8', 7],
    ['span[a.5=1]', 'expected a name after "." at column 8; name parts start with a letter or "_"', 7],
    ['span[x=99999999999999999999]', 'integer 99999999999999999999 is out of range at column 8', 7],
    ['span[x=09]', 'invalid digit "9" in octal literal 09 at column 8', 7],
    ['span[x=1e999]', 'number 1e999 is out of range at column 8', 7],
    ['span[x=@]', 'expected a value (a "string", a number, true or false) at column 8', 7],
  ])('%j', (text, message, offset) => {
    expect(problemOf(text)).toEqual({ message, offset });
  });
});

describe('selectSpans (upstream selector cases, on the shop trace)', () => {
  it.each<[string, string, string[]]>([
    ['an empty selector selects every span', '', ALL],
    ['span[] selects every span', 'span[]', ALL],
    ['by span name', 'span[name="GET /books/:id"]', ['S']],
    ['name equals tracetest.span.name', 'span[tracetest.span.name="GET /books/:id"]', ['S']],
    ['by one attribute', 'span[service.name="tracetest"]', ['T']],
    ['by a resource attribute', 'span[service.version="1.4.0"]', ['S', 'M1', 'M2', 'H', 'D1', 'D2', 'L', 'D3', 'E']],
    ['several filters are ANDed', 'span[tracetest.span.type="database" db.system="postgresql"]', ['D1', 'D2', 'E']],
    ['comma between filters', 'span[tracetest.span.type="database", db.system="redis"]', ['D3']],
    ['contains', 'span[name contains "middleware"]', ['M1', 'M2']],
    ['contains on an attribute', 'span[db.statement contains "authors"]', ['D2']],
    ['escaped quotes', String.raw`span[db.statement contains "\"books\""]`, ['D1']],
    ['non-ASCII by escape', String.raw`span[author.name="\u00c9mile Zola"]`, ['D2']],
    ['by kind', 'span[kind="server"]', ['S']],
    ['kind client', 'span[kind="client"]', ['T', 'D1', 'D2', 'D3', 'E']],
    ['an int value matches the rendered int', 'span[http.status_code=200]', ['S']],
    ['an int value in hexadecimal', 'span[http.status_code=0xc8]', ['S']],
    ['an int attribute', 'span[books.count=3]', ['L']],
    ['a bool value', 'span[cache.hit=true]', ['L']],
    // A float literal renders with two decimals (Tracetest's %.2f): 1.5 is "1.50" and misses the attribute "1.5".
    ['a float literal renders as %.2f', 'span[books.ratio=1.5]', []],
    ['the attribute as a string', 'span[books.ratio="1.5"]', ['L']],
    ['a missing attribute is ""', 'span[db.system=""]', ['T', 'S', 'M1', 'M2', 'H', 'L']],
    ['contains "" matches every span', 'span[nothing.here contains ""]', ALL],
    ['no prototype keys', 'span[constructor=""]', ALL],
    ['status metadata', 'span[tracetest.span.status_code="STATUS_CODE_ERROR"]', ['E']],
    ['the trigger span', 'span[name="Tracetest trigger"]', ['T']],
    ['express spans are typed http', 'span[tracetest.span.type="http"]', ['S', 'M1', 'M2', 'H']],
    ['nothing', 'span[name="nope"]', []],
  ])('%s: %s', (_, text, expected) => {
    expect(select(text)).toEqual(expected);
  });

  it.each<[string, string, string[]]>([
    ['parts are concatenated', 'span[db.system="redis"], span[kind="server"]', ['D3', 'S']],
    [
      'parts are not de-duplicated',
      'span[tracetest.span.type="database"], span[db.system="postgresql"]',
      ['D1', 'D2', 'D3', 'E', 'D1', 'D2', 'E'],
    ],
    ['the same part twice', 'span[kind="server"], span[kind="server"]', ['S', 'S']],
  ])('union: %s', (_, text, expected) => {
    expect(select(text)).toEqual(expected);
  });

  it.each<[string, string, string[]]>([
    [
      'a child selector',
      'span[name="request handler - /books/:id"] span[tracetest.span.type="database"]',
      ['D1', 'D2'],
    ],
    [
      'descendants at any depth',
      'span[name="Tracetest trigger"] span[tracetest.span.type="database"]',
      ['D1', 'D2', 'D3', 'E'],
    ],
    [
      'span[] below selects all descendants',
      'span[kind="server" tracetest.span.type="http"] span[]',
      ['M1', 'M2', 'H', 'D1', 'D2', 'L', 'D3', 'E'],
    ],
    [
      'never the ancestor itself',
      'span[service.name="books"] span[service.name="books"]',
      ['M1', 'M2', 'H', 'D1', 'D2', 'L', 'D3', 'E'],
    ],
    ['a leaf has no descendants', 'span[db.system="redis"] span[]', []],
    [
      'a span below several matching parents counts once',
      'span[] span[tracetest.span.type="database"]',
      ['D1', 'D2', 'D3', 'E'],
    ],
    ['three levels', 'span[kind="server"] span[name contains "handler"] span[db.system="postgresql"]', ['D1', 'D2']],
    ['a child that is not below', 'span[db.system="redis"] span[name="GET /books/:id"]', []],
  ])('hierarchy: %s', (_, text, expected) => {
    expect(select(text)).toEqual(expected);
  });

  it.each<[string, string, string[]]>([
    [':first', 'span[tracetest.span.type="database"]:first', ['D1']],
    [':last', 'span[tracetest.span.type="database"]:last', ['E']],
    [':nth_child is 1-based', 'span[tracetest.span.type="database"]:nth_child(2)', ['D2']],
    [':nth_child(1)', 'span[tracetest.span.type="database"]:nth_child(1)', ['D1']],
    [':nth_child(0) selects nothing', 'span[tracetest.span.type="database"]:nth_child(0)', []],
    [':nth_child beyond the end selects nothing', 'span[tracetest.span.type="database"]:nth_child(5)', []],
    [':nth_child with a huge n', 'span[]:nth_child(9223372036854775807)', []],
    [':first of nothing', 'span[name="nope"]:first', []],
    [':last of every span', 'span[]:last', ['E']],
    // The pseudo-class on a child level applies per parent: the first database span under EACH internal span.
    [
      'a child pseudo applies per parent',
      'span[kind="internal"] span[tracetest.span.type="database"]:first',
      ['D1', 'D3'],
    ],
    ['a child :last per parent', 'span[kind="internal"] span[tracetest.span.type="database"]:last', ['D2', 'E']],
    // Quirk kept from Tracetest: a pseudo-class on a parent applies to the list of child results, not to the parents.
    [
      'a parent :last applies to the child results',
      'span[kind="internal"]:last span[tracetest.span.type="database"]',
      ['E'],
    ],
    [
      'a parent :first applies to the child results',
      'span[kind="internal"]:first span[tracetest.span.type="database"]',
      ['D1'],
    ],
    [
      'a parent :nth_child applies to the child results',
      'span[kind="internal"]:nth_child(3) span[tracetest.span.type="database"]',
      ['D3'],
    ],
    // Results stay in pre-order although the outer parent (S) contributes E before the inner one (H) contributes D2.
    [
      'nested parents keep pre-order',
      'span[service.name="books"] span[tracetest.span.type="database"]:last',
      ['D2', 'E'],
    ],
    // Only the descendants are searched: the first descendant, not the parent itself (which Tracetest then drops).
    ['span[] :first below a parent', 'span[name="request handler - /books/:id"] span[]:first', ['D1']],
    ['pseudo on both levels', 'span[kind="internal"]:last span[kind="client"]:first', ['D3']],
    [
      'pseudo in a union part only',
      'span[db.system="redis"], span[tracetest.span.type="database"]:first',
      ['D3', 'D1'],
    ],
  ])('pseudo-class: %s', (_, text, expected) => {
    expect(select(text)).toEqual(expected);
  });

  it('selects in pre-order however the store returned the spans', () => {
    const reversed = buildTestTrace(TRACE.traceId, [...SPANS].reverse());
    expect(select('span[tracetest.span.type="database"]', reversed)).toEqual(['D1', 'D2', 'D3', 'E']);
    expect(select('', reversed)).toEqual(ALL);
  });

  it("returns the trace's span objects", () => {
    const [s] = selectSpans(parseSelector('span[kind="server"]'), TRACE);
    expect(s).toBe(TRACE.byId.get('a000000000000001'));
  });

  it('works on a synthetic root (kind unespecified)', () => {
    const trace = buildTestTrace(
      TRACE.traceId,
      SPANS.filter((s) => s.name !== 'Tracetest trigger'),
    );
    expect(select('span[kind="unespecified"]', trace)).toEqual(['0000000000000000']);
    expect(select('span[name="Tracetest trigger"] span[kind="server"]', trace)).toEqual(['S']);
  });

  it('handles a deep trace', () => {
    const chain: Span[] = [];
    for (let i = 0; i < 5_000; i++) {
      const id = (i + 1).toString(16).padStart(16, '0');
      const parent = i === 0 ? null : i.toString(16).padStart(16, '0');
      chain.push(span(`c${i}`, id, parent, { startUs: T0 + i, attributes: { depth: i } }));
    }
    const deep = buildTestTrace(TRACE.traceId, chain);
    expect(select('span[depth=4999]', deep)).toEqual(['c4999']);
    expect(select('span[depth=10] span[]:last', deep)).toEqual(['c4999']);
    expect(select('span[depth=4990] span[]', deep)).toHaveLength(9);
  });
});

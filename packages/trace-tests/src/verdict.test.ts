import type { Span } from '@spyglass/protocol';
import { describe, expect, it } from 'vitest';
import type { TestOutput, TestSpecItem } from './resources/schema.js';
import { buildTestTrace } from './trace.js';
import { runOutputs, runSpecs } from './verdict.js';

const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const T0 = 1_714_557_600_000_000;

function span(id: string, parent: string | null, fields: Partial<Span>): Span {
  return {
    traceId: TRACE_ID,
    spanId: id,
    parentSpanId: parent,
    traceState: null,
    name: id,
    kind: 'internal',
    service: 'books',
    startUs: T0,
    durationUs: 100,
    status: { code: 'unset', message: '' },
    attributes: {},
    resource: { 'service.name': 'books' },
    scope: { name: 'manual', version: '' },
    events: [],
    links: [],
    dropped: { attributes: 0, events: 0, links: 0 },
    truncated: false,
    ...fields,
  };
}

const TRIGGER = 'f000000000000001';
const SERVER = 'a000000000000001';
const HANDLER = 'a000000000000002';
const DB_BOOKS = 'a000000000000003';
const DB_AUTHORS = 'a000000000000004';
const DB_REVIEWS = 'a000000000000005';

// POST /books answered 201 in 157 ms; of its three queries the second took 600 ms and the third failed.
const TRACE = buildTestTrace(TRACE_ID, [
  span(TRIGGER, null, {
    name: 'Tracetest trigger',
    kind: 'client',
    durationUs: 170_000,
    attributes: {
      'tracetest.response.status': '201',
      'tracetest.response.body': '{"id":42,"title":"Germinal"}',
    },
    resource: { 'service.name': 'tracetest' },
  }),
  span(SERVER, TRIGGER, {
    name: 'POST /books',
    kind: 'server',
    startUs: T0 + 1_000,
    durationUs: 157_000,
    attributes: { 'http.method': 'POST', 'http.route': '/books', 'http.status_code': 201 },
  }),
  span(HANDLER, SERVER, {
    name: 'request handler - /books',
    startUs: T0 + 1_100,
    durationUs: 150_000,
    attributes: { 'express.type': 'request_handler', 'http.route': '/books' },
  }),
  span(DB_BOOKS, HANDLER, {
    name: 'pg.query:INSERT shop',
    kind: 'client',
    startUs: T0 + 1_200,
    durationUs: 12_000,
    attributes: { 'db.system': 'postgresql', 'db.statement': 'INSERT INTO books (title) VALUES ($1)' },
  }),
  span(DB_AUTHORS, HANDLER, {
    name: 'pg.query:SELECT shop',
    kind: 'client',
    startUs: T0 + 14_000,
    durationUs: 600_000,
    attributes: { 'db.system': 'postgresql', 'db.statement': 'SELECT id FROM authors WHERE name = $1' },
  }),
  span(DB_REVIEWS, HANDLER, {
    name: 'pg.query:SELECT shop',
    kind: 'client',
    startUs: T0 + 20_000,
    durationUs: 2_000,
    status: { code: 'error', message: 'relation "reviews" does not exist' },
    attributes: { 'db.system': 'postgresql', 'db.statement': 'SELECT * FROM reviews' },
  }),
]);

const NO_VARIABLES = new Map<string, string>();
const NO_SPAN_ATTR = (name: string): string =>
  `resolution error: there are no matching spans to retrieve the attribute "${name}" from. To fix this error, create a selector matching at least one span.`;

function output(name: string, selector: string, value: string): TestOutput {
  return { name, selector, value };
}

describe('runOutputs', () => {
  it('takes the value from the first matching span in pre-order', () => {
    const [result] = runOutputs(
      [output('STATEMENT', 'span[tracetest.span.type="database"]', 'attr:db.statement')],
      TRACE,
      NO_VARIABLES,
    );
    expect(result).toEqual({ name: 'STATEMENT', value: 'INSERT INTO books (title) VALUES ($1)', spanId: DB_BOOKS });
  });

  it('reads the trigger response', () => {
    const [result] = runOutputs(
      [output('BOOK_ID', 'span[name="Tracetest trigger"]', "attr:tracetest.response.body | json_path '$.id'")],
      TRACE,
      NO_VARIABLES,
    );
    expect(result).toEqual({ name: 'BOOK_ID', value: '42', spanId: TRIGGER });
  });

  it('an empty selector means every span, so the root', () => {
    const [result] = runOutputs([output('ROOT', '', 'attr:tracetest.span.name')], TRACE, NO_VARIABLES);
    expect(result).toEqual({ name: 'ROOT', value: 'Tracetest trigger', spanId: TRIGGER });
  });

  it('sees the variables and the selected-span count', () => {
    const results = runOutputs(
      [
        output('WHO', '', 'var:USER'),
        output('QUERIES', 'span[tracetest.span.type="database"]', 'attr:tracetest.selected_spans.count'),
      ],
      TRACE,
      new Map([['USER', 'zola']]),
    );
    expect(results.map((r) => [r.name, r.value, r.spanId, r.error])).toEqual([
      ['WHO', 'zola', TRIGGER, undefined],
      ['QUERIES', '3', DB_BOOKS, undefined],
    ]);
  });

  it('a selector that matches nothing gives a span-less evaluation and says so', () => {
    const results = runOutputs(
      [output('MISSING', 'span[name="nope"]', 'attr:db.statement'), output('FIXED', 'span[name="nope"]', '"v1"')],
      TRACE,
      NO_VARIABLES,
    );
    expect(results[0]).toEqual({
      name: 'MISSING',
      value: '',
      spanId: null,
      error: `no span matched the selector "span[name="nope"]"; ${NO_SPAN_ATTR('db.statement')}`,
    });
    // A value that needs no span still resolves.
    expect(results[1]).toEqual({
      name: 'FIXED',
      value: 'v1',
      spanId: null,
      error: 'no span matched the selector "span[name="nope"]"',
    });
  });

  it('reports a missing attribute on the matched span', () => {
    const [result] = runOutputs([output('X', 'span[kind="server"]', 'attr:db.statement')], TRACE, NO_VARIABLES);
    expect(result).toMatchObject({
      name: 'X',
      spanId: SERVER,
      error: 'resolution error: attribute "db.statement" not found',
    });
  });

  it('reports a selector or a value that does not parse, without throwing', () => {
    const results = runOutputs(
      [output('BAD_SELECTOR', 'span[name="x"', 'attr:name'), output('BAD_VALUE', '', 'attr:x = 1')],
      TRACE,
      NO_VARIABLES,
    );
    expect(results[0]).toEqual({
      name: 'BAD_SELECTOR',
      value: '',
      spanId: null,
      error: 'invalid selector "span[name="x"": expected "]" at column 14',
    });
    expect(results[1]!.spanId).toBeNull();
    expect(results[1]!.error).toMatch(/^invalid syntax "attr:x = 1"/);
  });

  it('evaluates every output against the same variables, in order', () => {
    const results = runOutputs([output('A', '', '"a"'), output('B', '', 'var:A')], TRACE, NO_VARIABLES);
    expect(results.map((r) => r.name)).toEqual(['A', 'B']);
    expect(results[1]!.error).toBe('resolution error: variable "A" not found');
  });
});

function spec(selector: string, assertions: string[], name?: string): TestSpecItem {
  return name === undefined ? { selector, assertions } : { selector, assertions, name };
}

describe('runSpecs', () => {
  it('passes when every assertion passes on every selected span', () => {
    const [result] = runSpecs(
      [spec('span[kind="server"]', ['attr:http.status_code = 201', 'attr:tracetest.span.duration < 500ms'], 'API')],
      TRACE,
      NO_VARIABLES,
    );
    expect(result).toEqual({
      index: 0,
      selector: 'span[kind="server"]',
      name: 'API',
      spanIds: [SERVER],
      passed: true,
      assertions: [
        {
          assertion: 'attr:http.status_code = 201',
          passed: true,
          spans: [{ spanId: SERVER, observed: '201', passed: true }],
        },
        {
          assertion: 'attr:tracetest.span.duration < 500ms',
          passed: true,
          spans: [{ spanId: SERVER, observed: '157ms', passed: true }],
        },
      ],
    });
  });

  it('runs each assertion on each span and fails on the spans that fail', () => {
    const [result] = runSpecs(
      [
        spec('span[tracetest.span.type="database"]', [
          'attr:tracetest.span.duration < 500ms',
          'attr:db.system = "postgresql"',
        ]),
      ],
      TRACE,
      NO_VARIABLES,
    );
    expect(result!.spanIds).toEqual([DB_BOOKS, DB_AUTHORS, DB_REVIEWS]);
    expect(result!.passed).toBe(false);
    const [duration, system] = result!.assertions;
    expect(duration!.passed).toBe(false);
    expect(duration!.spans.map((s) => [s.spanId, s.observed, s.passed])).toEqual([
      [DB_BOOKS, '12ms', true],
      [DB_AUTHORS, '600ms', false],
      [DB_REVIEWS, '2ms', true],
    ]);
    expect(system!.passed).toBe(true);
    expect(system!.spans).toHaveLength(3);
  });

  it('sees the number of selected spans on every span', () => {
    const [result] = runSpecs(
      [spec('span[tracetest.span.type="database"]', ['attr:tracetest.selected_spans.count = 3'])],
      TRACE,
      NO_VARIABLES,
    );
    expect(result!.passed).toBe(true);
    expect(result!.assertions[0]!.spans.map((s) => s.observed)).toEqual(['3', '3', '3']);
  });

  it('with no selected span, runs each assertion once without a span', () => {
    const [result] = runSpecs(
      [
        spec('span[name="nope"]', [
          'attr:tracetest.selected_spans.count = 0',
          'attr:db.statement contains "SELECT"',
          'var:EXPECTED = "yes"',
        ]),
      ],
      TRACE,
      new Map([['EXPECTED', 'yes']]),
    );
    expect(result!.spanIds).toEqual([]);
    expect(result!.passed).toBe(false);
    const [count, attr, variable] = result!.assertions;
    expect(count).toEqual({
      assertion: 'attr:tracetest.selected_spans.count = 0',
      passed: true,
      spans: [{ spanId: null, observed: '0', passed: true }],
    });
    expect(attr!.passed).toBe(false);
    expect(attr!.spans).toHaveLength(1);
    expect(attr!.spans[0]).toMatchObject({ spanId: null, passed: false, error: NO_SPAN_ATTR('db.statement') });
    expect(variable!.passed).toBe(true);
  });

  it('uses outputs merged into the variables (outputs first)', () => {
    const outputs = runOutputs(
      [output('BOOK_ID', 'span[name="Tracetest trigger"]', "attr:tracetest.response.body | json_path '$.id'")],
      TRACE,
      NO_VARIABLES,
    );
    const variables = new Map(outputs.map((o) => [o.name, o.value]));
    const [result] = runSpecs(
      [spec('span[name="Tracetest trigger"]', ['attr:tracetest.response.body contains var:BOOK_ID'])],
      TRACE,
      variables,
    );
    expect(result!.passed).toBe(true);
  });

  it('keeps specs apart by index, also with the same selector', () => {
    const results = runSpecs(
      [
        spec('span[kind="server"]', ['attr:http.status_code = 201']),
        spec('span[kind="server"]', ['attr:http.status_code = 500']),
      ],
      TRACE,
      NO_VARIABLES,
    );
    expect(results.map((r) => [r.index, r.selector, r.passed])).toEqual([
      [0, 'span[kind="server"]', true],
      [1, 'span[kind="server"]', false],
    ]);
    expect(results[1]!.assertions[0]!.spans[0]).toEqual({ spanId: SERVER, observed: '201', passed: false });
  });

  it('fails an assertion that does not parse on every span', () => {
    const [result] = runSpecs(
      [spec('span[tracetest.span.type="database"]', ['db.system = "postgresql"'])],
      TRACE,
      NO_VARIABLES,
    );
    expect(result!.passed).toBe(false);
    expect(result!.assertions[0]!.spans).toHaveLength(3);
    for (const s of result!.assertions[0]!.spans) {
      expect(s.passed).toBe(false);
      expect(s.error).toMatch(/^invalid syntax "db\.system = \\?"postgresql\\?""/);
    }
  });

  it('fails a spec whose selector does not parse', () => {
    const [result] = runSpecs(
      [spec('span[]:second', ['attr:tracetest.selected_spans.count = 0'])],
      TRACE,
      NO_VARIABLES,
    );
    const error =
      'invalid selector "span[]:second": unknown pseudo-class ":second" at column 7; use :first, :last or :nth_child(n)';
    expect(result).toEqual({
      index: 0,
      selector: 'span[]:second',
      spanIds: [],
      passed: false,
      error,
      assertions: [
        {
          assertion: 'attr:tracetest.selected_spans.count = 0',
          passed: false,
          spans: [{ spanId: null, observed: '', passed: false, error }],
        },
      ],
    });
  });

  it('a failing status on the error span', () => {
    const [result] = runSpecs(
      [spec('span[tracetest.span.type="database"]:last', ['attr:tracetest.span.status_code = "STATUS_CODE_OK"'])],
      TRACE,
      NO_VARIABLES,
    );
    expect(result!.spanIds).toEqual([DB_REVIEWS]);
    expect(result!.assertions[0]!.spans).toEqual([
      { spanId: DB_REVIEWS, observed: 'STATUS_CODE_ERROR', passed: false },
    ]);
  });
});

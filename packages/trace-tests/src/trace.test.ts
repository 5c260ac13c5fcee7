import type { Span } from '@spyglass/protocol';
import { describe, expect, it } from 'vitest';
import type { TestTrace } from './model.js';
import { SYNTHETIC_ROOT_ID, buildTestTrace, spanType } from './trace.js';

const TRACE_ID = '0af7651916cd43dd8448eb211c80319c';
const T0 = 1_714_557_600_000_000; // 2024-05-01T10:00:00Z in µs

function span(id: string, parent: string | null, fields: Partial<Span> = {}): Span {
  return {
    traceId: TRACE_ID,
    spanId: id,
    parentSpanId: parent,
    traceState: null,
    name: `span ${id}`,
    kind: 'internal',
    service: 'shop',
    startUs: T0,
    durationUs: 1_000,
    status: { code: 'unset', message: '' },
    attributes: {},
    resource: { 'service.name': 'shop' },
    scope: { name: 'manual', version: '' },
    events: [],
    links: [],
    dropped: { attributes: 0, events: 0, links: 0 },
    truncated: false,
    ...fields,
  };
}

const id = (n: number): string => n.toString(16).padStart(16, '0');
const names = (trace: TestTrace): string[] => trace.spans.map((s) => s.name);

describe('attributes', () => {
  const server = span('b7ad6b7169203331', 'f000000000000001', {
    name: 'GET /books/:id',
    kind: 'server',
    service: 'shop',
    startUs: T0 + 1_234,
    durationUs: 157_321.5,
    status: { code: 'ok', message: '' },
    attributes: {
      'http.method': 'GET',
      'http.status_code': 200,
      'http.route': '/books/:id',
      'http.response_content_length': 1532,
      'app.ratio': 0.75,
      'app.cached': false,
      'app.tags': ['new', 'sale'],
      'app.user': { id: 7, plan: 'pro' },
      'app.big': '9007199254740993',
      'deployment.environment': 'dev',
    },
    resource: {
      'service.name': 'shop',
      'service.version': '1.4.0',
      'deployment.environment': 'production',
      'process.pid': 4242,
    },
  });
  const trace = buildTestTrace(TRACE_ID, [span('f000000000000001', null, { name: 'Tracetest trigger' }), server]);

  it("are the span's, then the resource's (later wins), rendered, with the metadata", () => {
    expect(trace.byId.get('b7ad6b7169203331')!.attributes).toEqual({
      'http.method': 'GET',
      'http.status_code': '200',
      'http.route': '/books/:id',
      'http.response_content_length': '1532',
      'app.ratio': '0.75',
      'app.cached': 'false',
      'app.tags': '["new","sale"]',
      'app.user': '{"id":7,"plan":"pro"}',
      'app.big': '9007199254740993',
      'deployment.environment': 'production',
      'service.name': 'shop',
      'service.version': '1.4.0',
      'process.pid': '4242',
      'tracetest.span.name': 'GET /books/:id',
      'tracetest.span.type': 'http',
      'tracetest.span.duration': '157321500',
      'tracetest.span.start_time': '1714557600001234000',
      'tracetest.span.end_time': '1714557600158555500',
      'tracetest.span.parent_id': 'f000000000000001',
      'tracetest.span.status_code': 'STATUS_CODE_OK',
      'span.events': '[]',
    });
  });

  it('take service.name from the resource, else the service the hub recorded', () => {
    const t = buildTestTrace(TRACE_ID, [
      span(id(1), null, { attributes: { 'service.name': 'from-span' }, resource: { 'service.name': 'checkout' } }),
      span(id(2), id(1), { service: 'unknown_service', resource: {}, attributes: { 'service.name': 'from-span' } }),
    ]);
    expect(t.byId.get(id(1))!.attributes['service.name']).toBe('checkout');
    expect(t.byId.get(id(2))!.attributes['service.name']).toBe('unknown_service');
  });

  it('metadata overrides attributes of the same name', () => {
    const t = buildTestTrace(TRACE_ID, [
      span(id(1), null, { name: 'real', attributes: { 'tracetest.span.name': 'fake' } }),
    ]);
    expect(t.byId.get(id(1))!.attributes['tracetest.span.name']).toBe('real');
  });

  it('times are exact Unix nanoseconds', () => {
    const t = buildTestTrace(TRACE_ID, [span(id(1), null, { startUs: 1_714_557_600_123_457, durationUs: 3 })]);
    const attrs = t.byId.get(id(1))!.attributes;
    expect(attrs['tracetest.span.start_time']).toBe('1714557600123457000');
    expect(attrs['tracetest.span.end_time']).toBe('1714557600123460000');
    expect(attrs['tracetest.span.duration']).toBe('3000');
  });

  it.each<[Span['status'], string, string | undefined]>([
    [{ code: 'unset', message: '' }, 'STATUS_CODE_UNSET', undefined],
    [{ code: 'ok', message: '' }, 'STATUS_CODE_OK', undefined],
    [{ code: 'error', message: 'connection refused' }, 'STATUS_CODE_ERROR', 'connection refused'],
    [{ code: 'error', message: '' }, 'STATUS_CODE_ERROR', undefined],
  ])('status %j', (status, code, description) => {
    const attrs = buildTestTrace(TRACE_ID, [span(id(1), null, { status })]).byId.get(id(1))!.attributes;
    expect(attrs['tracetest.span.status_code']).toBe(code);
    expect(attrs['tracetest.span.status_description']).toBe(description);
    expect(Object.hasOwn(attrs, 'tracetest.span.status_description')).toBe(description !== undefined);
  });

  it("span.events is Go's JSON of the events (timestamps RFC 3339, attribute keys sorted)", () => {
    const t = buildTestTrace(TRACE_ID, [
      span(id(1), null, {
        events: [
          {
            timeUs: T0 + 1_500,
            name: 'exception',
            attributes: { 'exception.type': 'TypeError', 'exception.message': 'x is undefined', 'app.retry': 2 },
          },
          { timeUs: T0 + 2_000_000, name: 'cache miss', attributes: {} },
        ],
      }),
    ]);
    expect(t.byId.get(id(1))!.attributes['span.events']).toBe(
      '[{"name":"exception","timestamp":"2024-05-01T10:00:00.0015Z","attributes":{"app.retry":"2","exception.message":"x is undefined","exception.type":"TypeError"}},' +
        '{"name":"cache miss","timestamp":"2024-05-01T10:00:02Z","attributes":{}}]',
    );
  });

  it.each<[Span['kind'], string]>([
    ['server', 'server'],
    ['client', 'client'],
    ['internal', 'internal'],
    ['producer', 'producer'],
    ['consumer', 'consumer'],
    ['unspecified', 'unespecified'],
  ])('kind %s → %s', (kind, expected) => {
    expect(buildTestTrace(TRACE_ID, [span(id(1), null, { kind })]).byId.get(id(1))!.kind).toBe(expected);
  });
});

describe('tracetest.span.type', () => {
  it.each<[string[], string]>([
    [['http.method', 'http.status_code'], 'http'],
    [['http.route', 'express.type'], 'http'],
    [['db.system', 'db.statement'], 'database'],
    [['rpc.system', 'rpc.service'], 'rpc'],
    [['messaging.system', 'messaging.destination'], 'messaging'],
    [['faas.trigger'], 'faas'],
    [['exception.type'], 'exception'],
    [['app.order_id', 'service.name'], 'general'],
    [[], 'general'],
    // Several prefixes: a fixed priority (Tracetest's pick depends on Go's map order).
    [['db.statement', 'http.url'], 'http'],
    [['exception.type', 'messaging.system', 'rpc.method'], 'rpc'],
    [['faas.name', 'exception.type'], 'faas'],
    [['messaging.system', 'db.system'], 'database'],
    // A prefix, not a substring.
    [['myhttp.x', 'xdb.y'], 'general'],
  ])('%j → %s', (keys, expected) => {
    expect(spanType(keys)).toBe(expected);
  });

  it('looks at resource attributes too', () => {
    const t = buildTestTrace(TRACE_ID, [
      span(id(1), null, { resource: { 'service.name': 'fn', 'faas.name': 'resize' } }),
    ]);
    expect(t.byId.get(id(1))!.attributes['tracetest.span.type']).toBe('faas');
  });
});

describe('the tree', () => {
  it('uses a single "Tracetest trigger" root as the root', () => {
    const t = buildTestTrace(TRACE_ID, [
      span(id(2), id(1), { name: 'GET /', startUs: T0 + 10 }),
      span(id(1), null, { name: 'Tracetest trigger', startUs: T0 }),
      span(id(3), id(2), { name: 'db', startUs: T0 + 20 }),
    ]);
    expect(t.root.id).toBe(id(1));
    expect(t.root.parentId).toBeNull();
    expect(names(t)).toEqual(['Tracetest trigger', 'GET /', 'db']);
    expect(t.root.children.map((c) => c.id)).toEqual([id(2)]);
    expect(t.byId.get(id(3))!.parentId).toBe(id(2));
    expect(Object.hasOwn(t.root.attributes, 'tracetest.span.parent_id')).toBe(false);
  });

  it('puts a synthetic "Tracetest trigger" above an app root', () => {
    const t = buildTestTrace(TRACE_ID, [
      span(id(1), null, { name: 'GET /', startUs: T0 + 100, durationUs: 5_000 }),
      span(id(2), id(1), { name: 'db', startUs: T0 + 200 }),
    ]);
    expect(t.root).toMatchObject({
      id: SYNTHETIC_ROOT_ID,
      parentId: null,
      name: 'Tracetest trigger',
      kind: 'unespecified',
      startUs: T0 + 100,
      durationUs: 5_000,
    });
    expect(t.root.attributes).toEqual({
      'service.name': 'tracetest',
      'tracetest.span.name': 'Tracetest trigger',
      'tracetest.span.type': 'general',
      'tracetest.span.duration': '5000000',
      'tracetest.span.start_time': '1714557600000100000',
      'tracetest.span.end_time': '1714557600005100000',
      'tracetest.span.status_code': 'STATUS_CODE_UNSET',
      'span.events': '[]',
    });
    expect(names(t)).toEqual(['Tracetest trigger', 'GET /', 'db']);
    const app = t.byId.get(id(1))!;
    expect(app.parentId).toBe(SYNTHETIC_ROOT_ID);
    expect(app.attributes['tracetest.span.parent_id']).toBe(SYNTHETIC_ROOT_ID);
    expect(t.byId.get(SYNTHETIC_ROOT_ID)).toBe(t.root);
  });

  it('puts one synthetic root above several roots, ordered by start', () => {
    const t = buildTestTrace(TRACE_ID, [
      span(id(1), null, { name: 'late root', startUs: T0 + 500, durationUs: 1_000 }),
      span(id(2), null, { name: 'early root', startUs: T0 + 100, durationUs: 100 }),
      span(id(3), id(1), { name: 'child of late', startUs: T0 + 600 }),
    ]);
    expect(t.root.id).toBe(SYNTHETIC_ROOT_ID);
    expect(t.root.children.map((c) => c.name)).toEqual(['early root', 'late root']);
    expect(names(t)).toEqual(['Tracetest trigger', 'early root', 'late root', 'child of late']);
    expect(t.root.startUs).toBe(T0 + 100);
    expect(t.root.durationUs).toBe(1_400);
  });

  it('treats spans whose parent never arrived as roots', () => {
    const t = buildTestTrace(TRACE_ID, [
      span(id(1), null, { name: 'GET /', startUs: T0 }),
      span(id(2), 'deadbeefdeadbeef', { name: 'orphan', startUs: T0 + 50 }),
    ]);
    expect(t.root.id).toBe(SYNTHETIC_ROOT_ID);
    expect(t.root.children.map((c) => c.name)).toEqual(['GET /', 'orphan']);
    const orphan = t.byId.get(id(2))!;
    expect(orphan.parentId).toBe(SYNTHETIC_ROOT_ID);
    // The span's own parent id stays what it said.
    expect(orphan.attributes['tracetest.span.parent_id']).toBe('deadbeefdeadbeef');
  });

  it('hangs other roots under the trigger span when the trace has one', () => {
    const t = buildTestTrace(TRACE_ID, [
      span(id(9), 'deadbeefdeadbeef', { name: 'orphan', startUs: T0 - 10 }),
      span(id(1), null, { name: 'Tracetest trigger', startUs: T0 }),
      span(id(2), id(1), { name: 'GET /', startUs: T0 + 10 }),
      span(id(3), null, { name: 'worker job', startUs: T0 + 20 }),
    ]);
    expect(t.root.id).toBe(id(1));
    expect(t.byId.has(SYNTHETIC_ROOT_ID)).toBe(false);
    expect(t.root.children.map((c) => c.name)).toEqual(['orphan', 'GET /', 'worker job']);
    expect(t.byId.get(id(9))!.parentId).toBe(id(1));
    expect(t.byId.get(id(9))!.attributes['tracetest.span.parent_id']).toBe('deadbeefdeadbeef');
    expect(t.byId.get(id(3))!.attributes['tracetest.span.parent_id']).toBe(id(1));
  });

  it('with two trigger roots, the earlier is the root', () => {
    const t = buildTestTrace(TRACE_ID, [
      span(id(2), null, { name: 'Tracetest trigger', startUs: T0 + 5 }),
      span(id(1), null, { name: 'Tracetest trigger', startUs: T0 }),
    ]);
    expect(t.root.id).toBe(id(1));
    expect(t.root.children.map((c) => c.id)).toEqual([id(2)]);
  });

  it('orders children by start time, ties in input order', () => {
    const t = buildTestTrace(TRACE_ID, [
      span(id(1), null, { name: 'Tracetest trigger' }),
      span(id(5), id(1), { name: 'c', startUs: T0 + 30 }),
      span(id(3), id(1), { name: 'a2', startUs: T0 + 10 }),
      span(id(2), id(1), { name: 'a1', startUs: T0 + 10 }),
      span(id(4), id(1), { name: 'b', startUs: T0 + 20 }),
      span(id(6), id(3), { name: 'a2 child', startUs: T0 + 11 }),
    ]);
    expect(names(t)).toEqual(['Tracetest trigger', 'a2', 'a2 child', 'a1', 'b', 'c']);
  });

  it('breaks parent cycles and keeps every span', () => {
    const t = buildTestTrace(TRACE_ID, [
      span(id(1), null, { name: 'Tracetest trigger' }),
      span(id(2), id(3), { name: 'x', startUs: T0 + 1 }),
      span(id(3), id(2), { name: 'y', startUs: T0 + 2 }),
      span(id(4), id(4), { name: 'self', startUs: T0 + 3 }),
    ]);
    expect(t.spans).toHaveLength(4);
    expect(t.root.id).toBe(id(1));
    const x = t.byId.get(id(2))!;
    const y = t.byId.get(id(3))!;
    // One of the two becomes a root below the trigger, the other stays its child.
    expect([x.parentId, y.parentId].sort()).toEqual([id(1), id(2)].sort());
    expect(t.byId.get(id(4))!.parentId).toBe(id(1));
  });

  it('keeps the first of duplicate span ids', () => {
    const t = buildTestTrace(TRACE_ID, [span(id(1), null, { name: 'first' }), span(id(1), null, { name: 'second' })]);
    expect(t.spans.filter((s) => s.id === id(1)).map((s) => s.name)).toEqual(['first']);
  });

  it('makes a root alone of an empty trace', () => {
    const t = buildTestTrace(TRACE_ID, []);
    expect(t.traceId).toBe(TRACE_ID);
    expect(t.spans).toEqual([t.root]);
    expect(t.root).toMatchObject({ id: SYNTHETIC_ROOT_ID, name: 'Tracetest trigger', startUs: 0, durationUs: 0 });
  });

  it('lists every span in pre-order with byId', () => {
    const spans = [
      span(id(1), null, { name: 'Tracetest trigger' }),
      span(id(2), id(1), { startUs: T0 + 1 }),
      span(id(3), id(2), { startUs: T0 + 2 }),
      span(id(4), id(1), { startUs: T0 + 3 }),
      span(id(5), id(4), { startUs: T0 + 4 }),
    ];
    const t = buildTestTrace(TRACE_ID, spans);
    expect(t.spans.map((s) => s.id)).toEqual([id(1), id(2), id(3), id(4), id(5)]);
    expect([...t.byId.keys()].sort()).toEqual(spans.map((s) => s.spanId).sort());
    for (const s of t.spans) for (const c of s.children) expect(c.parentId).toBe(s.id);
  });

  it('handles a deep chain without recursion limits', () => {
    const spans = [span(id(1), null, { name: 'Tracetest trigger' })];
    for (let i = 2; i <= 20_000; i++) spans.push(span(id(i), id(i - 1), { startUs: T0 + i }));
    const t = buildTestTrace(TRACE_ID, spans);
    expect(t.spans).toHaveLength(20_000);
    expect(t.spans[19_999]!.id).toBe(id(20_000));
  });
});

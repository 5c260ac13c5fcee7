import type { Span } from '@spyglass/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { convertExportRequest } from '../../otlp/convert.js';
import { DEFAULT_SPAN_LIMITS } from '../../traces/span-data.js';
import { toJaegerTrace } from '../../traces/jaeger.js';
import { jaegerSource } from './jaeger.js';
import { spansFromRows } from './source.js';
import { fixture, serve, testPolicy, type Served } from './testing.js';

const TRACE = '83a9efd15c1c98a977e0711cc93ee28b';
const signal = new AbortController().signal;
const byName = (spans: Span[], name: string): Span => {
  const s = spans.find((x) => x.name === name);
  if (s === undefined) throw new Error(`no span ${name}`);
  return s;
};

describe('jaegerSource over the HTTP JSON API', () => {
  let jaeger: Served;
  const answers = new Map<string, { status: number; body: string; type?: string }>();

  beforeAll(async () => {
    jaeger = await serve((req, res) => {
      const a = answers.get(req.url ?? '') ?? { status: 404, body: fixture('jaeger-not-found.json') };
      res.writeHead(a.status, { 'content-type': a.type ?? 'application/json' }).end(a.body);
    });
    answers.set(`/api/traces/${TRACE}`, { status: 200, body: fixture('jaeger-otel-trace.json') });
    answers.set('/jaeger/api/traces/00000000000000000000000000000001', {
      status: 200,
      body: fixture('jaeger-ui-model.json'),
    });
  });
  afterAll(() => jaeger.close());

  const source = (endpoint = jaeger.url) => jaegerSource({ endpoint }, { policy: testPolicy() });

  it('reads an OTLP-born trace: ids, parents, services, kinds, statuses, scopes, typed tags and logs', async () => {
    const spans = await source().fetch(TRACE, signal);
    expect(jaeger.requests.at(-1)).toMatchObject({ method: 'GET', url: `/api/traces/${TRACE}` });
    expect(jaeger.requests.at(-1)?.headers.accept).toBe('application/json');
    // Oldest first.
    expect(spans.map((s) => s.name)).toEqual([
      'GET /cart',
      'HTTP GET /prices',
      'SELECT carts',
      'render cart',
      'cart.updated publish',
    ]);
    expect(spans.every((s) => s.traceId === TRACE)).toBe(true);

    const root = byName(spans, 'GET /cart');
    expect(root).toMatchObject({
      spanId: '909541b92cf05311',
      parentSpanId: null,
      service: 'frontend',
      kind: 'server',
      status: { code: 'unset', message: '' },
      startUs: 1706678909209000,
      durationUs: 4210,
      scope: { name: '@opentelemetry/instrumentation-http', version: '0.52.1' },
      resource: {
        'service.name': 'frontend',
        'telemetry.sdk.language': 'nodejs',
        'telemetry.sdk.name': 'opentelemetry',
        'host.name': 'web-7c9f',
        'process.pid': 4711,
      },
      events: [{ timeUs: 1706678909209500, name: 'cache miss', attributes: { 'cache.key': 'cart:42' } }],
      links: [],
    });
    // Tags that carried the span's model are consumed; the rest keep their types.
    expect(root.attributes).toEqual({
      'http.method': 'GET',
      'http.route': '/cart',
      'http.status_code': 200,
      'net.host.port': 8080,
      'internal.span.format': 'otlp',
    });

    const db = byName(spans, 'SELECT carts');
    expect(db).toMatchObject({
      spanId: 'e127af99e3b3e074',
      parentSpanId: '909541b92cf05311',
      service: 'cart',
      kind: 'client',
      status: { code: 'error', message: 'connection reset by peer' },
      scope: { name: '@opentelemetry/instrumentation-pg', version: '' },
      resource: { 'service.name': 'cart', 'telemetry.sdk.language': 'nodejs' },
    });
    expect(db.attributes).toEqual({
      'db.system': 'postgresql',
      'db.statement': 'SELECT * FROM carts WHERE id = $1',
      'db.rows': 0,
      'pool.ratio': 0.25,
    });
    expect(db.events).toEqual([
      {
        timeUs: 1706678909210900,
        name: 'exception',
        attributes: {
          'exception.type': 'Error',
          'exception.message': 'connection reset by peer',
          'exception.escaped': false,
        },
      },
    ]);

    const render = byName(spans, 'render cart');
    expect(render).toMatchObject({
      parentSpanId: '909541b92cf05311',
      kind: 'internal',
      status: { code: 'ok', message: '' },
      traceState: 'shop=render',
      attributes: { 'template.cached': true },
      // A reference into another trace is a link, as Jaeger's translator makes it.
      links: [
        {
          traceId: '0af7651916cd43dd8448eb211c80319c',
          spanId: 'b7ad6b7169203331',
          traceState: null,
          attributes: { 'opentracing.ref_type': 'follows_from' },
        },
      ],
    });

    // Only a FOLLOWS_FROM reference into the trace: it is the parent.
    const publish = byName(spans, 'cart.updated publish');
    expect(publish).toMatchObject({
      parentSpanId: 'e127af99e3b3e074',
      kind: 'producer',
      links: [],
      attributes: { 'messaging.system': 'kafka', 'messaging.message.id': 'AAAwOQ==' },
    });

    // A Jaeger-client span: no kind tag, status from its HTTP code, process tags as resource.
    const prices = byName(spans, 'HTTP GET /prices');
    expect(prices).toMatchObject({
      service: 'prices',
      kind: 'unspecified',
      status: { code: 'error', message: '' },
      attributes: { component: 'net/http', 'http.status_code': 503, 'sampler.type': 'const' },
      resource: { 'service.name': 'prices', 'jaeger.version': 'Go-2.30.0', hostname: 'prices-1' },
    });
  });

  it('reads the model as Jaeger writes it for 64-bit ids, under a base path', async () => {
    const id = '00000000000000000000000000000001';
    const spans = await source(`${jaeger.url}/jaeger/`).fetch(id, signal);
    expect(jaeger.requests.at(-1)?.url).toBe(`/jaeger/api/traces/${id}`);
    // Short span ids are padded; the answer's second span with an id already seen is left out.
    expect(spans.map((s) => [s.spanId, s.parentSpanId, s.service])).toEqual([
      ['0000000000000002', null, 'service-x'],
      ['0000000000000003', '0000000000000002', 'service-y'],
      ['0000000000000004', '0000000000000002', 'service-y'],
      ['0000000000000005', '0000000000000004', 'service-y'],
    ]);
    const first = spans[0]!;
    expect(first.events).toEqual([
      { timeUs: 1485467191639875, name: 'some-event', attributes: {} },
      { timeUs: 1485467191639875, name: '', attributes: { x: 'y' } },
    ]);
    const three = spans[1]!;
    expect(three.status.code).toBe('error');
    expect(three.attributes).toEqual({ 'peer.service': 'service-x' });
    // The parent is the CHILD_OF into this trace; the reference into another trace and the FOLLOWS_FROM stay links.
    expect(spans[2]!.links).toEqual([
      {
        traceId: '000000000000000000000000000000ff',
        spanId: '00000000000000ff',
        traceState: null,
        attributes: { 'opentracing.ref_type': 'child_of' },
      },
      {
        traceId: id,
        spanId: '0000000000000002',
        traceState: null,
        attributes: { 'opentracing.ref_type': 'follows_from' },
      },
    ]);
  });

  it('answers no spans while Jaeger says the trace is not found', async () => {
    await expect(source().fetch('0af7651916cd43dd8448eb211c80319c', signal)).resolves.toEqual([]);
  });

  it('fails clearly on errors, HTML and bodies that are not JSON', async () => {
    answers.set('/api/traces/11111111111111111111111111111111', {
      status: 500,
      body: '{"data":null,"total":0,"limit":0,"offset":0,"errors":[{"code":500,"msg":"cassandra: no hosts available"}]}',
    });
    answers.set('/api/traces/22222222222222222222222222222222', {
      status: 200,
      type: 'text/html',
      body: '<!doctype html><html><head><title>Jaeger UI</title></head></html>',
    });
    answers.set('/api/traces/33333333333333333333333333333333', { status: 200, body: '{"traces":[]}' });
    answers.set('/api/traces/44444444444444444444444444444444', {
      status: 404,
      type: 'text/html',
      body: '<html>404 page not found</html>',
    });
    await expect(source().fetch('11111111111111111111111111111111', signal)).rejects.toThrow(
      `jaeger at ${jaeger.url}/api/traces/11111111111111111111111111111111 answered 500: cassandra: no hosts available`,
    );
    await expect(source().fetch('22222222222222222222222222222222', signal)).rejects.toThrow(
      /answered 200 with a body that is not JSON: <!doctype html>/,
    );
    await expect(source().fetch('33333333333333333333333333333333', signal)).rejects.toThrow(
      /answered JSON that is not Jaeger's trace answer/,
    );
    await expect(source().fetch('44444444444444444444444444444444', signal)).rejects.toThrow(
      /answered 404: <html>404 page not found<\/html>/,
    );
  });

  it('bounds the answer and the wait', async () => {
    const big = jaegerSource({ endpoint: jaeger.url }, { policy: testPolicy(), maxAnswerBytes: 1000 });
    await expect(big.fetch(TRACE, signal)).rejects.toThrow(
      /jaeger at .* answered more than 1000 bytes; the trace is too large to poll/,
    );
    const slow = await serve(() => undefined);
    try {
      const s = jaegerSource({ endpoint: slow.url }, { policy: testPolicy(), timeoutMs: 200 });
      await expect(s.fetch(TRACE, signal)).rejects.toThrow(/could not be reached: no answer within 200 ms/);
    } finally {
      await slow.close();
    }
  });

  it('sends credentials written in the URL as Basic auth, not in the request line', async () => {
    await source(`http://ops:s3cret@127.0.0.1:${jaeger.port}`).fetch(TRACE, signal);
    const req = jaeger.requests.at(-1)!;
    expect(req.headers.authorization).toBe(`Basic ${Buffer.from('ops:s3cret').toString('base64')}`);
    expect(req.headers.host).toBe(`127.0.0.1:${jaeger.port}`);
  });

  it('reads api_v3 over HTTP when the endpoint ends in /api/v3', async () => {
    answers.set(`/api/v3/traces/${TRACE}`, { status: 200, body: fixture('jaeger-v3-trace.json') });
    const spans = await source(`${jaeger.url}/api/v3`).fetch(TRACE, signal);
    expect(spans.map((s) => [s.name, s.kind, s.parentSpanId, s.status.code, s.service])).toEqual([
      ['lets-go', 'client', null, 'unset', 'telemetrygen'],
      ['okey-dokey-0', 'server', '909541b92cf05311', 'error', 'telemetrygen'],
    ]);
    // Streamed in chunks: one {"result":…} per line.
    const [a, b] = (JSON.parse(fixture('jaeger-v3-trace.json')) as { result: { resourceSpans: unknown[] } }).result
      .resourceSpans;
    const split = JSON.parse(JSON.stringify(a)) as { scopeSpans: { spans: unknown[] }[] };
    const second = { ...split, scopeSpans: [{ ...split.scopeSpans[0], spans: split.scopeSpans[0]!.spans.slice(1) }] };
    split.scopeSpans[0]!.spans = split.scopeSpans[0]!.spans.slice(0, 1);
    expect(b).toBeUndefined();
    answers.set(`/api/v3/traces/${TRACE}`, {
      status: 200,
      body: `${JSON.stringify({ result: { resourceSpans: [split] } })}\n${JSON.stringify({ result: { resourceSpans: [second] } })}\n`,
    });
    expect((await source(`${jaeger.url}/api/v3`).fetch(TRACE, signal)).map((s) => s.name)).toEqual([
      'lets-go',
      'okey-dokey-0',
    ]);
    answers.set(`/api/v3/traces/${TRACE}`, {
      status: 404,
      body: '{"error":{"httpCode":404,"message":"trace not found"}}',
    });
    await expect(source(`${jaeger.url}/api/v3`).fetch(TRACE, signal)).resolves.toEqual([]);
  });

  it('refuses endpoints it cannot read', () => {
    expect(() => jaegerSource({ endpoint: 'jaeger' }, { policy: testPolicy() })).toThrow(
      /jaeger endpoint "jaeger" is neither host:port \(gRPC query API, usually port 16685\) nor an http\(s\) URL/,
    );
    expect(() => jaegerSource({ endpoint: 'ftp://jaeger:21' }, { policy: testPolicy() })).toThrow(/neither host:port/);
  });
});

describe('jaegerSource reads back what the hub’s own Jaeger-compatible API writes', () => {
  it('keeps ids, parents, kinds, statuses, scopes, resources, events, trace state and typed attributes', async () => {
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    const kv = (key: string, value: Record<string, unknown>) => ({ key, value });
    const rows = convertExportRequest(
      {
        resourceSpans: [
          {
            resource: {
              attributes: [kv('service.name', { stringValue: 'shop' }), kv('host.name', { stringValue: 'h1' })],
            },
            scopeSpans: [
              {
                scope: { name: 'shop-http', version: '1.2.0' },
                spans: [
                  {
                    traceId,
                    spanId: '00f067aa0ba902b7',
                    name: 'POST /orders',
                    kind: 2,
                    startTimeUnixNano: '1700000000000000000',
                    endTimeUnixNano: '1700000000120000000',
                    traceState: 'shop=1',
                    attributes: [
                      kv('http.status_code', { intValue: '201' }),
                      kv('ratio', { doubleValue: 0.75 }),
                      kv('cached', { boolValue: false }),
                    ],
                    events: [
                      {
                        timeUnixNano: '1700000000010000000',
                        name: 'validated',
                        attributes: [kv('items', { intValue: 3 })],
                      },
                    ],
                    status: { code: 1 },
                  },
                  {
                    traceId,
                    spanId: '53995c3f42cd8ad8',
                    parentSpanId: '00f067aa0ba902b7',
                    name: 'INSERT orders',
                    kind: 3,
                    startTimeUnixNano: '1700000000020000000',
                    endTimeUnixNano: '1700000000090000000',
                    attributes: [kv('db.system', { stringValue: 'postgresql' })],
                    status: { code: 2, message: 'duplicate key' },
                  },
                ],
              },
            ],
          },
        ],
      },
      DEFAULT_SPAN_LIMITS,
      null,
    ).rows;
    const original = spansFromRows(rows, traceId, 100);
    const hubApi = await serve((_req, res) =>
      res
        .writeHead(200, { 'content-type': 'application/json' })
        .end(JSON.stringify({ data: [toJaegerTrace(traceId, original)], total: 1, limit: 0, offset: 0, errors: null })),
    );
    try {
      const read = await jaegerSource({ endpoint: `${hubApi.url}/api/jaeger` }, { policy: testPolicy() }).fetch(
        traceId,
        signal,
      );
      expect(hubApi.requests[0]!.url).toBe(`/api/jaeger/api/traces/${traceId}`);
      expect(read).toEqual(original);
    } finally {
      await hubApi.close();
    }
  });
});

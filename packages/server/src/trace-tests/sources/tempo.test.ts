import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeRequest } from '../../otlp/testing/reference.js';
import { tempoResourceSpans, tempoSource } from './tempo.js';
import { fixture, serve, testPolicy, type Served } from './testing.js';

const OLD_TRACE = '000000000000000060ba2abb44f13eae';
const NEW_TRACE = '3149195ffb0bec05347b48efe8ecc1b0';
const signal = new AbortController().signal;

describe('tempoSource over HTTP', () => {
  let tempo: Served;
  const answers = new Map<string, { status: number; body: string | Buffer; type: string }>();

  beforeAll(async () => {
    tempo = await serve((req, res) => {
      const a = answers.get(req.url ?? '') ?? { status: 404, body: 'trace not found', type: 'text/plain' };
      res.writeHead(a.status, { 'content-type': a.type }).end(a.body);
    });
    answers.set(`/api/traces/${OLD_TRACE}`, {
      status: 200,
      body: fixture('tempo-batches.json'),
      type: 'application/json',
    });
    answers.set(`/tempo/api/traces/${NEW_TRACE}`, {
      status: 200,
      body: fixture('tempo-resource-spans.json'),
      type: 'application/json',
    });
  });
  afterAll(() => tempo.close());

  const source = (url: string, headers?: Record<string, string>) =>
    tempoSource(
      { type: 'http', http: { url, ...(headers === undefined ? {} : { headers }) } },
      { policy: testPolicy() },
    );

  it('reads the older answer: batches, instrumentationLibrarySpans, base64 ids, enum names', async () => {
    // Scheme-less, as Tracetest's examples write it.
    const spans = await source(`127.0.0.1:${tempo.port}`).fetch(OLD_TRACE, signal);
    expect(tempo.requests.at(-1)?.headers.accept).toBe('application/json');
    expect(spans).toHaveLength(2);
    const [client, server] = spans;
    expect(client).toMatchObject({
      traceId: OLD_TRACE,
      spanId: '398f0f21a3db99ae',
      parentSpanId: null,
      name: 'HTTP Client',
      kind: 'client',
      service: 'app',
      status: { code: 'ok', message: '' },
      scope: { name: 'tns', version: '0.1' },
      startUs: 1627471657255000,
      durationUs: 2000,
      resource: { 'service.name': 'app', job: 'tns/app' },
      events: [{ timeUs: 1627471657255500, name: 'GetConn', attributes: { host: 'db:80' } }],
    });
    expect(server).toMatchObject({
      spanId: '726b5e30102fc0d0',
      parentSpanId: '398f0f21a3db99ae',
      name: 'HTTP GET - root',
      kind: 'server',
      service: 'db',
      status: { code: 'unset', message: '' },
      durationUs: 459,
      attributes: { 'http.status_code': 200, 'http.method': 'GET', 'http.url': '/', component: 'net/http' },
      resource: { 'opencensus.exporterversion': 'Jaeger-Go-2.22.1', 'host.name': '63d16772b4a2' },
    });
  });

  it('reads the newer answer (resourceSpans) under a base path, with the configured headers', async () => {
    const spans = await source(`${tempo.url}/tempo/`, { 'X-Scope-OrgID': 'team-a', Authorization: 'Bearer t0k' }).fetch(
      NEW_TRACE,
      signal,
    );
    const req = tempo.requests.at(-1)!;
    expect(req.url).toBe(`/tempo/api/traces/${NEW_TRACE}`);
    expect(req.headers['x-scope-orgid']).toBe('team-a');
    expect(req.headers.authorization).toBe('Bearer t0k');
    expect(spans.map((s) => [s.spanId, s.parentSpanId, s.kind, s.status.code])).toEqual([
      ['4b23de25d1fb6641', null, 'unspecified', 'unset'],
      ['3ef58fd67f3c3c44', '4b23de25d1fb6641', 'consumer', 'error'],
    ]);
    expect(spans[0]!.attributes).toEqual({
      'http.method': 'GET',
      'http.status_code': 110,
      'vulture-ratio': 0.5,
      'vulture-flags': [true, 3],
    });
    expect(spans[0]!.events).toEqual([
      { timeUs: 1636729665000000, name: '', attributes: { 'vulture-event-0': 'DCFUOSpzttNPFn' } },
    ]);
    expect(spans[1]!.status.message).toBe('queue drained');
    expect(spans[1]!.links).toEqual([
      { traceId: OLD_TRACE, spanId: '726b5e30102fc0d0', traceState: null, attributes: {} },
    ]);
    expect(spans[1]!.resource).toEqual({
      'service.name': 'tempo-vulture',
      'k8s.namespace.name': 'tracing',
      'vulture-process-int-1': 164005,
    });
  });

  it('reads the v2 shape and a protobuf answer', async () => {
    const newer = JSON.parse(fixture('tempo-resource-spans.json')) as { resourceSpans: unknown[] };
    const id = 'aa'.repeat(16);
    const v2 = JSON.parse(
      JSON.stringify(newer).replaceAll('MUkZX/sL7AU0e0jv6OzBsA==', Buffer.from(id, 'hex').toString('base64')),
    ) as {
      resourceSpans: unknown[];
    };
    answers.set(`/api/traces/${id}`, {
      status: 200,
      body: JSON.stringify({ trace: v2, status: 'complete' }),
      type: 'application/json',
    });
    expect((await source(tempo.url).fetch(id, signal)).map((s) => s.name)).toEqual(['vulture-68', 'vulture-45']);

    const protoId = 'bb'.repeat(16);
    const bytes = encodeRequest({
      resourceSpans: [
        {
          resource: { attributes: [{ key: 'service.name', value: { stringValue: 'checkout' } }] },
          scopeSpans: [
            {
              scope: { name: 'otel-go', version: '1.28.0' },
              spans: [
                {
                  traceId: Buffer.from(protoId, 'hex'),
                  spanId: Buffer.from('0102030405060708', 'hex'),
                  name: 'POST /checkout',
                  kind: 2,
                  startTimeUnixNano: '1700000000000000000',
                  endTimeUnixNano: '1700000000250000000',
                  attributes: [{ key: 'http.response.status_code', value: { intValue: '201' } }],
                  status: { code: 1 },
                },
              ],
            },
          ],
        },
      ],
    });
    answers.set(`/api/traces/${protoId}`, { status: 200, body: bytes, type: 'application/protobuf' });
    const spans = await source(tempo.url).fetch(protoId, signal);
    expect(spans).toMatchObject([
      {
        traceId: protoId,
        spanId: '0102030405060708',
        name: 'POST /checkout',
        kind: 'server',
        service: 'checkout',
        status: { code: 'ok' },
        startUs: 1700000000000000,
        durationUs: 250000,
        scope: { name: 'otel-go', version: '1.28.0' },
        attributes: { 'http.response.status_code': 201 },
      },
    ]);
  });

  it('answers no spans while Tempo has none of the trace', async () => {
    await expect(source(tempo.url).fetch('cc'.repeat(16), signal)).resolves.toEqual([]);
    answers.set(`/api/traces/${'dd'.repeat(16)}`, { status: 200, body: '{}', type: 'application/json' });
    await expect(source(tempo.url).fetch('dd'.repeat(16), signal)).resolves.toEqual([]);
  });

  it('fails clearly on errors and answers that are not a trace', async () => {
    answers.set(`/api/traces/${'11'.repeat(16)}`, {
      status: 500,
      body: 'failed to get trace: context deadline exceeded\n',
      type: 'text/plain',
    });
    answers.set(`/api/traces/${'22'.repeat(16)}`, { status: 200, body: 'OK', type: 'text/plain' });
    answers.set(`/api/traces/${'33'.repeat(16)}`, {
      status: 200,
      body: '{"traces":[{"traceID":"x"}]}',
      type: 'application/json',
    });
    answers.set(`/api/traces/${'44'.repeat(16)}`, {
      status: 200,
      body: '{"batches":[{"scopeSpans":[{"spans":[{"traceId":"AAAAAAAAAABguiq7RPE+rg==","name":7}]}]}]}',
      type: 'application/json',
    });
    await expect(source(tempo.url).fetch('11'.repeat(16), signal)).rejects.toThrow(
      `tempo at ${tempo.url}/api/traces/${'11'.repeat(16)} answered 500: failed to get trace: context deadline exceeded`,
    );
    await expect(source(tempo.url).fetch('22'.repeat(16), signal)).rejects.toThrow(
      /answered 200 with a body that is not JSON: OK$/,
    );
    await expect(source(tempo.url).fetch('33'.repeat(16), signal)).rejects.toThrow(
      /answered JSON that is not Tempo's trace answer/,
    );
    await expect(source(tempo.url).fetch('44'.repeat(16), signal)).rejects.toThrow(
      /answered a trace the hub cannot read: resourceSpans\[0\]\.scopeSpans\[0\]\.spans\[0\]\.name: must be a string/,
    );
  });

  it('needs the block of its type', () => {
    expect(() => tempoSource({ type: 'http' }, { policy: testPolicy() })).toThrow('tempo type http needs http.url');
    expect(() => tempoSource({ type: 'grpc' }, { policy: testPolicy() })).toThrow(
      'tempo type grpc needs grpc.endpoint',
    );
  });

  it('tempoResourceSpans knows every answer shape and nothing else', () => {
    expect(tempoResourceSpans({ batches: [1] })).toEqual([1]);
    expect(tempoResourceSpans({ resourceSpans: [2] })).toEqual([2]);
    expect(tempoResourceSpans({ trace: { resourceSpans: [3] } })).toEqual([3]);
    expect(tempoResourceSpans({ trace: {} })).toEqual([]);
    expect(tempoResourceSpans({})).toEqual([]);
    expect(tempoResourceSpans({ data: [] })).toBeNull();
    expect(tempoResourceSpans([])).toBeNull();
  });
});

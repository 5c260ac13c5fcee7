import { ROOT_CONTEXT, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { JsonTraceSerializer, ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
  type ReadableSpan,
} from '@opentelemetry/sdk-trace-base';
import { describe, expect, it } from 'vitest';
import { DEFAULT_SPAN_LIMITS, type SpanLimits } from '../traces/span-data.js';
import { OtlpInputError, convertExportRequest, type DecodedSpans } from './convert.js';
import { decodeExportRequest } from './decode-proto.js';
import { encodeRequest, referenceObject } from './testing/reference.js';

/** Rows with their JSON text parsed, so equal content compares equal whatever the key order. */
const comparable = (d: DecodedSpans) => ({
  ...d,
  rows: d.rows.map((r) => ({ ...r, data: JSON.parse(r.data) as unknown })),
});

function expectSame(buf: Buffer, limits: SpanLimits = DEFAULT_SPAN_LIMITS): DecodedSpans {
  const fast = decodeExportRequest(buf, limits, 'pool-1');
  const reference = convertExportRequest(referenceObject(buf), limits, 'pool-1');
  expect(comparable(fast)).toEqual(comparable(reference));
  return fast;
}

/** Spans from the real SDK with every kind of attribute value, events, links and statuses. */
function sdkSpans(seed: number, count: number): ReadableSpan[] {
  let x = seed;
  const rand = (): number => (x = (x * 1103515245 + 12345) % 2147483648) / 2147483648;
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': `svc-${seed}`, 'host.name': 'h1', 'process.pid': 4242 }),
    spanProcessors: [new SimpleSpanProcessor(exporter)],
  });
  const tracer = provider.getTracer(`lib-${seed}`, '1.0.0');
  const root = tracer.startSpan('root', { kind: SpanKind.SERVER });
  const ctx = trace.setSpan(ROOT_CONTEXT, root);
  for (let i = 0; i < count; i++) {
    const attributes: Record<string, string | number | boolean | string[] | number[] | boolean[]> = {
      s: `v${i}-${'é😀'.repeat(i % 3)}`,
      int: Math.floor(rand() * 1e6) - 5e5,
      big: 2 ** 40 + i,
      dbl: rand() * 1000,
      flag: rand() > 0.5,
      strs: ['a', `b${i}`],
      nums: [1.5, i],
      bools: [true, false],
      empty: '',
      zero: 0,
    };
    const span = tracer.startSpan(
      `op-${i % 7}`,
      {
        kind: [SpanKind.INTERNAL, SpanKind.CLIENT, SpanKind.PRODUCER, SpanKind.CONSUMER][i % 4],
        attributes,
        links: i % 3 === 0 ? [{ context: root.spanContext(), attributes: { why: 'batch' } }] : [],
      },
      ctx,
    );
    if (i % 2 === 0) span.addEvent(`event-${i}`, { n: i, msg: 'x' });
    if (i % 5 === 0) span.recordException(new Error(`boom ${i}`));
    span.setStatus(i % 4 === 0 ? { code: SpanStatusCode.ERROR, message: `bad ${i}` } : { code: SpanStatusCode.OK });
    span.end();
  }
  root.end();
  return exporter.getFinishedSpans();
}

const id = (hex: string): Buffer => Buffer.from(hex, 'hex');
const T1 = id('0123456789abcdef0123456789abcdef');
const S1 = id('0123456789abcdef');
const S2 = id('fedcba9876543210');
const str = (s: string) => ({ stringValue: s });
const kv = (key: string, value: Record<string, unknown>) => ({ key, value });

function request(span: Record<string, unknown>, resourceAttrs: unknown[] = [kv('service.name', str('shop'))]) {
  return {
    resourceSpans: [
      {
        resource: { attributes: resourceAttrs },
        scopeSpans: [
          {
            scope: { name: 'lib', version: '2' },
            spans: [
              {
                traceId: T1,
                spanId: S1,
                name: 'op',
                startTimeUnixNano: '1700000000123456789',
                endTimeUnixNano: '1700000000223456789',
                ...span,
              },
            ],
          },
        ],
      },
    ],
  };
}

describe('the fast OTLP protobuf decoder equals the reference decoder', () => {
  it('on requests the OpenTelemetry SDK serialises', () => {
    let spans = 0;
    for (let seed = 1; seed <= 12; seed++) {
      const buf = Buffer.from(ProtobufTraceSerializer.serializeRequest(sdkSpans(seed, 10 + seed * 7))!);
      const out = expectSame(buf);
      expect(out.rejected).toBe(0);
      spans += out.rows.length;
    }
    expect(spans).toBeGreaterThan(600);
  });

  it('and the JSON path reads the SDK JSON of the same spans to the same rows', () => {
    for (let seed = 20; seed <= 24; seed++) {
      const s = sdkSpans(seed, 30);
      const proto = decodeExportRequest(
        Buffer.from(ProtobufTraceSerializer.serializeRequest(s)!),
        DEFAULT_SPAN_LIMITS,
        'p',
      );
      const json = convertExportRequest(
        JSON.parse(Buffer.from(JsonTraceSerializer.serializeRequest(s)!).toString()),
        DEFAULT_SPAN_LIMITS,
        'p',
      );
      expect(comparable(json)).toEqual(comparable(proto));
    }
  });

  const cases: [string, Record<string, unknown>, SpanLimits?][] = [
    ['times, ids and kind', request({ kind: 3, parentSpanId: S2, traceState: 'k=v' })],
    ['status and message', request({ status: { code: 2, message: 'failed' } })],
    ['unknown status code and kind', request({ status: { code: 9 }, kind: 42 })],
    ['end before start', request({ endTimeUnixNano: '1600000000000000000' })],
    ['no times', request({ startTimeUnixNano: undefined, endTimeUnixNano: undefined })],
    ['all-zero parent', request({ parentSpanId: id('0000000000000000') })],
    [
      'every value type',
      request({
        attributes: [
          kv('s', str('x')),
          kv('b', { boolValue: true }),
          kv('f', { boolValue: false }),
          kv('i', { intValue: '-42' }),
          kv('max', { intValue: '9223372036854775807' }),
          kv('min', { intValue: '-9223372036854775808' }),
          kv('safe', { intValue: '9007199254740991' }),
          kv('unsafe', { intValue: '9007199254740993' }),
          kv('d', { doubleValue: -0.25 }),
          kv('nan', { doubleValue: NaN }),
          kv('inf', { doubleValue: Infinity }),
          kv('bytes', { bytesValue: Buffer.from([0, 1, 2, 255]) }),
          kv('arr', {
            arrayValue: { values: [str('a'), { intValue: '1' }, { arrayValue: { values: [{ boolValue: true }] } }] },
          }),
          kv('map', {
            kvlistValue: {
              values: [kv('k', str('v')), kv('n', { kvlistValue: { values: [kv('deep', { doubleValue: 1 })] } })],
            },
          }),
          kv('empty', {}),
          { key: 'novalue' },
          kv('dup', str('first')),
          kv('dup', str('second')),
        ],
      }),
    ],
    [
      'events and links',
      request({
        events: [
          {
            timeUnixNano: '1700000000150000999',
            name: 'e1',
            attributes: [kv('a', str('1'))],
            droppedAttributesCount: 2,
          },
          { name: 'no time' },
        ],
        links: [
          { traceId: T1, spanId: S2, traceState: 'x=y', attributes: [kv('l', { intValue: '7' })] },
          { traceId: id('01'), spanId: S2 },
          { traceId: T1, spanId: id('') },
        ],
        droppedAttributesCount: 3,
        droppedEventsCount: 4,
        droppedLinksCount: 5,
      }),
    ],
    [
      'limits cut attributes, values, events, links, nesting',
      request({
        attributes: [
          kv('long', str('x'.repeat(50))),
          kv('a1', str('1')),
          kv('a2', str('2')),
          kv('a3', str('3')),
          kv('nested', { arrayValue: { values: [str('y'.repeat(30)), str('1'), str('2'), str('3')] } }),
        ],
        events: [
          { name: 'e1', attributes: [kv('a', str('1')), kv('b', str('2')), kv('c', str('3')), kv('d', str('4'))] },
          { name: 'e2' },
          { name: 'e3' },
        ],
        links: [
          { traceId: T1, spanId: S2 },
          { traceId: T1, spanId: S1 },
          { traceId: id('00'), spanId: S1 },
        ],
      }),
      { maxAttributes: 3, maxAttributeValueLength: 10, maxEvents: 2, maxLinks: 1 },
    ],
    [
      'deep nesting is cut',
      request({
        attributes: [
          kv(
            'deep',
            Array.from({ length: 12 }).reduce<Record<string, unknown>>(
              (v) => ({ arrayValue: { values: [v] } }),
              str('leaf'),
            ),
          ),
        ],
      }),
    ],
    ['a long name and service are cut', request({ name: 'n'.repeat(300) }, [kv('service.name', str('s'.repeat(300)))])],
    [
      'resource limits',
      request({}, [kv('service.name', str('shop')), kv('a', str('1')), kv('b', str('2')), kv('c', str('3'))]),
      { ...DEFAULT_SPAN_LIMITS, maxAttributes: 2 },
    ],
    ['no service name', request({}, [kv('host', str('h'))])],
    ['empty service name', request({}, [kv('service.name', str(''))])],
    ['non-string service name', request({}, [kv('service.name', { intValue: '5' })])],
    ['short trace id is rejected', request({ traceId: id('0123') })],
    ['zero trace id is rejected', request({ traceId: id('00000000000000000000000000000000') })],
    ['missing span id is rejected', request({ spanId: undefined })],
    ['bad parent id is rejected', request({ parentSpanId: id('0102') })],
  ];
  for (const [name, req, limits] of cases) {
    it(name, () => {
      expectSame(encodeRequest(req), limits);
    });
  }

  it('rejections are counted with their reasons; the valid spans of the request are kept', () => {
    const req = request({});
    const scope = req.resourceSpans[0]!.scopeSpans[0]!.spans as Record<string, unknown>[];
    scope.push(
      { ...scope[0], traceId: id('01'), spanId: S2 },
      { ...scope[0], spanId: id('0000000000000000') },
      { ...scope[0], spanId: S2 },
    );
    const out = expectSame(encodeRequest(req));
    expect(out.rows).toHaveLength(2);
    expect(out.rejected).toBe(2);
    expect(out.reasons).toEqual([
      'traceId must be 16 bytes (32 hex digits), not all zero',
      'spanId must be 8 bytes (16 hex digits), not all zero',
    ]);
  });

  it('reads a resource that follows its scope spans, and skips unknown fields', () => {
    const scopeSpans = encodeRequest(request({})).subarray(0); // a whole request: field 1 = ResourceSpans
    // Re-order: take the ResourceSpans body, move its resource (field 1) after its scope spans (field 2).
    const decoded = referenceObject(scopeSpans) as { resourceSpans: Record<string, unknown>[] };
    const r = decoded.resourceSpans[0]!;
    const resource = encodeRequest({
      resourceSpans: [{ resource: { attributes: [kv('service.name', str('late'))] } }],
    });
    const spansOnly = encodeRequest({ resourceSpans: [{ scopeSpans: request({}).resourceSpans[0]!.scopeSpans }] });
    const body = (b: Buffer): Buffer => b.subarray(2 + (b[1]! >= 0x80 ? 1 : 0)); // strip field 1 tag + length
    const unknown = Buffer.from([0xba, 0x06, 0x03, 0x61, 0x62, 0x63]); // field 103, length-delimited "abc"
    const inner = Buffer.concat([body(spansOnly), unknown, body(resource)]);
    const reordered = Buffer.concat([Buffer.from([0x0a, inner.length]), inner]);
    expect(r).toBeDefined();
    const out = expectSame(reordered);
    expect(out.rows[0]!.service).toBe('late');
  });

  it('fails malformed bytes with an OtlpInputError naming the byte, never another error', () => {
    const good = Buffer.from(ProtobufTraceSerializer.serializeRequest(sdkSpans(99, 20))!);
    let x = 7;
    const rand = (n: number): number => (x = (x * 1103515245 + 12345) % 2147483648) % n;
    let failures = 0;
    for (let i = 0; i < 2000; i++) {
      const bad = Buffer.from(good);
      for (let k = 0; k < 1 + rand(4); k++) bad[rand(bad.length)] = rand(256);
      const cut = i % 3 === 0 ? bad.subarray(0, rand(bad.length)) : bad;
      try {
        decodeExportRequest(cut, DEFAULT_SPAN_LIMITS, null);
      } catch (err) {
        expect(err).toBeInstanceOf(OtlpInputError);
        expect((err as Error).message).toMatch(/^invalid protobuf at byte \d+: /);
        failures++;
      }
    }
    expect(failures).toBeGreaterThan(100);
    expect(() => decodeExportRequest(Buffer.from('this is not protobuf at all'), DEFAULT_SPAN_LIMITS, null)).toThrow(
      OtlpInputError,
    );
  });
});

describe('OTLP/JSON shape errors', () => {
  const bad: [string, unknown, RegExp][] = [
    ['not an object', [], /request: must be an object/],
    ['resourceSpans not an array', { resourceSpans: {} }, /resourceSpans: must be an array/],
    [
      'name a number',
      { resourceSpans: [{ scopeSpans: [{ spans: [{ name: 5 }] }] }] },
      /resourceSpans\[0\]\.scopeSpans\[0\]\.spans\[0\]\.name: must be a string/,
    ],
    [
      'time a float',
      { resourceSpans: [{ scopeSpans: [{ spans: [{ startTimeUnixNano: 1.5 }] }] }] },
      /startTimeUnixNano: must be a decimal string/,
    ],
    [
      'intValue text',
      { resourceSpans: [{ resource: { attributes: [{ key: 'a', value: { intValue: 'ten' } }] } }] },
      /intValue: must be a 64-bit integer/,
    ],
    [
      'kind unknown name',
      { resourceSpans: [{ scopeSpans: [{ spans: [{ kind: 'SPAN_KIND_WEIRD' }] }] }] },
      /kind: must be an integer or one of/,
    ],
  ];
  for (const [name, body, message] of bad) {
    it(name, () => {
      expect(() => convertExportRequest(body, DEFAULT_SPAN_LIMITS, null)).toThrow(message);
    });
  }

  it('accepts enum names, upper-case hex ids and ignores unknown fields', () => {
    const out = convertExportRequest(
      {
        extra: true,
        resourceSpans: [
          {
            scopeSpans: [
              {
                spans: [
                  {
                    traceId: '0123456789ABCDEF0123456789ABCDEF',
                    spanId: 'FEDCBA9876543210',
                    name: 'x',
                    kind: 'SPAN_KIND_SERVER',
                    status: { code: 'STATUS_CODE_ERROR' },
                    whatever: 1,
                  },
                ],
              },
            ],
          },
        ],
      },
      DEFAULT_SPAN_LIMITS,
      null,
    );
    expect(out.rows[0]).toMatchObject({
      traceId: '0123456789abcdef0123456789abcdef',
      kind: 2,
      status: 2,
      service: 'unknown_service',
    });
  });
});

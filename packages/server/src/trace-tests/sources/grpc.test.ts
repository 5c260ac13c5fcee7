import * as grpc from '@grpc/grpc-js';
import protobuf from 'protobufjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeRequest } from '../../otlp/testing/reference.js';
import { jaegerSource } from './jaeger.js';
import { tempoSource } from './tempo.js';
import { testPolicy } from './testing.js';

const TRACE = '0af7651916cd43dd8448eb211c80319c';
const signal = new AbortController().signal;
const identity = (b: Buffer): Buffer => b;

/** An OTLP TracesData (field 1: resource spans) of one service with the given spans. */
function tracesData(service: string, spans: { spanId: string; parent?: string; name: string; startMs: number }[]) {
  return encodeRequest({
    resourceSpans: [
      {
        resource: { attributes: [{ key: 'service.name', value: { stringValue: service } }] },
        scopeSpans: [
          {
            scope: { name: 'io.opentelemetry.tomcat-10.0', version: '2.4.0-alpha' },
            spans: spans.map((s) => ({
              traceId: Buffer.from(TRACE, 'hex'),
              spanId: Buffer.from(s.spanId, 'hex'),
              ...(s.parent === undefined ? {} : { parentSpanId: Buffer.from(s.parent, 'hex') }),
              name: s.name,
              kind: 2,
              startTimeUnixNano: `${s.startMs}000000`,
              endTimeUnixNano: `${s.startMs + 5}000000`,
              attributes: [{ key: 'http.request.method', value: { stringValue: 'GET' } }],
            })),
          },
        ],
      },
    ],
  });
}

const GetTraceRequest = new protobuf.Type('GetTraceRequest')
  .add(new protobuf.Field('traceId', 1, 'string'))
  .add(new protobuf.Field('rawTraces', 4, 'bool'));
const TraceByIdRequest = new protobuf.Type('TraceByIDRequest').add(new protobuf.Field('traceID', 1, 'bytes'));

describe('gRPC data stores', () => {
  let server: grpc.Server;
  let port = 0;
  const seen: { path: string; request: Record<string, unknown>; authority: string }[] = [];
  let tempoAnswer: (id: string) => { err?: grpc.ServiceError; value?: Buffer } = () => ({});

  beforeAll(async () => {
    server = new grpc.Server();
    server.addService(
      {
        GetTrace: {
          path: '/jaeger.api_v3.QueryService/GetTrace',
          requestStream: false,
          responseStream: true,
          requestSerialize: identity,
          requestDeserialize: identity,
          responseSerialize: identity,
          responseDeserialize: identity,
        },
      },
      {
        GetTrace: (call: grpc.ServerWritableStream<Buffer, Buffer>) => {
          const request = GetTraceRequest.toObject(GetTraceRequest.decode(call.request));
          seen.push({ path: 'jaeger', request, authority: call.getHost() });
          if (request.traceId !== TRACE) {
            call.emit('error', { code: grpc.status.NOT_FOUND, details: 'trace not found' });
            return;
          }
          // A large trace comes in several chunks.
          call.write(tracesData('frontend', [{ spanId: '00f067aa0ba902b7', name: 'GET /', startMs: 1700000000000 }]));
          call.write(
            tracesData('cart', [
              { spanId: '53995c3f42cd8ad8', parent: '00f067aa0ba902b7', name: 'GET /cart', startMs: 1700000000001 },
            ]),
          );
          call.end();
        },
      },
    );
    server.addService(
      {
        FindTraceByID: {
          path: '/tempopb.Querier/FindTraceByID',
          requestStream: false,
          responseStream: false,
          requestSerialize: identity,
          requestDeserialize: identity,
          responseSerialize: identity,
          responseDeserialize: identity,
        },
      },
      {
        FindTraceByID: (call: grpc.ServerUnaryCall<Buffer, Buffer>, callback: grpc.sendUnaryData<Buffer>) => {
          const request = TraceByIdRequest.toObject(TraceByIdRequest.decode(call.request), { bytes: String });
          const id = Buffer.from(request.traceID as string, 'base64').toString('hex');
          seen.push({ path: 'tempo', request: { traceID: id }, authority: '' });
          const a = tempoAnswer(id);
          if (a.err !== undefined) callback(a.err);
          else callback(null, a.value ?? Buffer.alloc(0));
        },
      },
    );
    port = await new Promise<number>((resolve, reject) =>
      server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) =>
        err === null ? resolve(p) : reject(err),
      ),
    );
  });
  afterAll(() => new Promise<void>((resolve) => server.tryShutdown(() => resolve())));

  const insecure = { insecure: true };

  it('jaeger host:port is api_v3 QueryService/GetTrace over gRPC, its chunks joined', async () => {
    const source = jaegerSource({ endpoint: `localhost:${port}`, tls: insecure }, { policy: testPolicy() });
    expect(source.label).toBe(`jaeger at localhost:${port} (gRPC api_v3)`);
    const spans = await source.fetch(TRACE, signal);
    expect(seen.at(-1)).toMatchObject({ path: 'jaeger', request: { traceId: TRACE }, authority: `localhost:${port}` });
    expect(spans.map((s) => [s.spanId, s.parentSpanId, s.service, s.name, s.kind])).toEqual([
      ['00f067aa0ba902b7', null, 'frontend', 'GET /', 'server'],
      ['53995c3f42cd8ad8', '00f067aa0ba902b7', 'cart', 'GET /cart', 'server'],
    ]);
    expect(spans[0]!.scope).toEqual({ name: 'io.opentelemetry.tomcat-10.0', version: '2.4.0-alpha' });
    expect(spans[0]!.attributes).toEqual({ 'http.request.method': 'GET' });
  });

  it('jaeger NOT_FOUND is "not there yet"; a server without the API says what to write instead', async () => {
    const source = jaegerSource({ endpoint: `127.0.0.1:${port}`, tls: insecure }, { policy: testPolicy() });
    await expect(source.fetch('ff'.repeat(16), signal)).resolves.toEqual([]);

    const bare = new grpc.Server();
    const barePort = await new Promise<number>((resolve, reject) =>
      bare.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) =>
        err === null ? resolve(p) : reject(err),
      ),
    );
    try {
      const s = jaegerSource({ endpoint: `127.0.0.1:${barePort}`, tls: insecure }, { policy: testPolicy() });
      await expect(s.fetch(TRACE, signal)).rejects.toThrow(
        new RegExp(
          `jaeger at 127\\.0\\.0\\.1:${barePort} \\(gRPC api_v3\\) does not serve jaeger\\.api_v3\\.QueryService .*write the HTTP query API as the endpoint: http://127\\.0\\.0\\.1:16686`,
        ),
      );
    } finally {
      bare.forceShutdown();
    }
  });

  it('without tls.insecure the connection is TLS, and a plaintext server fails the poll clearly', async () => {
    const source = jaegerSource({ endpoint: `127.0.0.1:${port}` }, { policy: testPolicy(), timeoutMs: 2000 });
    await expect(source.fetch(TRACE, signal)).rejects.toThrow(
      /jaeger at 127\.0\.0\.1:\d+ \(gRPC api_v3\) could not be reached: .*SSL.* \(a plaintext server\? write tls: \{ insecure: true \}\)$/,
    );
  });

  it('tempo grpc is Querier/FindTraceByID with the id as bytes', async () => {
    const trace = tracesData('shipping', [{ spanId: '1111111111111111', name: 'ship', startMs: 1700000000000 }]);
    // TraceByIDResponse { Trace trace = 1; TraceByIDMetrics metrics = 2 }: the metrics are skipped.
    tempoAnswer = () => ({
      value: Buffer.concat([
        protobuf.Writer.create()
          .uint32(10)
          .bytes(trace)
          .uint32(18)
          .bytes(Buffer.from([8, 1]))
          .finish(),
      ]),
    });
    const source = tempoSource(
      { type: 'grpc', grpc: { endpoint: `127.0.0.1:${port}`, tls: insecure } },
      { policy: testPolicy() },
    );
    const spans = await source.fetch(TRACE, signal);
    expect(seen.at(-1)).toEqual({ path: 'tempo', request: { traceID: TRACE }, authority: '' });
    expect(spans.map((s) => [s.spanId, s.service, s.name])).toEqual([['1111111111111111', 'shipping', 'ship']]);

    tempoAnswer = () => ({ value: Buffer.alloc(0) });
    await expect(source.fetch(TRACE, signal)).resolves.toEqual([]);
    tempoAnswer = () => ({
      err: Object.assign(new Error('x'), {
        code: grpc.status.NOT_FOUND,
        details: 'trace not found',
        metadata: new grpc.Metadata(),
      }),
    });
    await expect(source.fetch(TRACE, signal)).resolves.toEqual([]);
    tempoAnswer = () => ({
      err: Object.assign(new Error('x'), {
        code: grpc.status.RESOURCE_EXHAUSTED,
        details: 'trace exceeds max size',
        metadata: new grpc.Metadata(),
      }),
    });
    await expect(source.fetch(TRACE, signal)).rejects.toThrow(
      `tempo at 127.0.0.1:${port} (gRPC) answered more than ${64 * 1024 * 1024} bytes (trace exceeds max size)`,
    );
    tempoAnswer = () => ({
      err: Object.assign(new Error('x'), {
        code: grpc.status.PERMISSION_DENIED,
        details: 'no org id',
        metadata: new grpc.Metadata(),
      }),
    });
    await expect(source.fetch(TRACE, signal)).rejects.toThrow(
      `tempo at 127.0.0.1:${port} (gRPC) answered gRPC status PERMISSION_DENIED: no org id`,
    );
  });

  it('refuses gRPC endpoints it cannot read', () => {
    expect(() => tempoSource({ type: 'grpc', grpc: { endpoint: 'tempo' } }, { policy: testPolicy() })).toThrow(
      'tempo grpc.endpoint "tempo" must be host:port (Tempo\'s gRPC port is usually 9095)',
    );
    expect(() => jaegerSource({ endpoint: 'jaeger:99999' }, { policy: testPolicy() })).toThrow(/neither host:port/);
  });
});

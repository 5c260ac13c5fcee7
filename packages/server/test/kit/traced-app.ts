import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as grpc from '@grpc/grpc-js';
import {
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  defaultTextMapGetter,
  trace,
  type Context,
  type TextMapPropagator,
} from '@opentelemetry/api';
import { W3CBaggagePropagator, W3CTraceContextPropagator, CompositePropagator } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { B3InjectEncoding, B3Propagator } from '@opentelemetry/propagator-b3';
import { JaegerPropagator } from '@opentelemetry/propagator-jaeger';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';
import protobuf from 'protobufjs';

/** Which incoming trace header format the app reads (one only, so a test proves that format joins the trace). */
export type Propagation = 'w3c' | 'b3' | 'b3multi' | 'jaeger';

export interface TracedAppOptions {
  /** Where spans go (`hub.otlpHttpUrl`) and the pool key they are sent with. */
  otlpUrl: string;
  poolKey: string;
  service?: string;
  propagation?: Propagation;
  /** The child `db` span of `/books/:id` ends this long after the answer (a span that arrives late). */
  lateSpanMs?: number;
}

export interface TracedApp {
  url: string;
  /** `host:port` of the gRPC server (`shop.Books/Get`). */
  grpcAddress: string;
  /** Trace ids the app joined, in arrival order. */
  readonly traceIds: string[];
  close(): Promise<void>;
}

export const BOOKS_PROTO = `syntax = "proto3";
package shop;
service Books {
  rpc Get (GetBookRequest) returns (Book);
}
message GetBookRequest { int32 book_id = 1; }
message Book { int32 id = 1; string title = 2; int32 stock_count = 3; }
`;

const BOOKS: Record<number, { title: string; stock: number }> = {
  1: { title: 'The Hobbit', stock: 3 },
  2: { title: 'Dune', stock: 0 },
};

function propagatorFor(p: Propagation): TextMapPropagator {
  switch (p) {
    case 'w3c':
      return new CompositePropagator({ propagators: [new W3CTraceContextPropagator(), new W3CBaggagePropagator()] });
    case 'b3':
      return new B3Propagator({ injectEncoding: B3InjectEncoding.SINGLE_HEADER });
    case 'b3multi':
      return new B3Propagator({ injectEncoding: B3InjectEncoding.MULTI_HEADER });
    case 'jaeger':
      return new JaegerPropagator();
  }
}

/**
 * A small bookstore instrumented with the OpenTelemetry SDK (its own tracer provider, exporting OTLP/HTTP protobuf
 * to the hub) that reads one trace header format: HTTP `GET /books/:id`, `POST /books` (JSON), `GET /redirect?to=`,
 * and gRPC `shop.Books/Get`. Spans use the semantic-convention attributes the SDK's HTTP instrumentation emits by
 * default on this line (`http.method`, `http.status_code`, `http.route`), which Tracetest's examples assert on.
 */
export async function startTracedApp(options: TracedAppOptions): Promise<TracedApp> {
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': options.service ?? 'bookstore' }),
    spanProcessors: [
      new BatchSpanProcessor(
        new OTLPTraceExporter({
          url: `${options.otlpUrl}/v1/traces`,
          headers: { Authorization: `Bearer ${options.poolKey}` },
        }),
        { scheduledDelayMillis: 50 },
      ),
    ],
  });
  const tracer = provider.getTracer('bookstore');
  const propagator = propagatorFor(options.propagation ?? 'w3c');
  const traceIds: string[] = [];
  const join = (carrier: Record<string, unknown>): Context => {
    const ctx = propagator.extract(ROOT_CONTEXT, carrier, defaultTextMapGetter);
    const id = trace.getSpanContext(ctx)?.traceId;
    if (id !== undefined) traceIds.push(id);
    return ctx;
  };
  const lookup = (parent: Context, id: number) => {
    const db = tracer.startSpan(
      'SELECT books',
      {
        kind: SpanKind.CLIENT,
        attributes: { 'db.system': 'sqlite', 'db.statement': `SELECT * FROM books WHERE id = ${id}`, 'db.rows': 1 },
      },
      parent,
    );
    const book = BOOKS[id];
    if (options.lateSpanMs !== undefined) setTimeout(() => db.end(), options.lateSpanMs);
    else db.end();
    return book;
  };

  const body = (req: IncomingMessage): Promise<string> =>
    new Promise((resolve) => {
      let s = '';
      req.on('data', (d: Buffer) => (s += d.toString()));
      req.on('end', () => resolve(s));
    });

  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const parent = join(req.headers);
    const route = url.pathname.startsWith('/books/') ? '/books/:id' : url.pathname;
    const span = tracer.startSpan(
      `${req.method ?? 'GET'} ${route}`,
      {
        kind: SpanKind.SERVER,
        attributes: {
          'http.method': req.method ?? 'GET',
          'http.target': req.url ?? '/',
          'http.route': route,
          'http.scheme': 'http',
        },
      },
      parent,
    );
    const ctx = trace.setSpan(parent, span);
    const answer = (status: number, value: unknown): void => {
      span.setAttribute('http.status_code', status);
      if (status >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(value));
      span.end();
    };
    void (async () => {
      if (req.method === 'GET' && url.pathname === '/redirect') {
        span.setAttribute('http.status_code', 302);
        res.writeHead(302, { location: url.searchParams.get('to') ?? '/' }).end();
        span.end();
        return;
      }
      if (req.method === 'GET' && url.pathname.startsWith('/books/')) {
        const id = Number(url.pathname.slice('/books/'.length));
        const book = lookup(ctx, id);
        if (book === undefined) return answer(404, { error: 'no such book' });
        return answer(200, { id, title: book.title, stock: book.stock });
      }
      if (req.method === 'POST' && url.pathname === '/books') {
        const text = await body(req);
        let input: { title?: unknown };
        try {
          input = JSON.parse(text) as { title?: unknown };
        } catch {
          return answer(400, { error: 'body must be JSON' });
        }
        const validate = tracer.startSpan('validate book', { attributes: { 'book.title': String(input.title) } }, ctx);
        validate.end();
        return answer(201, { id: 3, title: input.title, auth: req.headers.authorization ?? null });
      }
      return answer(404, { error: 'not found' });
    })();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  // gRPC: the same books, with the trace read from the metadata.
  const root = protobuf.parse(BOOKS_PROTO).root;
  const Req = root.lookupType('shop.GetBookRequest');
  const Book = root.lookupType('shop.Book');
  const grpcServer = new grpc.Server();
  grpcServer.register(
    '/shop.Books/Get',
    (
      call: grpc.ServerUnaryCall<protobuf.Message, protobuf.Message>,
      callback: grpc.sendUnaryData<protobuf.Message>,
    ) => {
      const parent = join(call.metadata.getMap());
      const span = tracer.startSpan(
        'shop.Books/Get',
        {
          kind: SpanKind.SERVER,
          attributes: { 'rpc.system': 'grpc', 'rpc.service': 'shop.Books', 'rpc.method': 'Get' },
        },
        parent,
      );
      const id = (Req.toObject(call.request) as { bookId?: number }).bookId ?? 0;
      const book = lookup(trace.setSpan(parent, span), id);
      if (book === undefined) {
        span.setAttribute('rpc.grpc.status_code', grpc.status.NOT_FOUND);
        span.end();
        return callback({ code: grpc.status.NOT_FOUND, details: `no book ${id}` });
      }
      span.setAttribute('rpc.grpc.status_code', 0);
      span.end();
      callback(null, Book.fromObject({ id, title: book.title, stockCount: book.stock }));
    },
    (m: protobuf.Message) => Buffer.from(Book.encode(m).finish()),
    (b: Buffer) => Req.decode(b),
    'unary',
  );
  const grpcPort = await new Promise<number>((resolve, reject) =>
    grpcServer.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, port) =>
      err === null ? resolve(port) : reject(err),
    ),
  );

  return {
    url,
    grpcAddress: `127.0.0.1:${grpcPort}`,
    traceIds,
    async close() {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      grpcServer.forceShutdown();
      await provider.shutdown().catch(() => {});
    },
  };
}

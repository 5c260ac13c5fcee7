import { Metadata } from '@grpc/grpc-js';
import { ROOT_CONTEXT, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { OTLPTraceExporter as GrpcExporter } from '@opentelemetry/exporter-trace-otlp-grpc';
import { OTLPTraceExporter as JsonExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as ProtoExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, SimpleSpanProcessor, type SpanExporter } from '@opentelemetry/sdk-trace-base';
import type { Trace } from '@spyglass/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHub, waitFor, type TestHub, type TestPool } from '../kit/index.js';

/**
 * The real OpenTelemetry JS SDK exports to the hub over OTLP/HTTP protobuf, OTLP/HTTP JSON and OTLP/gRPC; the spans
 * come back through the REST API with their tree, attributes, events, status and timing.
 */
describe('OTLP ingest from the OpenTelemetry SDK', () => {
  let hub: TestHub;
  let pool: TestPool;

  beforeAll(async () => {
    hub = await createHub({ otlp: true });
    pool = await hub.createPool();
  });
  afterAll(() => hub?.close());

  async function emit(exporter: SpanExporter, service: string): Promise<{ traceId: string; startedAt: number }> {
    const provider = new BasicTracerProvider({
      resource: resourceFromAttributes({ 'service.name': service, 'service.version': '1.2.3' }),
      spanProcessors: [new SimpleSpanProcessor(exporter)],
    });
    const tracer = provider.getTracer('checkout-lib', '0.9.0');
    const startedAt = Date.now();
    const root = tracer.startSpan('POST /orders', {
      kind: SpanKind.SERVER,
      attributes: { 'http.method': 'POST', 'http.status_code': 201, 'http.route': '/orders', retry: false, ratio: 0.5 },
    });
    const ctx = trace.setSpan(ROOT_CONTEXT, root);
    const child = tracer.startSpan('reserve stock', { kind: SpanKind.INTERNAL, attributes: { items: [1, 2, 3] } }, ctx);
    child.addEvent('stock checked', { sku: 'A-1', left: 4 });
    child.setStatus({ code: SpanStatusCode.ERROR, message: 'out of stock' });
    await new Promise((r) => setTimeout(r, 5));
    child.end();
    const client = tracer.startSpan('db query', { kind: SpanKind.CLIENT, attributes: { 'db.system': 'sqlite' } }, ctx);
    client.end();
    root.end();
    await provider.forceFlush();
    await provider.shutdown();
    return { traceId: root.spanContext().traceId, startedAt };
  }

  async function stored(traceId: string): Promise<Trace> {
    return waitFor(
      async () => {
        const res = await hub.api<Trace>('GET', `/api/v1/traces/${traceId}`, undefined, 'viewer');
        return res.status === 200 && res.body.spans.length === 3 ? res.body : undefined;
      },
      { what: `trace ${traceId} with 3 spans` },
    );
  }

  function expectShop(t: Trace, service: string, startedAt: number): void {
    expect(t.spanCount).toBe(3);
    expect(t.rootService).toBe(service);
    expect(t.rootName).toBe('POST /orders');
    expect(t.errorCount).toBe(1);
    const root = t.spans.find((s) => s.name === 'POST /orders')!;
    const child = t.spans.find((s) => s.name === 'reserve stock')!;
    const db = t.spans.find((s) => s.name === 'db query')!;
    expect(root.parentSpanId).toBeNull();
    expect(child.parentSpanId).toBe(root.spanId);
    expect(db.parentSpanId).toBe(root.spanId);
    expect(root.kind).toBe('server');
    expect(db.kind).toBe('client');
    expect(root.attributes).toEqual({
      'http.method': 'POST',
      'http.status_code': 201,
      'http.route': '/orders',
      retry: false,
      ratio: 0.5,
    });
    expect(child.attributes.items).toEqual([1, 2, 3]);
    expect(root.resource['service.name']).toBe(service);
    expect(root.resource['service.version']).toBe('1.2.3');
    expect(root.scope).toEqual({ name: 'checkout-lib', version: '0.9.0' });
    expect(child.status).toEqual({ code: 'error', message: 'out of stock' });
    expect(root.status.code).toBe('unset');
    expect(child.events).toHaveLength(1);
    expect(child.events[0]).toMatchObject({ name: 'stock checked', attributes: { sku: 'A-1', left: 4 } });
    expect(child.events[0]!.timeUs).toBeGreaterThanOrEqual(child.startUs);
    // Timing: microseconds since the epoch, the child inside its parent and at least the 5 ms it slept.
    expect(root.startUs).toBeGreaterThanOrEqual(startedAt * 1000 - 1000);
    expect(root.startUs).toBeLessThan(Date.now() * 1000);
    expect(child.startUs).toBeGreaterThanOrEqual(root.startUs);
    expect(child.durationUs).toBeGreaterThanOrEqual(4000);
    expect(child.startUs + child.durationUs).toBeLessThanOrEqual(root.startUs + root.durationUs + 1);
    // The SDK's clock lets a child end a little after its parent; the trace spans from the first start to the last end.
    expect(t.durationUs).toBeGreaterThanOrEqual(root.durationUs);
    expect(t.durationUs).toBeLessThan(root.durationUs + 5000);
  }

  const bearer = (): Record<string, string> => ({ Authorization: `Bearer ${pool.key}` });

  it('OTLP/HTTP protobuf', async () => {
    const exporter = new ProtoExporter({ url: `${hub.otlpHttpUrl}/v1/traces`, headers: bearer() });
    const { traceId, startedAt } = await emit(exporter, 'shop-proto');
    expectShop(await stored(traceId), 'shop-proto', startedAt);
  });

  it('OTLP/HTTP JSON', async () => {
    const exporter = new JsonExporter({ url: `${hub.otlpHttpUrl}/v1/traces`, headers: bearer() });
    const { traceId, startedAt } = await emit(exporter, 'shop-json');
    expectShop(await stored(traceId), 'shop-json', startedAt);
  });

  it('OTLP/gRPC', async () => {
    const metadata = new Metadata();
    metadata.set('authorization', `Bearer ${pool.key}`);
    const exporter = new GrpcExporter({ url: `http://${hub.otlpGrpcAddress}`, metadata });
    const { traceId, startedAt } = await emit(exporter, 'shop-grpc');
    expectShop(await stored(traceId), 'shop-grpc', startedAt);
  });

  it('OTLP/HTTP protobuf on the hub port too, and search, services and operations see the spans', async () => {
    const url = await hub.listen();
    const exporter = new ProtoExporter({ url: `${url}/v1/traces`, headers: bearer() });
    const { traceId } = await emit(exporter, 'shop-main-port');
    await stored(traceId);

    const search = await hub.api(
      'GET',
      '/api/v1/traces?service=shop-main-port&attr=http.status_code=201',
      undefined,
      'viewer',
    );
    expect(search.status).toBe(200);
    expect(search.body.items.map((t: { traceId: string }) => t.traceId)).toEqual([traceId]);
    const none = await hub.api('GET', '/api/v1/traces?service=shop-main-port&attr=http.status_code=500');
    expect(none.body.items).toEqual([]);
    const errors = await hub.api('GET', '/api/v1/traces?status=error&name=reserve%20stock&minDuration=4ms');
    expect(errors.body.items.map((t: { traceId: string }) => t.traceId)).toContain(traceId);
    const slow = await hub.api('GET', '/api/v1/traces?service=shop-main-port&minDuration=10s');
    expect(slow.body.items).toEqual([]);

    const services = await hub.api('GET', '/api/v1/traces/services');
    expect(services.body.items.map((s: { name: string }) => s.name)).toEqual(
      expect.arrayContaining(['shop-proto', 'shop-json', 'shop-grpc', 'shop-main-port']),
    );
    const ops = await hub.api('GET', '/api/v1/traces/operations?service=shop-main-port');
    expect(ops.body.items).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ name: 'POST /orders', kind: 'server' }),
        expect.objectContaining({ name: 'db query', kind: 'client' }),
      ]),
    );
  });

  it('refuses a wrong key with the OTLP answer, audited once per source and minute', async () => {
    const exporter = new ProtoExporter({
      url: `${hub.otlpHttpUrl}/v1/traces`,
      headers: { Authorization: 'Bearer sgp_wrong' },
    });
    const results: number[] = [];
    for (let i = 0; i < 3; i++) {
      const res = await fetch(`${hub.otlpHttpUrl}/v1/traces`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: 'Bearer sgp_wrong' },
        body: '{"resourceSpans":[]}',
      });
      results.push(res.status);
      expect(res.headers.get('www-authenticate')).toMatch(/Bearer/);
      const body = (await res.json()) as { code: number; message: string };
      expect(body.code).toBe(16);
      expect(body.message).toMatch(/Authorization: Bearer sgp_/);
    }
    expect(results).toEqual([401, 401, 401]);
    await exporter.shutdown();
    const audit = await waitFor(
      async () => {
        const res = await hub.api('GET', '/api/v1/audit?action=otlp.export');
        return res.body.items.length > 0 ? res.body.items : undefined;
      },
      { what: 'an otlp.export audit event' },
    );
    expect(audit).toHaveLength(1);
    expect(audit[0]).toMatchObject({ outcome: 'denied', status: 401 });
  });
});

import { createServer, type Server } from 'node:net';
import type { SnapshotSummary, Span, Trace, TraceSummary } from '@spyglass/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createHub,
  freePort,
  newSpanId,
  newTraceId,
  startExampleShop,
  waitFor,
  type ExampleShop,
  type TestHub,
  type TestPool,
} from '../kit/index.js';

/**
 * The example shop as the quickstart runs it: the agent and the OpenTelemetry SDK in one process, the SDK exporting
 * over OTLP/HTTP protobuf to a hub with its OTLP receiver on. A request's trace arrives with the shop's spans, and a
 * snapshot taken inside the request is part of that trace.
 */
describe('example shop traced with the OpenTelemetry SDK, with the agent inside', () => {
  let hub: TestHub;
  let pool: TestPool;
  let shop: ExampleShop;

  beforeAll(async () => {
    // A real agent: the hub's own timers, so a busy machine does not time it out.
    hub = await createHub({ listen: true, otlp: true, timers: 'default' });
    pool = await hub.createPool();
    shop = await startExampleShop(hub.url, pool.key, { otlpUrl: hub.otlpHttpUrl });
    await waitFor(async () => (await hub.api<{ items: unknown[] }>('GET', '/api/v1/agents')).body.items.length === 1, {
      what: 'the shop agent to connect',
      timeoutMs: 30_000,
      detail: () => shop.output(),
    });
  }, 60_000);
  afterAll(async () => {
    shop?.stop();
    await hub?.close();
  });

  const order = (sku: string, headers: Record<string, string> = {}) =>
    fetch(`${shop.url}/orders`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify({ customer: { id: 'c7', email: 'eve@example.com' }, items: [{ sku, quantity: 2 }] }),
    });

  /** A stored trace once it holds `spanCount` spans (the SDK sends in batches, so they may arrive in parts). */
  const storedTrace = (traceId: string, spanCount: number): Promise<Trace> =>
    waitFor(
      async () => {
        const res = await hub.api<Trace>('GET', `/api/v1/traces/${traceId}`, undefined, 'viewer');
        return res.status === 200 && res.body.spans.length >= spanCount ? res.body : undefined;
      },
      { what: `trace ${traceId} with ${spanCount} spans`, timeoutMs: 30_000, detail: () => shop.output() },
    );
  const named = (t: Trace, name: string): Span => {
    const found = t.spans.filter((s) => s.name === name);
    expect(found, `one span "${name}" in ${t.spans.map((s) => s.name).join(', ')}`).toHaveLength(1);
    return found[0]!;
  };

  it(
    'a snapshot taken inside a traced request of the shop carries that trace id and appears in GET /api/v1/traces/:id',
    { timeout: 90_000 },
    async () => {
      const created = await hub.api<{ id: string }>('POST', '/api/v1/actions', {
        kind: 'snapshot',
        file: 'src/services/checkout.ts',
        line: 52,
        expressions: ['order.totalCents'],
        target: { pool: pool.name, service: 'shop' },
      });
      expect(created.status, JSON.stringify(created.body)).toBe(201);
      const actionId = created.body.id;
      await waitFor(
        async () =>
          (
            await hub.api<{ items: Array<{ state: string }> }>('GET', `/api/v1/actions/${actionId}/agents`)
          ).body.items.some((s) => s.state === 'active'),
        { what: 'the snapshot probe to be active', timeoutMs: 30_000 },
      );

      const startedMs = Date.now();
      const res = await order('mug');
      expect(res.status).toBe(201);
      expect(((await res.json()) as { totalCents: number }).totalCents).toBe(2400);

      // The trace is found by searching, as a person would: the shop's service and its route.
      const summary = await waitFor(
        async () => {
          const page = await hub.api<{ items: TraceSummary[] }>(
            'GET',
            `/api/v1/traces?service=shop&name=${encodeURIComponent('POST /orders')}&from=${startedMs - 1000}`,
            undefined,
            'viewer',
          );
          return page.body.items[0];
        },
        { what: 'the order trace in GET /api/v1/traces', timeoutMs: 30_000, detail: () => shop.output() },
      );
      expect(summary.rootService).toBe('shop');
      expect(summary.rootName).toBe('POST /orders');

      // POST /orders > checkout.place_order > inventory.find, inventory.reserve
      const t = await storedTrace(summary.traceId, 4);
      const server = named(t, 'POST /orders');
      const place = named(t, 'checkout.place_order');
      const find = named(t, 'inventory.find');
      const reserve = named(t, 'inventory.reserve');
      expect(server.kind).toBe('server');
      expect(server.parentSpanId).toBeNull();
      expect(server.attributes['http.route']).toBe('/orders');
      expect(server.scope.name).toBe('@opentelemetry/instrumentation-http');
      expect(place.parentSpanId).toBe(server.spanId);
      expect(find.parentSpanId).toBe(place.spanId);
      expect(reserve.parentSpanId).toBe(place.spanId);
      expect(place.attributes).toMatchObject({
        'customer.id': 'c7',
        'order.item_count': 1,
        'order.id': 'ord-1',
        'order.total_cents': 2400,
      });
      expect(reserve.attributes).toMatchObject({
        'product.sku': 'mug',
        'product.quantity': 2,
        'inventory.reserved': true,
      });
      expect(place.status.code).toBe('unset');
      for (const s of t.spans) expect(s.service).toBe('shop');
      expect(server.resource['service.name']).toBe('shop');
      expect(t.errorCount).toBe(0);

      // The snapshot the agent took at checkout.ts:52, inside checkout.place_order.
      const inTrace = await waitFor(
        async () => (await hub.api<Trace>('GET', `/api/v1/traces/${summary.traceId}`)).body.snapshots[0],
        { what: 'the snapshot in the trace', timeoutMs: 30_000 },
      );
      expect(inTrace.actionId).toBe(actionId);
      expect(inTrace.traceId).toBe(summary.traceId);
      expect(inTrace.spanId).toBe(place.spanId);
      expect(inTrace.top).toMatchObject({ functionName: 'placeOrder', line: 52 });
      expect(inTrace.top!.file).toMatch(/checkout\.ts$/);
      // The same snapshot through the live-debugging API names the same trace and span.
      const snapshots = await hub.api<{ items: SnapshotSummary[] }>('GET', `/api/v1/actions/${actionId}/snapshots`);
      expect(snapshots.body.items.map((s) => [s.id, s.traceId, s.spanId])).toEqual([
        [inTrace.id, summary.traceId, place.spanId],
      ]);
    },
  );

  it('a failed order joins the caller trace (traceparent) and records the exception with an error status', async () => {
    const traceId = newTraceId();
    const callerSpanId = newSpanId();
    const res = await order('unicorn', { traceparent: `00-${traceId}-${callerSpanId}-01` });
    expect(res.status).toBe(404);

    const t = await storedTrace(traceId, 3);
    const server = named(t, 'POST /orders');
    const place = named(t, 'checkout.place_order');
    const find = named(t, 'inventory.find');
    // The caller's span never reaches the hub: the shop's server span is a child of it.
    expect(server.parentSpanId).toBe(callerSpanId);
    expect(t.rootName).toBeNull();
    expect(find.attributes).toMatchObject({ 'product.sku': 'unicorn', 'inventory.found': false });
    expect(t.spans.some((s) => s.name === 'inventory.reserve')).toBe(false);
    expect(place.status).toEqual({ code: 'error', message: 'unknown product unicorn' });
    expect(place.attributes['checkout.refused_status']).toBe(404);
    const exception = place.events.find((e) => e.name === 'exception');
    expect(exception?.attributes).toMatchObject({
      'exception.type': 'Error',
      'exception.message': 'unknown product unicorn',
    });
    expect(exception?.attributes['exception.stacktrace']).toEqual(expect.stringMatching(/placeOrder/));
    expect(t.errorCount).toBe(1);

    // An error search finds it.
    const page = await hub.api<{ items: TraceSummary[] }>(
      'GET',
      '/api/v1/traces?service=shop&status=error',
      undefined,
      'viewer',
    );
    expect(page.body.items.map((s) => s.traceId)).toContain(traceId);
  });
});

describe('example shop without a trace receiver', () => {
  let broken: Server;
  let connections = 0;
  let shop: ExampleShop | undefined;

  afterAll(async () => {
    shop?.stop();
    await new Promise((resolve) => broken?.close(resolve));
  });

  it('keeps answering and prints nothing of its failing exports', { timeout: 60_000 }, async () => {
    // An endpoint that takes every connection and drops it at once: each export fails with a reset.
    broken = createServer((socket) => {
      connections++;
      socket.destroy();
    });
    await new Promise<void>((resolve) => broken.listen(0, '127.0.0.1', resolve));
    const address = broken.address();
    const port = typeof address === 'object' && address !== null ? address.port : 0;
    // No hub either: the agent dials a port where nothing listens.
    const noHub = `http://127.0.0.1:${await freePort()}`;
    shop = await startExampleShop(noHub, 'sgp_0000000000000000000000000000000000000000', {
      otlpUrl: `http://127.0.0.1:${port}`,
    });

    for (let i = 1; i <= 3; i++) {
      const res = await fetch(`${shop.url}/orders`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ customer: { id: 'c1', email: 'a@example.com' }, items: [{ sku: 'mug', quantity: 1 }] }),
      });
      expect(res.status).toBe(201);
    }
    // An export and at least one retry of it failed.
    await waitFor(() => connections >= 2, { what: 'the shop to export and retry', timeoutMs: 30_000 });
    const res = await fetch(`${shop.url}/products`);
    expect(res.status).toBe(200);
    expect(shop.child.exitCode).toBeNull();
    // The agent says once that the hub is unreachable (its own line); the failing exports print nothing.
    const lines = shop.output().trim().split('\n');
    expect(lines.filter((l) => !l.startsWith('spyglass: '))).toEqual([`shop listening on ${shop.url}`]);
    expect(
      lines.filter((l) => l.startsWith('spyglass: ')).every((l) => l.includes(`cannot reach the hub at ${noHub}`)),
    ).toBe(true);
  });
});

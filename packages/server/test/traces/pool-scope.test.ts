import { PROTOCOL_VERSION } from '@spyglass/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import {
  USER_PASSWORD,
  createHub,
  newSpanId,
  newTraceId,
  otlpJsonRequest,
  testDatabases,
  waitFor,
  type TestHub,
  type TestPool,
  type TestSpan,
} from '../kit/index.js';

/**
 * Trace reads scoped by pool (docs/adr/0013-roles-per-pool.md): spans exported with pool A's key and pool B's key; a
 * user with no global role and a membership in A sees only A's spans, through the REST API, the Jaeger API and the
 * live stream; a global viewer sees every span.
 */
describe.each(testDatabases())('traces scoped by pool on $dialect', (database) => {
  let hub: TestHub;
  let poolA: TestPool;
  let poolB: TestPool;
  let devA: string;
  const onlyA = newTraceId();
  const onlyB = newTraceId();
  const mixed = newTraceId();
  const mixedRoot = newSpanId();
  const mixedChild = newSpanId();

  const as = async (token: string, path: string) => {
    const res = await fetch(`${hub.url}${path}`, { headers: { authorization: `Bearer ${token}` } });
    const text = await res.text();
    return { status: res.status, body: text === '' ? null : JSON.parse(text) };
  };
  const viewer = () => hub.tokens.viewer;

  const exportSpans = async (pool: TestPool, spans: TestSpan[]) => {
    const res = await fetch(`${hub.url}/v1/traces`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${pool.key}` },
      body: JSON.stringify(otlpJsonRequest(spans)),
    });
    expect(res.status).toBe(200);
  };

  beforeAll(async () => {
    hub = await createHub({ database, listen: true });
    poolA = await hub.createPool('team-a');
    poolB = await hub.createPool('team-b');
    const user = await hub.app.services.users.create({
      email: 'deva@example.test',
      name: 'devA',
      role: 'none',
      password: USER_PASSWORD,
    });
    devA = (await hub.app.services.auth.createToken(user.id, { name: 'devA' })).token;
    const granted = await hub.api('PUT', `/api/v1/users/${user.id}/memberships/${poolA.name}`, { role: 'developer' });
    expect(granted.status).toBe(200);

    const now = Date.now();
    await exportSpans(poolA, [
      { traceId: onlyA, name: 'GET /cart', service: 'cart-a', startMs: now - 50, durationMs: 10 },
      {
        traceId: mixed,
        spanId: mixedChild,
        parentSpanId: mixedRoot,
        name: 'charge',
        service: 'pay-a',
        startMs: now - 30,
        durationMs: 5,
      },
    ]);
    await exportSpans(poolB, [
      { traceId: onlyB, name: 'GET /search', service: 'search-b', startMs: now - 40, durationMs: 10 },
      {
        traceId: mixed,
        spanId: mixedRoot,
        name: 'GET /checkout',
        service: 'front-b',
        startMs: now - 35,
        durationMs: 20,
      },
    ]);
    await waitFor(
      async () => {
        const page = await as(viewer(), '/api/v1/traces?limit=100');
        return page.body.items.length === 3;
      },
      { what: 'the three traces to be searchable' },
    );
  });
  afterAll(() => hub?.close());

  const ids = (items: { traceId: string }[]) => items.map((t) => t.traceId).sort();

  it('searches, reads and lists only the pool’s spans for a pool-only user, everything for a global viewer', async () => {
    const search = await as(devA, '/api/v1/traces?limit=100');
    expect(search.status).toBe(200);
    expect(ids(search.body.items)).toEqual([onlyA, mixed].sort());
    // The summary of the mixed trace counts only A's span (B's root is not shown, so there is no root).
    const summary = search.body.items.find((t: { traceId: string }) => t.traceId === mixed);
    expect(summary).toMatchObject({ spanCount: 1, rootService: null, services: [{ name: 'pay-a', spanCount: 1 }] });
    // Filters on B's services or span names find nothing.
    expect((await as(devA, '/api/v1/traces?service=search-b')).body.items).toEqual([]);
    expect((await as(devA, `/api/v1/traces?name=${encodeURIComponent('GET /checkout')}`)).body.items).toEqual([]);

    expect((await as(devA, `/api/v1/traces/${onlyA}`)).status).toBe(200);
    const b = await as(devA, `/api/v1/traces/${onlyB}`);
    expect(b.status).toBe(404);
    expect(b.body.error.code).toBe('NOT_FOUND');
    const m = await as(devA, `/api/v1/traces/${mixed}`);
    expect(m.status).toBe(200);
    expect(m.body.spans.map((s: { spanId: string }) => s.spanId)).toEqual([mixedChild]);
    expect(m.body.spanCount).toBe(1);

    const services = await as(devA, '/api/v1/traces/services');
    expect(services.status).toBe(200);
    expect(services.body.items.map((s: { name: string }) => s.name).sort()).toEqual(['cart-a', 'pay-a']);
    const operations = await as(devA, '/api/v1/traces/operations');
    expect(operations.body.items.map((o: { name: string }) => o.name).sort()).toEqual(['GET /cart', 'charge']);
    expect((await as(devA, '/api/v1/traces/operations?service=front-b')).body.items).toEqual([]);

    // A global viewer: every trace and span, as before pools.
    expect(ids((await as(viewer(), '/api/v1/traces?limit=100')).body.items)).toEqual([onlyA, onlyB, mixed].sort());
    expect((await as(viewer(), `/api/v1/traces/${onlyB}`)).status).toBe(200);
    const full = await as(viewer(), `/api/v1/traces/${mixed}`);
    expect(full.body.spans.map((s: { spanId: string }) => s.spanId)).toEqual([mixedRoot, mixedChild]);
    expect(full.body.rootService).toBe('front-b');
    expect(
      (await as(viewer(), '/api/v1/traces/services')).body.items.map((s: { name: string }) => s.name).sort(),
    ).toEqual(['cart-a', 'front-b', 'pay-a', 'search-b']);
  });

  it('answers the Jaeger API with the pool’s spans only', async () => {
    const services = await as(devA, '/api/jaeger/api/services');
    expect(services.status).toBe(200);
    expect([...services.body.data].sort()).toEqual(['cart-a', 'pay-a']);
    expect((await as(devA, '/api/jaeger/api/services/front-b/operations')).body.data).toEqual([]);
    expect((await as(devA, '/api/jaeger/api/operations?service=pay-a')).body.data).toEqual([
      { name: 'charge', spanKind: 'internal' },
    ]);
    expect((await as(devA, '/api/jaeger/api/traces?service=search-b')).body.data).toEqual([]);
    const payA = await as(devA, '/api/jaeger/api/traces?service=pay-a');
    expect(payA.body.data.map((t: { traceID: string }) => t.traceID)).toEqual([mixed]);
    expect(payA.body.data[0].spans.map((s: { spanID: string }) => s.spanID)).toEqual([mixedChild]);
    expect((await as(devA, `/api/jaeger/api/traces/${onlyB}`)).status).toBe(404);
    expect((await as(devA, `/api/jaeger/api/traces?traceID=${onlyB}&traceID=${onlyA}`)).body.data).toHaveLength(1);
    // B's root calling A's span is a dependency only for someone who sees both.
    expect((await as(devA, '/api/jaeger/api/dependencies')).body.data).toEqual([]);
    expect((await as(viewer(), '/api/jaeger/api/dependencies')).body.data).toEqual(
      expect.arrayContaining([{ parent: 'front-b', child: 'pay-a', callCount: 1 }]),
    );

    expect([...(await as(viewer(), '/api/jaeger/api/services')).body.data].sort()).toEqual([
      'cart-a',
      'front-b',
      'pay-a',
      'search-b',
    ]);
    const all = await as(viewer(), `/api/jaeger/api/traces/${mixed}`);
    expect(all.body.data[0].spans).toHaveLength(2);
  });

  it('tells a pool-only follower of the traces stream only of its pools’ new traces', async () => {
    const follow = async (token: string) => {
      const ws = new WebSocket(`${hub.wsUrl}/api/v1/stream`, { headers: { authorization: `Bearer ${token}` } });
      const messages: Record<string, unknown>[] = [];
      ws.on('message', (data: Buffer) => messages.push(JSON.parse(data.toString()) as Record<string, unknown>));
      await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
      ws.send(JSON.stringify({ type: 'subscribe', v: PROTOCOL_VERSION, channel: 'traces', services: ['*'] }));
      await waitFor(() => messages.find((m) => m.type === 'subscribed' || m.type === 'error'), { what: 'an answer' });
      expect(messages.find((m) => m.type === 'error')).toBeUndefined();
      return { ws, messages };
    };
    const scoped = await follow(devA);
    const global = await follow(viewer());
    const newA = newTraceId();
    const newB = newTraceId();
    const heard = (c: { messages: Record<string, unknown>[] }) =>
      c.messages.filter((m) => m.type === 'trace').map((m) => m.traceId);
    await exportSpans(poolB, [
      { traceId: newB, name: 'GET /b', service: 'search-b', startMs: Date.now(), durationMs: 1 },
    ]);
    // Every follower is handed a notice in the same pass: once the viewer has B's, devA's would be queued already.
    await waitFor(() => heard(global).includes(newB), { what: 'B’s trace on the viewer’s stream' });
    await exportSpans(poolA, [
      { traceId: newA, name: 'GET /a', service: 'cart-a', startMs: Date.now(), durationMs: 1 },
    ]);
    await waitFor(() => heard(global).includes(newA), { what: 'A’s trace on the viewer’s stream' });
    await waitFor(() => heard(scoped).includes(newA), { what: 'A’s trace on devA’s stream' });
    // Settled (the pong comes after everything queued before it), B's notice must be absent.
    scoped.ws.send(JSON.stringify({ type: 'ping', v: PROTOCOL_VERSION, id: 'settle' }));
    await waitFor(() => scoped.messages.some((m) => m.type === 'pong' && m.id === 'settle'), { what: 'the pong' });
    expect(heard(scoped)).not.toContain(newB);
    expect(scoped.messages.find((m) => m.type === 'trace' && m.traceId === newA)).not.toHaveProperty('poolId');
    scoped.ws.close();
    global.ws.close();
  });
});

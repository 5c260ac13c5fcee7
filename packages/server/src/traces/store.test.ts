import type { Trace, TraceSummary } from '@spyglass/protocol';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createHub,
  newSpanId,
  newTraceId,
  otlpJsonRequest,
  testDatabases,
  type TestHub,
  type TestPool,
  type TestSpan,
} from '../../test/kit/index.js';

type PageOf<T> = { items: T[]; nextCursor: string | null };

/** The span store through the real paths (OTLP/JSON on `/v1/traces`, the REST operations) on every database. */
describe.each(testDatabases())('traces on $dialect', (database) => {
  let hub: TestHub;
  let pool: TestPool;
  let clock = Date.now();
  const RETENTION_MS = 60_000;

  beforeAll(async () => {
    hub = await createHub({
      database,
      env: { SPYGLASS_TRACES_RETENTION_MS: String(RETENTION_MS) },
      deps: { modules: { traces: { now: () => clock } } },
    });
    pool = await hub.createPool();
  });
  afterAll(() => hub?.close());

  async function send(spans: readonly TestSpan[]): Promise<{ status: number; body: string }> {
    const res = await hub.app.inject({
      method: 'POST',
      url: '/v1/traces',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${pool.key}` },
      payload: JSON.stringify(otlpJsonRequest(spans)),
    });
    return { status: res.statusCode, body: res.body };
  }

  /** A trace of a root and two children: `service` root, `db` child with `rows` attribute. */
  function shopTrace(
    service: string,
    startMs: number,
    opts: { error?: boolean; slowMs?: number; route?: string } = {},
  ) {
    const traceId = newTraceId();
    const root = newSpanId();
    const spans: TestSpan[] = [
      {
        traceId,
        spanId: root,
        name: `GET ${opts.route ?? '/orders'}`,
        service,
        kind: 2,
        startMs,
        durationMs: opts.slowMs ?? 30,
        attributes: { 'http.route': opts.route ?? '/orders', 'http.status_code': opts.error === true ? 500 : 200 },
      },
      {
        traceId,
        spanId: newSpanId(),
        parentSpanId: root,
        name: 'select orders',
        service: 'db',
        kind: 3,
        startMs: startMs + 5,
        durationMs: 10,
        attributes: { rows: 3, 'db.statement': 'select * from orders where id = 100%_!' },
        ...(opts.error === true ? { status: { code: 2, message: 'deadlock' } } : {}),
      },
      {
        traceId,
        spanId: newSpanId(),
        parentSpanId: root,
        name: 'render',
        service,
        startMs: startMs + 16,
        durationMs: 4,
        events: [{ name: 'template', atMs: startMs + 17, attributes: { cached: true } }],
      },
    ];
    return { traceId, spans };
  }

  it('stores a trace and returns every span once, even when the exporter retried', async () => {
    const t = shopTrace('orders', Date.now() - 1000);
    expect((await send(t.spans)).status).toBe(200);
    expect((await send(t.spans)).status).toBe(200);
    const res = await hub.api<Trace>('GET', `/api/v1/traces/${t.traceId}`, undefined, 'viewer');
    expect(res.status).toBe(200);
    expect(res.body.spans.map((s) => s.name).sort()).toEqual(['GET /orders', 'render', 'select orders']);
    expect(res.body).toMatchObject({ spanCount: 3, rootService: 'orders', rootName: 'GET /orders', errorCount: 0 });
    expect(res.body.services).toEqual([
      { name: 'orders', spanCount: 2 },
      { name: 'db', spanCount: 1 },
    ]);
    expect(res.body.durationUs).toBe(30_000);
    const render = res.body.spans.find((s) => s.name === 'render')!;
    expect(render.events).toEqual([{ name: 'template', timeUs: render.startUs + 1000, attributes: { cached: true } }]);
    expect(res.body.logs).toEqual([]);
    expect(res.body.snapshots).toEqual([]);
  });

  it('answers 404 for an unknown trace and 400 for a malformed id', async () => {
    const missing = await hub.api('GET', `/api/v1/traces/${newTraceId()}`);
    expect(missing.status).toBe(404);
    expect(missing.body.error.message).toMatch(/not found/);
    const bad = await hub.api('GET', '/api/v1/traces/xyz');
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe('INVALID_INPUT');
  });

  it('searches by service, span name, attributes, duration, status and time, newest first, with a cursor', async () => {
    const service = `search-${database.dialect}`;
    const base = Date.now() - 10 * 60_000;
    const traces = [
      shopTrace(service, base),
      shopTrace(service, base + 1000, { error: true }),
      shopTrace(service, base + 2000, { slowMs: 900, route: '/pay' }),
      shopTrace(service, base + 3000),
      shopTrace(service, base + 4000, { route: '/pay' }),
    ];
    expect((await send(traces.flatMap((t) => t.spans))).status).toBe(200);
    const ids = (body: PageOf<TraceSummary>) => body.items.map((t) => t.traceId);
    const q = async (query: string) => (await hub.api<PageOf<TraceSummary>>('GET', `/api/v1/traces?${query}`)).body;

    expect(ids(await q(`service=${service}`))).toEqual(traces.map((t) => t.traceId).reverse());
    expect(ids(await q(`service=${service}&attr=http.route=/pay`))).toEqual([traces[4]!.traceId, traces[2]!.traceId]);
    expect(ids(await q(`service=${service}&attr=http.status_code=500`))).toEqual([traces[1]!.traceId]);
    // A resource attribute matches too; several filters must all match one span.
    expect(ids(await q(`attr=service.name=${service}&attr=http.route=/pay&minDuration=500ms`))).toEqual([
      traces[2]!.traceId,
    ]);
    expect(ids(await q(`service=db&status=error&from=${base - 1}`))).toContain(traces[1]!.traceId);
    expect(ids(await q(`service=${service}&name=GET%20/pay`))).toEqual([traces[4]!.traceId, traces[2]!.traceId]);
    expect(ids(await q(`service=${service}&maxDuration=100ms&attr=http.route=/pay`))).toEqual([traces[4]!.traceId]);
    // LIKE wildcards in a value are literal.
    expect(
      ids(await q(`service=db&attr=db.statement=select * from orders where id = 100%25_!&from=${base - 1}`)).length,
    ).toBeGreaterThanOrEqual(5);
    expect(ids(await q(`service=db&attr=db.statement=select%25&from=${base - 1}`))).toEqual([]);
    // Time range: only the first two.
    expect(ids(await q(`service=${service}&from=${base - 1}&to=${base + 1500}`))).toEqual([
      traces[1]!.traceId,
      traces[0]!.traceId,
    ]);

    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: PageOf<TraceSummary> = await q(
        `service=${service}&limit=2${cursor === null ? '' : `&cursor=${encodeURIComponent(cursor)}`}`,
      );
      expect(page.items.length).toBeLessThanOrEqual(2);
      seen.push(...ids(page));
      cursor = page.nextCursor;
    } while (cursor !== null);
    expect(seen).toEqual(traces.map((t) => t.traceId).reverse());

    const summary = (await q(`service=${service}&attr=http.status_code=500`)).items[0]!;
    expect(summary).toMatchObject({ spanCount: 3, errorCount: 1, rootService: service, rootName: 'GET /orders' });

    const bad = await hub.api('GET', `/api/v1/traces?minDuration=fast`);
    expect(bad.status).toBe(400);
    expect(bad.body.error.message).toMatch(/duration/);
    const inverted = await hub.api('GET', `/api/v1/traces?minDuration=2s&maxDuration=1s`);
    expect(inverted.status).toBe(400);
  });

  it('lists services and operations', async () => {
    const services = await hub.api<{ items: { name: string }[] }>('GET', '/api/v1/traces/services');
    expect(services.body.items.map((s) => s.name)).toEqual(expect.arrayContaining(['orders', 'db']));
    const ops = await hub.api<{ items: { service: string; name: string; kind: string }[] }>(
      'GET',
      '/api/v1/traces/operations?service=db',
    );
    expect(ops.body.items).toEqual([expect.objectContaining({ service: 'db', name: 'select orders', kind: 'client' })]);
  });

  it('removes spans older than the retention and keeps newer ones', async () => {
    const start = Date.now();
    clock = start;
    const old = shopTrace('retention', start - 5000);
    expect((await send(old.spans)).status).toBe(200);
    clock = start + RETENTION_MS;
    const fresh = shopTrace('retention', start);
    expect((await send(fresh.spans)).status).toBe(200);

    // Not yet: the old spans' bucket is within the limit.
    await hub.app.traces.sweep(start + RETENTION_MS - 1);
    expect((await hub.api('GET', `/api/v1/traces/${old.traceId}`)).status).toBe(200);

    const result = await hub.app.traces.sweep(start + RETENTION_MS + (2 * 60_000) / 24 + 1);
    expect(result.deletedSpans).toBeGreaterThanOrEqual(3);
    expect((await hub.api('GET', `/api/v1/traces/${old.traceId}`)).status).toBe(404);
    const kept = await hub.api<Trace>('GET', `/api/v1/traces/${fresh.traceId}`);
    expect(kept.status).toBe(200);
    expect(kept.body.spanCount).toBe(3);
    // PostgreSQL: the partition that held the old spans was dropped, no partition ends before the cut-off.
    if (hub.dialect === 'postgres') {
      const ends = (await partitions()).flatMap((n) => /^spans_p\d+_(\d+)$/.exec(n)?.[1] ?? []).map(Number);
      expect(ends.length).toBeGreaterThan(0);
      expect(ends.filter((end) => end <= start + 1)).toEqual([]);
    }
    clock = Date.now();
  });

  it('removes the oldest spans while the store is over its size limit, never the newest bucket', async () => {
    const base = Date.now() + 10 * RETENTION_MS;
    const big = 'x'.repeat(4000);
    const batches: string[][] = [];
    for (let b = 0; b < 3; b++) {
      clock = base + b * RETENTION_MS;
      const spans = Array.from({ length: 20 }, (_, i) => ({
        name: `big-${b}-${i}`,
        service: 'size',
        startMs: Date.now(),
        durationMs: 1,
        attributes: { payload: big },
      }));
      const res = await send(spans);
      expect(res.status).toBe(200);
      batches.push([]);
    }
    const before = await hub.app.traces.store.stats();
    const perBatch = 20 * 4100;
    // Room for a bit more than one batch: the two oldest go.
    const result = await hub.app.traces.store.sweep(
      { maxAgeMs: 1e12, maxBytes: before.bytes - 2 * perBatch - 1000 },
      clock,
    );
    expect(result.deletedSpans).toBeGreaterThanOrEqual(40);
    const names = (await hub.api<PageOf<TraceSummary>>('GET', `/api/v1/traces?service=size&limit=100`)).body.items.map(
      (t) => t.rootName,
    );
    expect(names.filter((n) => n?.startsWith('big-2-'))).toHaveLength(20);
    expect(names.filter((n) => n?.startsWith('big-0-') || n?.startsWith('big-1-'))).toEqual([]);
    expect(batches).toHaveLength(3);
    clock = Date.now();
  });

  async function partitions(): Promise<string[]> {
    if (hub.dialect !== 'postgres') return [];
    const rows = await sql<{ name: string }>`select c.relname as name from pg_inherits i
      join pg_class c on c.oid = i.inhrelid join pg_class p on p.oid = i.inhparent where p.relname = 'spans'`.execute(
      hub.storage.db,
    );
    return rows.rows.map((r) => r.name);
  }
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHub, newSpanId, newTraceId, otlpJsonRequest, type TestHub } from '../../test/kit/index.js';

/** The Jaeger-compatible query API answers in the shapes the Jaeger UI and Grafana's Jaeger data source read. */
describe('Jaeger-compatible query API', () => {
  let hub: TestHub;
  const traceId = newTraceId();
  const root = newSpanId();
  const child = newSpanId();
  const now = Date.now();

  beforeAll(async () => {
    hub = await createHub();
    const pool = await hub.createPool();
    const body = otlpJsonRequest([
      {
        traceId,
        spanId: root,
        name: 'GET /cart',
        service: 'web',
        kind: 2,
        startMs: now - 3000,
        durationMs: 250,
        attributes: { 'http.status_code': 200, 'http.route': '/cart' },
        events: [{ name: 'cache miss', atMs: now - 2990, attributes: { key: 'cart:1' } }],
      },
      {
        traceId,
        spanId: child,
        parentSpanId: root,
        name: 'load cart',
        service: 'carts',
        kind: 3,
        startMs: now - 2980,
        durationMs: 200,
        status: { code: 2, message: 'timeout' },
        attributes: { retries: 2, ratio: 0.5, cached: false },
      },
      {
        name: 'GET /health',
        service: 'web',
        kind: 2,
        startMs: now - 1000,
        durationMs: 1,
        attributes: { 'http.route': '/health' },
      },
    ]) as { resourceSpans: { resource: { attributes: unknown[] } }[] };
    body.resourceSpans[0]!.resource.attributes.push({ key: 'host.name', value: { stringValue: 'node-1' } });
    const res = await hub.app.inject({
      method: 'POST',
      url: '/v1/traces',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${pool.key}` },
      payload: JSON.stringify(body),
    });
    expect(res.statusCode).toBe(200);
  });
  afterAll(() => hub?.close());

  const get = (path: string) => hub.api('GET', `/api/jaeger/api${path}`, undefined, 'viewer');

  it('services and operations', async () => {
    const services = await get('/services');
    expect(services.status).toBe(200);
    expect(services.body).toEqual({
      data: expect.arrayContaining(['web', 'carts']),
      total: 2,
      limit: 0,
      offset: 0,
      errors: null,
    });
    const ops = await get('/services/web/operations');
    expect(ops.body.data.sort()).toEqual(['GET /cart', 'GET /health']);
    const typed = await get('/operations?service=carts&spanKind=client');
    expect(typed.body.data).toEqual([{ name: 'load cart', spanKind: 'client' }]);
    expect((await get('/operations')).status).toBe(400);
  });

  it('a trace: spans with references, tags, logs and processes', async () => {
    const res = await get(`/traces/${traceId}`);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ total: 1, limit: 0, offset: 0, errors: null });
    const trace = res.body.data[0];
    expect(trace.traceID).toBe(traceId);
    expect(Object.values(trace.processes)).toEqual(
      expect.arrayContaining([
        { serviceName: 'web', tags: [{ key: 'host.name', type: 'string', value: 'node-1' }] },
        { serviceName: 'carts', tags: [] },
      ]),
    );
    const span = (name: string) => trace.spans.find((s: { operationName: string }) => s.operationName === name);
    const r = span('GET /cart');
    expect(r).toMatchObject({
      traceID: traceId,
      spanID: root,
      flags: 1,
      references: [],
      duration: 250_000,
      warnings: null,
    });
    expect(trace.processes[r.processID].serviceName).toBe('web');
    expect(r.startTime).toBe((now - 3000) * 1000);
    expect(r.tags).toEqual(
      expect.arrayContaining([
        { key: 'http.status_code', type: 'int64', value: 200 },
        { key: 'span.kind', type: 'string', value: 'server' },
        { key: 'otel.scope.name', type: 'string', value: 'test' },
      ]),
    );
    expect(r.logs).toEqual([
      {
        timestamp: (now - 2990) * 1000,
        fields: [
          { key: 'event', type: 'string', value: 'cache miss' },
          { key: 'key', type: 'string', value: 'cart:1' },
        ],
      },
    ]);
    const c = span('load cart');
    expect(c.references).toEqual([{ refType: 'CHILD_OF', traceID: traceId, spanID: root }]);
    expect(c.tags).toEqual(
      expect.arrayContaining([
        { key: 'retries', type: 'int64', value: 2 },
        { key: 'ratio', type: 'float64', value: 0.5 },
        { key: 'cached', type: 'bool', value: false },
        { key: 'error', type: 'bool', value: true },
        { key: 'otel.status_code', type: 'string', value: 'ERROR' },
        { key: 'otel.status_description', type: 'string', value: 'timeout' },
      ]),
    );
    // Upper case works too (Grafana and the UI pass ids as they got them).
    expect((await get(`/traces/${traceId.toUpperCase()}`)).status).toBe(200);
  });

  it('search by service, operation, tags (JSON and logfmt), duration and time', async () => {
    const ids = (body: { data: { traceID: string }[] }) => body.data.map((t) => t.traceID);
    const start = (now - 60_000) * 1000;
    const end = (now + 1000) * 1000;
    const all = await get(`/traces?service=web&start=${start}&end=${end}&limit=20`);
    expect(all.body.data).toHaveLength(2);
    expect(all.body.data[1].traceID).toBe(traceId);
    const json = await get(`/traces?service=web&tags=${encodeURIComponent('{"http.route":"/cart"}')}&lookback=1h`);
    expect(ids(json.body)).toEqual([traceId]);
    const logfmt = await get(`/traces?service=carts&tags=${encodeURIComponent('error=true retries=2')}`);
    expect(ids(logfmt.body)).toEqual([traceId]);
    const slow = await get(`/traces?service=web&minDuration=100ms&operation=${encodeURIComponent('GET /cart')}`);
    expect(ids(slow.body)).toEqual([traceId]);
    const tooSlow = await get('/traces?service=web&minDuration=1.5s');
    expect(tooSlow.body.data).toEqual([]);
    const byIds = await get(`/traces?traceID=${traceId}`);
    expect(ids(byIds.body)).toEqual([traceId]);
  });

  it('dependencies: calls between services from parent and child spans', async () => {
    const res = await get(`/dependencies?endTs=${now + 1000}&lookback=3600000`);
    expect(res.body.data).toEqual([{ parent: 'web', child: 'carts', callCount: 1 }]);
  });

  it('errors in Jaeger shape', async () => {
    const missing = await get(`/traces/${newTraceId()}`);
    expect(missing.status).toBe(404);
    expect(missing.body).toEqual({
      data: null,
      total: 0,
      limit: 0,
      offset: 0,
      errors: [{ code: 404, msg: 'trace not found' }],
    });
    const badId = await get('/traces/not-hex');
    expect(badId.status).toBe(400);
    expect(badId.body.errors[0].msg).toMatch(/malformed trace id/);
    const noService = await get('/traces?limit=5');
    expect(noService.body.errors).toEqual([{ code: 400, msg: "parameter 'service' is required" }]);
    const badDuration = await get('/traces?service=web&minDuration=soon');
    expect(badDuration.body.errors[0].msg).toMatch(/cannot parse minDuration/);
    const badTags = await get(`/traces?service=web&tags=${encodeURIComponent('{"a":')}`);
    expect(badTags.status).toBe(400);
    const anonymous = await hub.api('GET', '/api/jaeger/api/services', undefined, 'anonymous');
    expect(anonymous.status).toBe(401);
  });
});

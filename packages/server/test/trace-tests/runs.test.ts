import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Span } from '@spyglass/protocol';
import type { StoredResource, TestRun } from '@spyglass/trace-tests';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BOOKS_PROTO, createHub, startTracedApp, type TestHub, type TestPool, type TracedApp } from '../kit/index.js';
import { FAST_POLLING, apply, describeRun, failures, runSuite, runTest, testResource } from './helpers.js';

/**
 * Trace-based tests end to end: a hub with its OTLP receiver, a bookstore instrumented with the OpenTelemetry SDK
 * exporting to it, tests applied and run over the REST API — http, grpc and traceid triggers, outputs, suites,
 * variable sets with secrets, failing assertions per span, late spans, and the four propagation formats.
 */
describe('trace-based test runs against an instrumented app', () => {
  let hub: TestHub;
  let pool: TestPool;
  let app: TracedApp;

  beforeAll(async () => {
    hub = await createHub({ listen: true, otlp: true });
    pool = await hub.createPool();
    app = await startTracedApp({ otlpUrl: hub.otlpHttpUrl, poolKey: pool.key });
    await apply(hub, FAST_POLLING);
  }, 60_000);
  afterAll(async () => {
    await app?.close();
    await hub?.close();
  });

  it('an http test passes: trigger span, the app spans under it, outputs before specs, results per span', async () => {
    await apply(
      hub,
      testResource({
        id: 'get-book',
        name: 'Get a book',
        trigger: { type: 'http', httpRequest: { method: 'GET', url: `${app.url}/books/1`, headers: [] } },
        outputs: [
          {
            name: 'TITLE',
            selector: 'span[name="Tracetest trigger"]',
            value: "attr:tracetest.response.body | json_path '$.title'",
          },
        ],
        specs: [
          {
            selector: 'span[tracetest.span.type="general" name="Tracetest trigger"]',
            name: 'the answer',
            assertions: [
              'attr:tracetest.response.status = 200',
              'attr:tracetest.response.body | json_path \'$.title\' = "The Hobbit"',
              'attr:tracetest.response.body | json_path \'$.title\' = "${var:TITLE}"',
            ],
          },
          {
            selector: 'span[tracetest.span.type="http" name="GET /books/:id" kind="server"]',
            assertions: [
              'attr:http.status_code = 200',
              'attr:tracetest.span.duration < 5s',
              'attr:tracetest.selected_spans.count = 1',
            ],
          },
          {
            selector: 'span[name="GET /books/:id"] span[tracetest.span.type="database"]',
            assertions: ['attr:db.statement contains "WHERE id = 1"', 'attr:db.system = "sqlite"'],
          },
        ],
      }),
    );
    const run = await runTest(hub, 'get-book');
    expect(run.state, describeRun(run)).toBe('FINISHED');
    expect(run.passed, describeRun(run)).toBe(true);
    expect(app.traceIds).toContain(run.traceId);
    expect(run.trigger).toMatchObject({ type: 'http', status: 200, bodyTruncated: false });
    expect(JSON.parse(run.trigger!.body)).toMatchObject({ title: 'The Hobbit' });
    expect(run.outputs).toEqual([{ name: 'TITLE', value: 'The Hobbit', spanId: run.triggerSpanId }]);
    expect(run.results!.map((r) => r.spanIds.length)).toEqual([1, 1, 1]);
    expect(run.results![0]!.spanIds).toEqual([run.triggerSpanId]);
    expect(run.spanCount).toBe(3);
    // The run's trace is in the span store: the trigger span is the root, the app's server span under it.
    const trace = await hub.api<{ spans: Span[] }>('GET', `/api/v1/traces/${run.traceId}`, undefined, 'viewer');
    const trigger = trace.body.spans.find((s) => s.spanId === run.triggerSpanId)!;
    expect(trigger).toMatchObject({ name: 'Tracetest trigger', service: 'tracetest', parentSpanId: null });
    expect(trace.body.spans.find((s) => s.name === 'GET /books/:id')?.parentSpanId).toBe(run.triggerSpanId);
    // Run numbers count per test.
    expect((await runTest(hub, 'get-book')).runNumber).toBe(run.runNumber + 1);
  });

  it('a failing assertion is reported per span with the observed value; the run still FINISHES', async () => {
    await apply(
      hub,
      testResource({
        id: 'book-out-of-stock',
        trigger: { type: 'http', httpRequest: { method: 'GET', url: `${app.url}/books/2`, headers: [] } },
        specs: [
          {
            selector: 'span[name="Tracetest trigger"]',
            assertions: [
              "attr:tracetest.response.body | json_path '$.stock' > 0",
              'attr:tracetest.response.status = 200',
            ],
          },
          { selector: 'span[name="no such span"]', assertions: ['attr:http.status_code = 200'] },
        ],
      }),
    );
    const run = await runTest(hub, 'book-out-of-stock');
    expect(run.state, describeRun(run)).toBe('FINISHED');
    expect(run.passed).toBe(false);
    const [answer, missing] = run.results!;
    expect(answer!.passed).toBe(false);
    expect(answer!.assertions[0]).toMatchObject({
      passed: false,
      spans: [{ spanId: run.triggerSpanId, observed: '0', passed: false }],
    });
    expect(answer!.assertions[1]!.passed).toBe(true);
    expect(missing).toMatchObject({ passed: false, spanIds: [] });
    expect(missing!.assertions[0]!.spans[0]).toMatchObject({ spanId: null, passed: false });
    expect(missing!.assertions[0]!.spans[0]!.error).toMatch(/no matching spans/);
  });

  it('a grpc trigger calls the method from the proto text and the app joins the trace from the metadata', async () => {
    await apply(
      hub,
      testResource({
        id: 'grpc-book',
        trigger: {
          type: 'grpc',
          grpc: {
            protobufFile: BOOKS_PROTO,
            address: app.grpcAddress,
            method: 'shop.Books.Get',
            metadata: [{ key: 'x-client', value: 'spyglass' }],
            request: '{"book_id": 1}',
          },
        },
        specs: [
          {
            selector: 'span[name="Tracetest trigger"]',
            assertions: [
              'attr:tracetest.response.status = 0',
              "attr:tracetest.response.body | json_path '$.stockCount' = 3",
            ],
          },
          {
            selector: 'span[tracetest.span.type="rpc" rpc.method="Get"]',
            assertions: ['attr:rpc.grpc.status_code = 0'],
          },
          {
            selector: 'span[tracetest.span.type="rpc"] span[tracetest.span.type="database"]',
            assertions: ['attr:db.rows = 1'],
          },
        ],
      }),
    );
    const run = await runTest(hub, 'grpc-book');
    expect(run.state, describeRun(run)).toBe('FINISHED');
    expect(run.passed, describeRun(run)).toBe(true);
    expect(run.trigger).toMatchObject({ type: 'grpc', status: 0, target: `shop.Books/Get @ ${app.grpcAddress}` });
  });

  it('a traceid trigger adopts a trace the test did not start', async () => {
    const traceId = 'ab'.repeat(16);
    const res = await fetch(`${app.url}/books/1`, { headers: { traceparent: `00-${traceId}-${'cd'.repeat(8)}-01` } });
    expect(res.status).toBe(200);
    await apply(
      hub,
      testResource({
        id: 'adopt-trace',
        trigger: { type: 'traceid', traceid: { id: '${var:TRACE_ID}' } },
        specs: [{ selector: 'span[name="GET /books/:id"]', assertions: ['attr:http.status_code = 200'] }],
      }),
    );
    const run = await runTest(hub, 'adopt-trace', { variables: [{ key: 'TRACE_ID', value: traceId }] });
    expect(run.state, describeRun(run)).toBe('FINISHED');
    expect(run.passed, describeRun(run)).toBe(true);
    expect(run.traceId).toBe(traceId);
    expect(run.trigger).toBeNull();

    const unknown = await runTest(hub, 'adopt-trace', { variables: [{ key: 'TRACE_ID', value: 'not-a-trace-id' }] });
    expect(unknown.state).toBe('TRIGGER_FAILED');
    expect(unknown.lastError).toMatch(/not a trace id/);
    const missing = await runTest(hub, 'adopt-trace');
    expect(missing.state).toBe('TRIGGER_FAILED');
    expect(missing.lastError).toMatch(/variable "TRACE_ID" not found/);
  });

  it('a suite shares variables: the first step’s output feeds the second step’s request', async () => {
    await apply(
      hub,
      testResource({
        id: 'suite-read',
        trigger: { type: 'http', httpRequest: { method: 'GET', url: `${app.url}/books/1`, headers: [] } },
        outputs: [
          {
            name: 'BOOK_TITLE',
            selector: 'span[name="Tracetest trigger"]',
            value: "attr:tracetest.response.body | json_path '$.title'",
          },
        ],
        specs: [{ selector: 'span[name="Tracetest trigger"]', assertions: ['attr:tracetest.response.status = 200'] }],
      }),
      testResource({
        id: 'suite-write',
        trigger: {
          type: 'http',
          httpRequest: {
            method: 'POST',
            url: `${app.url}/books`,
            headers: [{ key: 'Content-Type', value: 'application/json' }],
            body: '{"title": "${var:BOOK_TITLE} (2nd edition)"}',
          },
        },
        specs: [
          { selector: 'span[name="validate book"]', assertions: ['attr:book.title = "The Hobbit (2nd edition)"'] },
          { selector: 'span[name="Tracetest trigger"]', assertions: ['attr:tracetest.response.status = 201'] },
        ],
      }),
      { type: 'TestSuite', spec: { id: 'books-suite', name: 'Books', steps: ['suite-read', 'suite-write'] } },
    );
    const suite = await runSuite(hub, 'books-suite');
    expect(suite.state, JSON.stringify(suite.steps.map(describeRun))).toBe('FINISHED');
    expect(suite.passed).toBe(true);
    expect(suite.steps.map((s) => [s.testId, s.state, s.passed])).toEqual([
      ['suite-read', 'FINISHED', true],
      ['suite-write', 'FINISHED', true],
    ]);
    expect(suite.variables).toContainEqual({ key: 'BOOK_TITLE', value: 'The Hobbit', type: 'raw' });
    expect(suite.steps.every((s) => s.suiteRunId === suite.id)).toBe(true);
  });

  it('a variable set’s secret reaches the request but is never answered, stored in the clear, or put on a span', async () => {
    await apply(
      hub,
      {
        type: 'VariableSet',
        spec: {
          id: 'staging',
          name: 'Staging',
          values: [
            { key: 'TOKEN', value: 'Bearer s3cr3t-token-value', type: 'secret' },
            { key: 'TITLE', value: 'Emma' },
          ],
        },
      },
      testResource({
        id: 'secret-auth',
        trigger: {
          type: 'http',
          httpRequest: {
            method: 'POST',
            url: `${app.url}/books`,
            headers: [],
            body: '{"title": "${var:TITLE}"}',
            auth: { type: 'bearer', bearer: { token: '${var:TOKEN}' } },
          },
        },
        specs: [
          {
            selector: 'span[name="Tracetest trigger"]',
            assertions: ['attr:tracetest.response.body | json_path \'$.auth\' = "***"'],
          },
        ],
      }),
    );
    const stored = await hub.api<StoredResource>(
      'GET',
      '/api/v1/test-resources/VariableSet/staging',
      undefined,
      'viewer',
    );
    expect(JSON.stringify(stored.body)).not.toContain('s3cr3t');
    const run = await runTest(hub, 'secret-auth', { variableSetId: 'staging' });
    expect(run.state, describeRun(run)).toBe('FINISHED');
    expect(run.passed, describeRun(run)).toBe(true);
    expect(JSON.stringify(run)).not.toContain('s3cr3t');
    expect(run.variables).toContainEqual({ key: 'TOKEN', value: '', type: 'secret' });
    const trace = await hub.api('GET', `/api/v1/traces/${run.traceId}`, undefined, 'viewer');
    expect(JSON.stringify(trace.body)).not.toContain('s3cr3t');
    expect(hub.logs.text()).not.toContain('s3cr3t');
  });

  it('spans that arrive late are waited for while a selector still matches nothing', async () => {
    const late = await startTracedApp({
      otlpUrl: hub.otlpHttpUrl,
      poolKey: pool.key,
      service: 'late-books',
      lateSpanMs: 2500,
    });
    try {
      await apply(
        hub,
        testResource({
          id: 'late-db-span',
          pollingProfile: 'patient',
          trigger: { type: 'http', httpRequest: { method: 'GET', url: `${late.url}/books/1`, headers: [] } },
          specs: [{ selector: 'span[tracetest.span.type="database"]', assertions: ['attr:db.system = "sqlite"'] }],
        }),
        {
          type: 'PollingProfile',
          spec: {
            id: 'patient',
            name: 'patient',
            strategy: 'periodic',
            periodic: { retryDelay: '300ms', timeout: '30s', selectorMatchRetries: 20 },
          },
        },
      );
      const run = await runTest(hub, 'late-db-span');
      expect(run.state, describeRun(run)).toBe('FINISHED');
      expect(run.passed, describeRun(run)).toBe(true);
      expect(run.timings.traceMs).toBeGreaterThanOrEqual(2000);
    } finally {
      await late.close();
    }
  });

  it.each(['b3', 'b3multi', 'jaeger', 'w3c'] as const)(
    'an app reading only %s headers joins the run’s trace',
    async (propagation) => {
      const other = await startTracedApp({
        otlpUrl: hub.otlpHttpUrl,
        poolKey: pool.key,
        service: `books-${propagation}`,
        propagation,
      });
      try {
        await apply(
          hub,
          testResource({
            id: `propagation-${propagation}`,
            trigger: { type: 'http', httpRequest: { method: 'GET', url: `${other.url}/books/1`, headers: [] } },
            specs: [
              {
                selector: `span[name="Tracetest trigger"] span[service.name="books-${propagation}"]`,
                assertions: ['attr:tracetest.selected_spans.count = 2'],
              },
            ],
          }),
        );
        const run = await runTest(hub, `propagation-${propagation}`);
        expect(run.passed, describeRun(run)).toBe(true);
        expect(other.traceIds).toEqual([run.traceId]);
      } finally {
        await other.close();
      }
    },
  );

  it('a trace that never comes is TRACE_FAILED with the trace id; an unreachable target is TRIGGER_FAILED', async () => {
    const silent: Server = createServer((_req, res) => res.end('ok'));
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    const port = (silent.address() as AddressInfo).port;
    try {
      await apply(
        hub,
        {
          type: 'PollingProfile',
          spec: { id: 'short', name: 'short', strategy: 'periodic', periodic: { retryDelay: '100ms', timeout: '1s' } },
        },
        testResource({
          id: 'no-trace',
          pollingProfile: 'short',
          trigger: { type: 'http', httpRequest: { method: 'GET', url: `127.0.0.1:${port}/`, headers: [] } },
          specs: [{ selector: '', assertions: ['attr:tracetest.selected_spans.count > 1'] }],
        }),
      );
      const run = await runTest(hub, 'no-trace');
      expect(run.state).toBe('TRACE_FAILED');
      expect(run.lastError).toContain(`Timed out without finding trace, trace id "${run.traceId}"`);
      expect(run.trigger?.status).toBe(200);
    } finally {
      await new Promise<void>((r) => silent.close(() => r()));
    }
    // The port is closed now: nothing listens there.
    const unreachable = await runTest(hub, 'no-trace');
    expect(unreachable.state).toBe('TRIGGER_FAILED');
    expect(unreachable.lastError).toMatch(/ECONNREFUSED/);
  });

  it('a run of a test that is not stored, or with an unknown variable set, is refused at once', async () => {
    type Err = { error: { code: string; message: string } };
    const missing = await hub.api<Err>('POST', '/api/v1/tests/nope/run', {}, 'developer');
    expect(missing.status).toBe(404);
    expect(missing.body.error.message).toBe('test "nope" not found (apply it first)');
    const vars = await hub.api<Err>('POST', '/api/v1/tests/get-book/run', { variableSetId: 'nope' }, 'developer');
    expect(vars.status).toBe(404);
    expect(vars.body.error.message).toBe('variable set "nope" not found');
  });

  it('lists tests with their last verdict and a test’s runs newest first', async () => {
    const list = await hub.api<{ items: { id: string; lastRun: { passed: boolean | null } | null }[] }>(
      'GET',
      '/api/v1/tests?limit=100',
      undefined,
      'viewer',
    );
    const byId = new Map(list.body.items.map((t) => [t.id, t]));
    expect(byId.get('get-book')?.lastRun?.passed).toBe(true);
    expect(byId.get('book-out-of-stock')?.lastRun?.passed).toBe(false);
    const runs = await hub.api<{ items: TestRun[] }>('GET', '/api/v1/tests/get-book/runs', undefined, 'viewer');
    expect(runs.body.items.map((r) => r.runNumber)).toEqual([2, 1]);
    expect(failures(runs.body.items[0]!)).toEqual([]);
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serve, type Served } from '../../src/trace-tests/sources/testing.js';
import { createHub, type TestHub } from '../kit/index.js';
import { apply, describeRun, runTest, testResource } from './helpers.js';

/**
 * A test whose traces live in Jaeger: the default DataStore points at a Jaeger query API (a stand-in on loopback that
 * answers `GET /api/traces/{id}` in Jaeger's JSON, as the real one does), and the run polls it for its trace.
 */
describe('trace-based tests reading traces from Jaeger', () => {
  let hub: TestHub;
  let jaeger: Served;
  let app: Served;

  beforeAll(async () => {
    hub = await createHub({ listen: true });
    // The app: answers, and its "tracer" reports the span to Jaeger under the trace id it was given.
    const reported = new Map<string, { traceparent: string; startUs: number }>();
    app = await serve((req, res) => {
      const tp = String(req.headers.traceparent ?? '');
      const traceId = tp.split('-')[1] ?? '';
      reported.set(traceId, { traceparent: tp, startUs: Date.now() * 1000 });
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
    });
    jaeger = await serve((req, res) => {
      const id = /^\/api\/traces\/([0-9a-f]{32})$/.exec(req.url ?? '')?.[1];
      const seen = id === undefined ? undefined : reported.get(id);
      if (id === undefined || seen === undefined) {
        res.writeHead(404, { 'content-type': 'application/json' });
        res.end(
          JSON.stringify({
            data: null,
            total: 0,
            limit: 0,
            offset: 0,
            errors: [{ code: 404, msg: 'trace not found' }],
          }),
        );
        return;
      }
      const parent = seen.traceparent.split('-')[2]!;
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          data: [
            {
              traceID: id,
              spans: [
                {
                  traceID: id,
                  spanID: '00000000000000a1',
                  operationName: 'GET /things',
                  references: [{ refType: 'CHILD_OF', traceID: id, spanID: parent }],
                  startTime: seen.startUs,
                  duration: 1200,
                  tags: [
                    { key: 'span.kind', type: 'string', value: 'server' },
                    { key: 'http.status_code', type: 'int64', value: 200 },
                  ],
                  logs: [],
                  processID: 'p1',
                  warnings: null,
                },
              ],
              processes: { p1: { serviceName: 'things', tags: [] } },
              warnings: null,
            },
          ],
          total: 0,
          limit: 0,
          offset: 0,
          errors: null,
        }),
      );
    });
  }, 60_000);
  afterAll(async () => {
    await app?.close();
    await jaeger?.close();
    await hub?.close();
  });

  it('polls the default Jaeger data store for the run’s trace and asserts on its spans', async () => {
    await apply(
      hub,
      {
        type: 'DataStore',
        spec: { id: 'jaeger', name: 'Jaeger', type: 'jaeger', default: true, jaeger: { endpoint: jaeger.url } },
      },
      {
        type: 'PollingProfile',
        spec: { id: 'p', name: 'p', default: true, periodic: { retryDelay: '200ms', timeout: '10s' } },
      },
      testResource({
        id: 'from-jaeger',
        trigger: { type: 'http', httpRequest: { method: 'GET', url: `${app.url}/things`, headers: [] } },
        specs: [
          { selector: 'span[service.name="things" kind="server"]', assertions: ['attr:http.status_code = 200'] },
          {
            selector: 'span[name="Tracetest trigger"] span[name="GET /things"]',
            assertions: ['attr:tracetest.selected_spans.count = 1'],
          },
        ],
      }),
    );
    const run = await runTest(hub, 'from-jaeger');
    expect(run.state, describeRun(run)).toBe('FINISHED');
    expect(run.passed, describeRun(run)).toBe(true);
    expect(jaeger.requests.some((r) => r.url === `/api/traces/${run.traceId}`)).toBe(true);
  });

  it('a trace Jaeger never has ends TRACE_FAILED naming Jaeger', async () => {
    await apply(
      hub,
      {
        type: 'PollingProfile',
        spec: { id: 'short', name: 'short', periodic: { retryDelay: '100ms', timeout: '1s' } },
      },
      testResource({
        id: 'not-in-jaeger',
        pollingProfile: 'short',
        trigger: { type: 'traceid', traceid: { id: 'ef'.repeat(16) } },
        specs: [{ selector: '', assertions: ['attr:tracetest.selected_spans.count > 0'] }],
      }),
    );
    const run = await runTest(hub, 'not-in-jaeger');
    expect(run.state).toBe('TRACE_FAILED');
    expect(run.lastError).toMatch(
      /Timed out without finding trace, trace id "e{0}(ef){16}" \(jaeger at http:\/\/127\.0\.0\.1:\d+ .*had no span of it within 1000 ms/,
    );
  });
});

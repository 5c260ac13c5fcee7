import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventList, rollout, RS_NAME } from '../k8s/audit-rollout.js';
import { createHub, startExampleShop, waitFor, type ExampleShop, type TestHub } from '../kit/index.js';
import { FAST_POLLING, apply, testResource } from '../trace-tests/helpers.js';

type Result = { content: { type: string; text?: string }[]; isError?: boolean };

/**
 * The traces, tests and Kubernetes toolsets through the official MCP SDK client: a trace-based test run against the
 * shop (traced with the OpenTelemetry SDK) read back as a verdict and a span tree, and a Deployment rollout posted to
 * the audit webhook read back as one trace per object.
 */
describe('MCP toolsets: traces, tests, k8s', () => {
  let hub: TestHub;
  let shop: ExampleShop;
  let client: Client;

  beforeAll(async () => {
    hub = await createHub({ listen: true, otlp: true, timers: 'default' });
    const pool = await hub.createPool();
    shop = await startExampleShop(hub.url, pool.key, { otlpUrl: hub.otlpHttpUrl });
    await waitFor(async () => (await hub.api<{ items: unknown[] }>('GET', '/api/v1/agents')).body.items.length === 1, {
      what: 'the shop agent to connect',
      timeoutMs: 30_000,
      detail: () => shop.output(),
    });
    await apply(hub, FAST_POLLING);
    const posted = await fetch(`${hub.url}/api/v1/k8s/audit/prod`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${pool.key}` },
      body: JSON.stringify(eventList(rollout(3, Date.now() - 10 * 60_000).events)),
    });
    expect(posted.status).toBe(200);
    client = new Client({ name: 'spyglass-test', version: '1.0.0' });
    await client.connect(
      new StreamableHTTPClientTransport(new URL(`${hub.url}/mcp`), { requestInit: { headers: hub.auth('developer') } }),
    );
  }, 90_000);
  afterAll(async () => {
    await client?.close();
    shop?.stop();
    await hub?.close();
  });

  const call = async (name: string, args: Record<string, unknown> = {}) => {
    const r = (await client.callTool({ name, arguments: args })) as Result;
    return { text: r.content.map((c) => c.text ?? '').join('\n'), isError: r.isError === true };
  };

  it('lists every toolset within the visible-tool budget', async () => {
    const { tools } = await client.listTools();
    const sets = new Set(tools.map((t) => (t._meta as Record<string, unknown>)['spyglass/toolset']));
    expect(sets).toEqual(new Set(['live', 'traces', 'tests', 'k8s']));
    expect(tools.length).toBeLessThanOrEqual(20);
  });

  it('runs a trace-based test, reads its verdict and its trace', { timeout: 90_000 }, async () => {
    await apply(
      hub,
      testResource({
        id: 'place-order',
        name: 'place an order',
        trigger: {
          type: 'http',
          httpRequest: {
            method: 'POST',
            url: `${shop.url}/orders`,
            headers: [{ key: 'Content-Type', value: 'application/json' }],
            body: JSON.stringify({
              customer: { id: 'c7', email: 'eve@example.com' },
              items: [{ sku: 'mug', quantity: 1 }],
            }),
          },
        },
        specs: [
          { selector: 'span[name="checkout.place_order"]', assertions: ['attr:tracetest.span.duration < 10s'] },
          {
            selector: 'span[name="checkout.place_order"]:first',
            name: 'wrong on purpose',
            assertions: ['attr:order.items = 99'],
          },
        ],
      }),
    );
    expect((await call('list_tests')).text).toMatch(
      /^place-order · place an order · http trigger · 2 specs · never run/m,
    );
    const started = await call('run_test', { testId: 'place-order' });
    expect(started.isError, started.text).toBe(false);
    const runNumber = Number(/ run (\d+) /.exec(started.text)![1]);
    const verdict = await waitFor(
      async () => {
        const r = await call('get_test_run', { testId: 'place-order', runNumber });
        return /Still running/.test(r.text) ? undefined : r.text;
      },
      { what: 'the run to finish', timeoutMs: 60_000 },
    );
    expect(verdict).toMatch(/· FINISHED · FAILED · trace [0-9a-f]{32}/);
    expect(verdict).toMatch(/^pass spec 0 /m);
    expect(verdict).toMatch(/^FAIL spec 1 wrong on purpose/m);
    expect(verdict).toMatch(/failed attr:order\.items = 99 · observed /);

    const traceId = /trace ([0-9a-f]{32})/.exec(verdict)![1]!;
    const tree = await call('get_trace', { traceId });
    expect(tree.isError, tree.text).toBe(false);
    expect(tree.text).toMatch(/^\s+checkout\.place_order \[shop\] .* · span [0-9a-f]{16}/m);
    const spanId = /checkout\.place_order \[shop\] .* · span ([0-9a-f]{16})/.exec(tree.text)![1]!;
    const span = await call('get_trace', { traceId, spanId });
    expect(span.text).toMatch(/^checkout\.place_order \[shop\] /);

    const found = await call('search_traces', { service: 'shop', name: 'checkout.place_order' });
    expect(found.text).toContain(traceId);
    const none = await call('search_traces', { service: 'nobody' });
    expect(none.text).toMatch(/No traces match in the last 60 minutes\. Services with spans: .*shop/);
  });

  it('finds a Kubernetes object and traces it with its owners', async () => {
    const objects = await call('find_k8s_objects', { cluster: 'prod', resource: 'replicasets' });
    expect(objects.text).toContain(`apps/replicasets shop/${RS_NAME} (ReplicaSet)`);
    const trace = await call('trace_k8s_object', {
      cluster: 'prod',
      resource: 'replicasets',
      namespace: 'shop',
      name: RS_NAME,
    });
    expect(trace.isError, trace.text).toBe(false);
    expect(trace.text).toMatch(/^prod · apps\/replicasets shop\//);
    expect(trace.text).toMatch(/\[Deployment\]/);
    expect(trace.text).toMatch(/\[Pod\]/);
    expect(trace.text).toMatch(/· \d{4}-\d\d-\d\dT.* (create|update|patch)/);
  });
});

import type { Span } from '@spyglass/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHub, startExampleShop, waitFor, type ExampleShop, type TestHub } from '../kit/index.js';
import { FAST_POLLING, apply, describeRun, runTest, testResource } from './helpers.js';

/**
 * Probes: a test places a snapshot on a line of the running shop (its agent inside), bound to the run's trace; the
 * values it captures become attributes and an event of the span the line ran in, and specs assert on them.
 */
describe('trace-based tests with probes into the code', () => {
  let hub: TestHub;
  let shop: ExampleShop;

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
  }, 90_000);
  afterAll(async () => {
    shop?.stop();
    await hub?.close();
  });

  const orderTest = (id: string, probes: unknown[], assertions: string[]) =>
    testResource({
      id,
      trigger: {
        type: 'http',
        httpRequest: {
          method: 'POST',
          url: `${shop.url}/orders`,
          headers: [{ key: 'Content-Type', value: 'application/json' }],
          body: JSON.stringify({
            customer: { id: 'c7', email: 'eve@example.com' },
            items: [{ sku: 'mug', quantity: 2 }],
          }),
        },
      },
      specs: [{ selector: 'span[name="checkout.place_order"]', assertions }],
      ...{ probes },
    });

  it(
    'asserts on values the code never logged, captured only inside the run’s trace',
    { timeout: 120_000 },
    async () => {
      await apply(
        hub,
        orderTest(
          'order-probe',
          [
            {
              name: 'order',
              service: 'shop',
              location: 'src/services/checkout.ts:52',
              expressions: ['order.totalCents', 'order.items.length'],
            },
          ],
          ['attr:probe.order.order.totalCents = 2400', 'attr:probe.order.order.items.length = 1'],
        ),
      );
      const run = await runTest(hub, 'order-probe', {}, 90_000);
      expect(run.state, describeRun(run)).toBe('FINISHED');
      expect(run.passed, describeRun(run)).toBe(true);

      // The probe's action is gone after the run (its hits with it: the run keeps its own copy of the trace).
      const actions = await hub.api<{ items: { id: string; state: string }[] }>('GET', '/api/v1/actions?limit=50');
      expect(actions.body.items.filter((a) => a.state === 'active')).toEqual([]);
    },
  );

  it(
    'a probe on a line without code fails the run before the trigger, with the agent’s reason',
    { timeout: 120_000 },
    async () => {
      await apply(
        hub,
        orderTest(
          'bad-probe',
          [{ name: 'nowhere', service: 'shop', location: 'src/services/checkout.ts:9999' }],
          ['attr:name = "checkout.place_order"'],
        ),
      );
      const run = await runTest(hub, 'bad-probe', {}, 90_000);
      expect(run.state).toBe('TRIGGER_FAILED');
      expect(run.lastError).toMatch(
        /probe nowhere at src\/services\/checkout\.ts:9999 of shop was not installed \(error: .*9999/,
      );
      expect(run.trigger).toBeNull();

      await apply(
        hub,
        orderTest('no-agent-probe', [{ name: 'p', service: 'billing', location: 'src/x.ts:1' }], ['attr:name = "x"']),
      );
      const none = await runTest(hub, 'no-agent-probe');
      expect(none.state).toBe('TRIGGER_FAILED');
      expect(none.lastError).toBe('probe p: no agent of service "billing" is connected');
    },
  );

  it('the run’s copy of its trace carries the probe event on the span', { timeout: 120_000 }, async () => {
    const run = await runTest(hub, 'order-probe', {}, 90_000);
    expect(run.passed, describeRun(run)).toBe(true);
    const copy = await hub.api<{ spans: Span[] }>(
      'GET',
      `/api/v1/tests/order-probe/runs/${run.runNumber}/trace`,
      undefined,
      'viewer',
    );
    expect(copy.status).toBe(200);
    const snapshot = copy.body.spans;
    const place = snapshot.find((s: Span) => s.name === 'checkout.place_order')!;
    // One capture: the run's request, none of another trace.
    expect(snapshot.flatMap((s: Span) => s.events).filter((e) => e.name === 'probe order')).toHaveLength(1);
    expect(place.events.map((e) => e.name)).toContain('probe order');
    expect(place.attributes['probe.order.order.totalCents']).toBe('2400');
  });
});

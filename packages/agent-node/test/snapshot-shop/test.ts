import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CapturedValue, SnapshotSummary, StoredSnapshot } from '@spyglass/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  SHOP_DIR,
  createHub,
  startExampleShop,
  waitFor,
  type ExampleShop,
  type TestHub,
  type TestPool,
} from '../../../server/test/kit/index.js';
import { lineOf } from '../support/lines.js';
import { RUNTIMES, hubEnv, runScenario, type Scenario } from '../support/run.js';

/** 1-based line of the first line of `file` (under the shop) containing `text`. */
function lineWith(file: string, text: string): number {
  const i = readFileSync(join(SHOP_DIR, file), 'utf8')
    .split('\n')
    .findIndex((l) => l.includes(text));
  if (i < 0) throw new Error(`no "${text}" in ${file}`);
  return i + 1;
}

const byName = (values: readonly CapturedValue[] | undefined, name: string): CapturedValue | undefined =>
  values?.find((v) => v.name === name);

/**
 * A snapshot worth opening, taken in the example shop (TypeScript compiled with source maps, the agent preloaded):
 * the async function's callers are in the stack, `this` is captured, objects are named by their class, and the file
 * has one name everywhere — the status, the snapshot's frames, its summary and the agent's source list.
 */
describe('a snapshot in the example shop', () => {
  let hub: TestHub;
  let pool: TestPool;
  let shop: ExampleShop;

  beforeAll(async () => {
    hub = await createHub({ listen: true, timers: 'default' });
    pool = await hub.createPool();
    // V8 records async stacks (asked for here; on only while a snapshot action exists), as the debug log says.
    shop = await startExampleShop(hub.url, pool.key, {
      env: { SPYGLASS_AGENT_DEBUG: '1', SPYGLASS_ASYNC_STACK_RECORDING: '1' },
    });
  }, 60_000);
  afterAll(async () => {
    shop?.stop();
    await hub?.close();
  });

  it('shows async callers, this, class names, and one path for the file everywhere', async () => {
    const CHECKOUT = 'src/services/checkout.ts';
    const line = lineWith(CHECKOUT, 'this.orders.push(order)');
    // The user types only the end of the path, as before.
    const created = await hub.api<{ id: string }>('POST', '/api/v1/actions', {
      kind: 'snapshot',
      file: 'services/checkout.ts',
      line,
      target: { pool: pool.name, service: 'shop' },
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const actionId = created.body.id;
    const status = await waitFor(
      async () =>
        (
          await hub.api<{
            items: { agentId: string; state: string; location: { file: string; line: number } | null }[];
          }>('GET', `/api/v1/actions/${actionId}/agents`)
        ).body.items.find((s) => s.state === 'active' && s.location !== null),
      { what: 'the snapshot probe to be active', timeoutMs: 30_000, detail: () => shop.output() },
    );
    // The name the shop's repository uses for the file: relative to the app's root, as the source map gives it.
    expect(status.location).toMatchObject({ file: CHECKOUT, line });

    const res = await fetch(`${shop.url}/orders`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ customer: { id: 'c9', email: 'ann@example.com' }, items: [{ sku: 'mug', quantity: 1 }] }),
    });
    expect(res.status).toBe(201);

    const summary = await waitFor(
      async () =>
        (await hub.api<{ items: SnapshotSummary[] }>('GET', `/api/v1/actions/${actionId}/snapshots`)).body.items[0],
      { what: 'the stored snapshot', timeoutMs: 30_000, detail: () => shop.output() },
    );
    const snap = (await hub.api<StoredSnapshot>('GET', `/api/v1/actions/${actionId}/snapshots/${summary.id}`)).body;
    const [top] = snap.frames;
    expect(top).toMatchObject({ functionName: 'placeOrder', file: CHECKOUT, line });
    expect(summary.top).toMatchObject({ file: CHECKOUT, line });

    // placeOrder ran on after an `await`: its callers come from V8's async stack trace, mapped to the TypeScript.
    const callers = snap.frames.filter((f) => f.async !== undefined);
    expect(callers.length, JSON.stringify(snap.frames, ['functionName', 'file', 'line', 'async'])).toBeGreaterThan(0);
    const handler = callers.find((f) => f.functionName === 'handleOrders');
    expect(handler, JSON.stringify(callers)).toMatchObject({
      file: 'src/routes/orders.ts',
      async: 'await',
      line: lineWith('src/routes/orders.ts', "await tracer.startActiveSpan('checkout.place_order'"),
    });
    const arrow = callers.find((f) => f.file === 'src/routes/orders.ts' && f.functionName !== 'handleOrders');
    expect(arrow?.line).toBe(lineWith('src/routes/orders.ts', 'await checkout.placeOrder(body)'));
    // Recorded by V8, the chain goes on past what awaits: to the server's request handler, which only .catch()es.
    expect(callers.find((f) => f.file === 'src/server.ts')?.line).toBe(
      lineWith('src/server.ts', 'handleOrders(req, res, checkout, inventory)'),
    );
    // Frames of the synchronous stack come first, the async callers after them.
    const firstAsync = snap.frames.findIndex((f) => f.async !== undefined);
    expect(snap.frames.slice(firstAsync).every((f) => f.async !== undefined)).toBe(true);

    // `this` of the method, named by its class; its fields inside, class instances by their class too.
    const self = byName(top?.locals, 'this');
    expect(self).toMatchObject({ type: 'object', className: 'CheckoutService' });
    expect(byName(self?.children, 'inventory')).toMatchObject({ className: 'Inventory' });
    expect(byName(self?.children, 'orders')).toMatchObject({ className: 'Array', value: 'Array(0)' });
    expect(byName(top?.locals, 'order')).toMatchObject({ className: 'Object' });
    expect(byName(top?.locals, 'lines')).toMatchObject({ className: 'Array', size: 1 });

    // The agent's source list names the same file the same way.
    const sources = await hub.api<{ files: { path: string; original: boolean }[] }>(
      'GET',
      `/api/v1/agents/${status.agentId}/sources`,
      undefined,
      'viewer',
    );
    expect(sources.status).toBe(200);
    const originals = sources.body.files.filter((f) => f.original).map((f) => f.path);
    expect(originals).toContain(CHECKOUT);
    expect(originals).toContain('src/routes/orders.ts');
    for (const p of originals) expect(p.startsWith('/'), p).toBe(false);
    const read = await hub.api<{ path?: string; text?: string }>(
      'GET',
      `/api/v1/agents/${status.agentId}/sources/content?path=${encodeURIComponent(CHECKOUT)}`,
      undefined,
      'viewer',
    );
    expect(read.body.path).toBe(CHECKOUT);
    expect(read.body.text).toContain('this.orders.push(order)');

    // Recording async stacks costs the app at every await: it stops with the last snapshot action.
    expect(shop.output()).toContain('async stack depth 8');
    expect((await hub.api('DELETE', `/api/v1/actions/${actionId}`)).status).toBeLessThan(300);
    await waitFor(() => shop.output().includes('async stack depth 0'), {
      what: 'async stack recording to stop',
      timeoutMs: 30_000,
      detail: () => shop.output().slice(-2000),
    });
  });
});

describe.each(RUNTIMES)(
  'a snapshot whose async callers began waiting before the action existed (nothing recorded), on $name',
  (runtime) => {
    const scenario = fileURLToPath(new URL('./waiting.mjs', import.meta.url));
    let hub: TestHub;
    let pool: TestPool;
    let app: Scenario;

    beforeAll(async () => {
      hub = await createHub({ listen: true, timers: 'default' });
      pool = await hub.createPool();
      app = runScenario(
        runtime,
        scenario,
        hubEnv(hub.url, pool.key, { SPYGLASS_SERVICE: 'waiting', SPYGLASS_AGENT_DEBUG: '1' }),
      );
      await app.waitForOutput('started');
    }, 60_000);
    afterAll(async () => {
      app?.kill();
      await hub?.close();
    });

    it("shows them from V8's zero-cost async stack, and leaves the app's own stack formatting alone", async () => {
      const NAME = 'test/snapshot-shop/waiting.mjs';
      const line = lineOf(scenario, 'after-wait');
      const created = await hub.api<{ id: string }>('POST', '/api/v1/actions', {
        kind: 'snapshot',
        file: 'waiting.mjs',
        line,
        target: { pool: pool.name, service: 'waiting' },
      });
      expect(created.status, JSON.stringify(created.body)).toBe(201);
      const actionId = created.body.id;
      // On the same line, a snapshot that expands no frame still reads `this` in its watch expression.
      const watching = await hub.api<{ id: string }>('POST', '/api/v1/actions', {
        kind: 'snapshot',
        file: NAME,
        line,
        expressions: ['this.id'],
        limits: { maxExpandedFrames: 0 },
        target: { pool: pool.name, service: 'waiting' },
      });
      expect(watching.status, JSON.stringify(watching.body)).toBe(201);
      const statusOf = (id: string) =>
        waitFor(
          async () =>
            (
              await hub.api<{ items: { state: string; location: { file: string; line: number } | null }[] }>(
                'GET',
                `/api/v1/actions/${id}/agents`,
              )
            ).body.items.find((s) => s.state === 'active'),
          { what: 'the snapshot probe to be active', timeoutMs: 30_000, detail: () => app.stderr() },
        );
      const status = await statusOf(actionId);
      expect(status.location).toMatchObject({ file: NAME, line });
      expect((await statusOf(watching.body.id)).location).toMatchObject({ file: NAME, line });
      app.child.stdin!.write('go\n');
      await app.waitForOutput('finished 14', 30_000);
      // The app's Error.prepareStackTrace was in place again for its own error.
      expect(app.stdout()).toContain('finished 14 app-formatted');

      const summary = await waitFor(
        async () =>
          (await hub.api<{ items: SnapshotSummary[] }>('GET', `/api/v1/actions/${actionId}/snapshots`)).body.items[0],
        { what: 'the stored snapshot', timeoutMs: 30_000 },
      );
      const snap = (await hub.api<StoredSnapshot>('GET', `/api/v1/actions/${actionId}/snapshots/${summary.id}`)).body;
      const shown = snap.frames.map((f) => [f.functionName, f.file, f.line, f.async ?? null]);
      expect(shown[0]).toEqual(['run', NAME, line, null]);
      expect(shown).toContainEqual(['worker', NAME, lineOf(scenario, 'worker-await'), 'await']);
      expect(shown).toContainEqual(['supervisor', NAME, lineOf(scenario, 'supervisor-await'), 'await']);
      expect(byName(snap.frames[0]?.locals, 'this')).toMatchObject({
        className: 'Job',
        children: [{ name: 'id', type: 'number', value: '7' }],
      });
      const watched = await waitFor(
        async () =>
          (await hub.api<{ items: SnapshotSummary[] }>('GET', `/api/v1/actions/${watching.body.id}/snapshots`)).body
            .items[0],
        { what: 'the watching snapshot', timeoutMs: 30_000 },
      );
      const full = (await hub.api<StoredSnapshot>('GET', `/api/v1/actions/${watching.body.id}/snapshots/${watched.id}`))
        .body;
      expect(full.frames[0]?.locals).toBeUndefined();
      expect(full.watches).toMatchObject([{ expression: 'this.id', value: { type: 'number', value: '7' } }]);
      // By default V8 records no async stacks: the callers come from the awaiting promises alone.
      expect(app.stderr()).not.toContain('async stack depth');
      app.finish();
      expect(await app.exited).toBe(0);
    });
  },
);

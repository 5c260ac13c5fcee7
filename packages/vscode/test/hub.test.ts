import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { StreamServerMessage } from '@spyglass/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  SHOP_DIR,
  createHub,
  freePort,
  startExampleShop,
  waitFor,
  type ExampleShop,
  type TestHub,
} from '../../server/test/kit/index.js';
import { Hub, LiveFeed, explainError, type FeedState } from '../src/hub.js';
import { metricSummaryText, summarizeMetric } from '../src/format.js';
import { lineState } from '../src/state.js';

const CHECKOUT = 'src/services/checkout.ts';
const checkoutLines = readFileSync(path.join(SHOP_DIR, CHECKOUT), 'utf8').split('\n');
const lineOf = (text: string) => checkoutLines.findIndex((l) => l.includes(text)) + 1;

describe("the extension's hub layer against a real hub and the example shop under the agent", () => {
  let hub: TestHub;
  let shop: ExampleShop | undefined;

  const order = () =>
    fetch(`${shop!.url}/orders`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ customer: { id: 'c1', email: 'a@example.com' }, items: [{ sku: 'mug', quantity: 2 }] }),
    });

  beforeAll(async () => {
    hub = await createHub({ listen: true, timers: 'default' });
    const pool = await hub.createPool('dev');
    shop = await startExampleShop(hub.url, pool.key);
  });

  afterAll(async () => {
    shop?.stop();
    await hub?.close();
  });

  it('says the token is wrong, and the hub is down, in words a person can act on', async () => {
    const wrong = new Hub({ url: hub.url, token: 'sgt_not-a-token' });
    const err = await wrong.signIn().catch((e: unknown) => e);
    expect(explainError(err, hub.url)).toBe(
      `The hub at ${hub.url} refused the API token (wrong, expired or revoked). Run "Spyglass: Sign In" with a valid token.`,
    );
    const downUrl = `http://127.0.0.1:${await freePort()}`;
    const down = new Hub({ url: downUrl, token: hub.tokens.admin });
    const err2 = await down.signIn().catch((e: unknown) => e);
    expect(explainError(err2, downUrl)).toMatch(new RegExp(`^Cannot reach the hub at ${downUrl}\\. Is it running\\?`));
    // The same layer keeps working with a good token afterwards.
    const me = await new Hub({ url: hub.url, token: hub.tokens.admin }).signIn();
    expect(me.user.role).toBe('admin');
  });

  it('finds the service that runs the open file, places a snapshot and follows it live', async () => {
    const h = new Hub({ url: hub.url, token: hub.tokens.admin });
    // A workspace whose folders start elsewhere: the longest suffix the agent has loaded is sent.
    const matches = await waitFor(
      async () => {
        const m = await h.servicesFor(`checkouts/spyglass/examples/shop/${CHECKOUT}`);
        return m.length > 0 ? m : undefined;
      },
      { what: 'the agent to report the checkout source', timeoutMs: 30_000 },
    );
    expect(matches.map((m) => [m.pool, m.service])).toEqual([['dev', 'shop']]);
    // The agent names files relative to the app root, as the repository does.
    expect(matches[0]!.file).toBe(CHECKOUT);
    expect(await h.servicesFor('src/nowhere.ts')).toEqual([]);

    const messages: StreamServerMessage[] = [];
    const states: FeedState[] = [];
    const feed = new LiveFeed(h, { onMessage: (m) => messages.push(m), onState: (s) => states.push(s) });
    feed.start();
    await waitFor(() => feed.state === 'connected', { what: 'the live stream' });
    await feed.follow({ services: [{ pool: 'dev', service: 'shop' }] });

    const line = lineOf('const priced = quote(');
    const action = await h.addAction(matches[0]!, line, { kind: 'snapshot', expressions: ['lines.length'] });
    const placed = await h.placement(action.id, 30_000);
    expect(lineState(placed.action, placed.statuses).text).toMatch(/^snapshot · active · (patch|breakpoint) · 0 hits$/);

    expect((await order()).status).toBe(201);
    const hit = await waitFor(() => messages.find((m) => m.type === 'snapshot' && m.actionId === action.id), {
      what: 'the snapshot over the stream',
      timeoutMs: 30_000,
    });
    expect(hit.type).toBe('snapshot');
    const done = await waitFor(
      async () => {
        const now = await h.action(action.id);
        return now.action.state === 'completed' ? now : undefined;
      },
      { what: 'the snapshot action to complete' },
    );
    expect(lineState(done.action, done.statuses).text).toBe('snapshot · completed · 1 hit');
    feed.stop();
    expect(states).toContain('connected');
  });

  it('reports a line the agent cannot place, with the reason, and adds other lines afterwards', async () => {
    const h = new Hub({ url: hub.url, token: hub.tokens.admin });
    const [match] = await h.servicesFor(CHECKOUT);
    const last = checkoutLines.length;
    const bad = await h.addAction(match!, last + 40, { kind: 'log', template: 'never' });
    const placed = await h.placement(bad.id, 30_000);
    const state = lineState(placed.action, placed.statuses);
    expect(state.tone).toBe('error');
    expect(state.error).toMatch(/no code at or after line \d+ of .*checkout\.ts/);
    const good = await h.addAction(match!, lineOf('this.sequence += 1'), {
      kind: 'log',
      template: 'seq {this.sequence}',
    });
    const ok = await h.placement(good.id, 30_000);
    expect(lineState(ok.action, ok.statuses).tone).toBe('active');
    await h.removeAction(bad.id);
    await h.removeAction(good.id);
    expect(await h.actionsOf([{ pool: 'dev', service: 'shop' }])).toEqual([]);
  });

  it("summarises a metric's samples from the hub", async () => {
    const h = new Hub({ url: hub.url, token: hub.tokens.admin });
    const [match] = await h.servicesFor(CHECKOUT);
    const metric = await h.addAction(match!, lineOf('const priced = quote('), {
      kind: 'metric',
      metric: 'duration',
      name: 'checkout.place_order',
    });
    const placed = await h.placement(metric.id, 30_000);
    expect(lineState(placed.action, placed.statuses).tone).toBe('active');
    for (let i = 0; i < 3; i++) expect((await order()).status).toBe(201);
    const summary = await waitFor(
      async () => {
        const s = summarizeMetric((await h.client.actions.metrics(metric.id)).items);
        return s.count >= 3 ? s : undefined;
      },
      { what: 'three duration samples at the hub', timeoutMs: 30_000 },
    );
    expect(summary.p50).not.toBeNull();
    expect(summary.p99).toBeGreaterThanOrEqual(summary.p50!);
    expect(metricSummaryText('duration', summary)).toMatch(/^count 3 · p50 [\d.]+ ms · p99 [\d.]+ ms · mean /);
    await h.removeAction(metric.id);
  });

  it('refuses a bad template before anything reaches an agent', async () => {
    const h = new Hub({ url: hub.url, token: hub.tokens.admin });
    const [match] = await h.servicesFor(CHECKOUT);
    const err = await h.addAction(match!, 10, { kind: 'log', template: 'total {order.' }).catch((e: unknown) => e);
    expect(explainError(err, hub.url)).toMatch(/^The hub refused it: body\.template: unclosed "\{" at column 7/);
  });
});

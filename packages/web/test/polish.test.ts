/**
 * The console's smaller promises, in Chromium against a real hub (built console, a free loopback port) and a
 * protocol-level agent: field messages in plain words, the only service picked for you, the metric chart's time
 * range in the query it sends, a tic-toc metric's range in its title, Unlock for an account under a sign-in delay, a
 * bounded agents list with thousands of agents, a sign-in that leaves no denied probe in the audit log, and a top
 * bar that holds together at 390 and 1024 px. Skipped, with a message, where /usr/bin/chromium is not installed.
 */
import type { Browser, Page, Route } from 'playwright-core';
import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  ADMIN,
  SimAgent,
  USER_PASSWORD,
  createHub,
  userEmail,
  waitFor,
  type TestHub,
  type TestPool,
} from '../../server/test/kit/index.js';
import { PageTracker, buildConsoleOnce, chromiumAvailable, launchChromium, shot } from './browser-kit.js';

const hasChromium = chromiumAvailable("the console's polish browser tests");

/** How many failed sign-ins an account gets before each further attempt waits. */
const FREE_ATTEMPTS = 3;

describe.skipIf(!hasChromium)('console polish in Chromium against a real hub', () => {
  let hub: TestHub;
  let pool: TestPool;
  let agent: SimAgent;
  let browser: Browser;
  const pages = new PageTracker(
    () => browser,
    () => hub.url,
  );

  beforeAll(async () => {
    await buildConsoleOnce();
    hub = await createHub({
      listen: true,
      timers: 'default',
      env: { SPYGLASS_LOGIN_MAX_PER_ACCOUNT: String(FREE_ATTEMPTS), SPYGLASS_LOGIN_DELAY_MS: '600000' },
    });
    pool = await hub.createPool('polish');
    ({ agent } = await SimAgent.connect(hub.wsUrl, pool.key, { service: { name: 'checkout' } }));
    browser = await launchChromium();
  }, 120_000);
  afterEach(() => pages.check());
  afterAll(async () => {
    await browser?.close();
    await agent?.close();
    await hub?.close();
  });

  it('says what is wrong with a field in plain words, naming the field', async () => {
    const page = await pages.adminPage();
    await page.goto(`${hub.url}/users`);
    const form = page.getByRole('form', { name: 'Add a user' });
    await form.getByLabel('Email').fill('new.person@example.com');
    await form.getByLabel('Password').fill('short');
    await form.getByRole('button', { name: 'Add user' }).click();
    await form.getByText('Name must not be empty').waitFor();
    await form.getByText('Password must be at least 12 characters').waitFor();
    expect(await form.getByText(/Too small|expected string/).count()).toBe(0);
    await shot('polish-field-messages', page);
  }, 60_000);

  it('counts hits as they stream in, without reading the action again', async () => {
    const created = await hub.api<{ id: string }>('POST', '/api/v1/actions', {
      kind: 'log',
      file: 'src/checkout.ts',
      line: 12,
      template: 'order {order.id}',
      target: { pool: pool.name, service: 'checkout' },
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const id = created.body.id;
    await waitFor(() => agent.currentIds().includes(id), { what: 'the agent to receive the action' });
    agent.status(id, 'active', { method: 'patch' });
    const page = await pages.adminPage();
    await page.goto(`${hub.url}/actions/${id}`);
    await page.getByText(/^0 of at most/).waitFor();
    await page.getByTestId('agent-statuses').getByText('active').waitFor();
    // From here the page gets no fresh copy of the action: only the stream can move its count.
    const held: Route[] = [];
    await page.route(`**/api/v1/actions/${id}`, (route) => void held.push(route));
    for (let i = 1; i <= 3; i++) agent.log(id, `order o-${i}`);
    await waitFor(async () => (await page.getByTestId('log-line').count()) === 3, { what: 'three streamed lines' });
    await page.getByText(/^3 of at most/).waitFor();
    await page.unroute(`**/api/v1/actions/${id}`);
    for (const r of held) await r.continue().catch(() => undefined);
  }, 60_000);

  it('picks the only service on the live logs page', async () => {
    const page = await pages.adminPage();
    await page.goto(`${hub.url}/live`);
    await page.waitForURL(/service=checkout/);
    expect(new URL(page.url()).searchParams.get('pool')).toBe(pool.name);
    await expect(page.getByLabel('Service').inputValue()).resolves.toBe(`${pool.name}/checkout`);
    // The service's view is open (its lines, or the wait for them), not the empty "Choose a service".
    await page.getByTestId('stream-state').waitFor();
    expect(await page.getByText('Choose a service', { exact: true }).count()).toBe(0);
  }, 60_000);

  it("shows a tic-toc metric's range in its title, and its chart's time range picks the query", async () => {
    const created = await hub.api<{ id: string }>('POST', '/api/v1/actions', {
      kind: 'metric',
      metric: 'tictoc',
      name: 'checkout.time',
      file: 'src/checkout.ts',
      line: 40,
      endLine: 52,
      target: { pool: pool.name, service: 'checkout' },
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const id = created.body.id;
    const page = await pages.adminPage();
    /** The next metric query of this action the page sends, as its `since` and `until`. */
    const nextQuery = async (act: () => Promise<void>) => {
      const request = page.waitForRequest((r) => r.url().includes(`/api/v1/actions/${id}/metrics`));
      await act();
      const q = new URL((await request).url()).searchParams;
      return { since: Number(q.get('since')), until: q.get('until') === null ? undefined : Number(q.get('until')) };
    };
    const first = await nextQuery(async () => {
      await page.goto(`${hub.url}/actions/${id}`);
    });
    await expect(page.getByTestId('action-title').textContent()).resolves.toBe('src/checkout.ts:40–52');
    // One hour by default.
    expect(Date.now() - first.since).toBeGreaterThanOrEqual(3600_000);
    expect(Date.now() - first.since).toBeLessThan(3600_000 + 120_000);
    const range = page.getByRole('group', { name: 'Time range' });
    const six = await nextQuery(() => range.getByRole('button', { name: '6 h' }).click());
    expect(Date.now() - six.since).toBeGreaterThanOrEqual(6 * 3600_000);
    expect(Date.now() - six.since).toBeLessThan(6 * 3600_000 + 120_000);
    expect(six.until).toBeUndefined();
    const fifteen = await nextQuery(() => range.getByRole('button', { name: 'Last 15 min' }).click());
    expect(Date.now() - fifteen.since).toBeLessThan(15 * 60_000 + 120_000);

    await range.getByRole('button', { name: 'Custom' }).click();
    const custom = page.getByRole('group', { name: 'Custom time range' });
    await custom.getByLabel('To').fill('2026-01-02T12:00');
    const fixed = await nextQuery(() => custom.getByLabel('From').fill('2026-01-02T10:30'));
    expect(fixed.since).toBe(new Date('2026-01-02T10:30').getTime());
    expect(fixed.until).toBe(new Date('2026-01-02T12:00').getTime());
    await page.getByText('No sample in this time range').waitFor();
    // An end before the start is said, and not asked for.
    await custom.getByLabel('From').fill('2026-01-02T13:00');
    await custom.getByText('The end must be after the start.').waitFor();
    await shot('polish-metric-range', page);
  }, 60_000);

  it('unlocks an account whose sign-ins are delayed', async () => {
    const email = userEmail('viewer');
    const wrong = (): Promise<Response> =>
      fetch(`${hub.url}/api/v1/auth/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ email, password: 'not the password' }),
      });
    for (let i = 0; i < FREE_ATTEMPTS; i++) expect((await wrong()).status).toBe(401);
    // Past the free attempts: even the right password waits now.
    const waiting = await fetch(`${hub.url}/api/v1/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email, password: USER_PASSWORD }),
    });
    expect(waiting.status).toBe(429);

    const page = await pages.adminPage();
    await page.goto(`${hub.url}/users`);
    const row = page.locator('tr', { hasText: email });
    const state = row.getByTestId('sign-in-state');
    await expect(state.textContent()).resolves.toContain(`${FREE_ATTEMPTS} failed sign-ins · delayed`);
    await shot('polish-users-delayed', page);
    await row.getByRole('button', { name: `Unlock ${email}` }).click();
    await waitFor(async () => (await state.count()) === 0, { what: 'the delay to be cleared in the list' });
    const audit = await hub.api<{ items: { targetId: string | null }[] }>('GET', '/api/v1/audit?action=user.unlock');
    expect(audit.body.items.map((e) => e.targetId)).toContain(hub.userIds.viewer);
    const signIn = await fetch(`${hub.url}/api/v1/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email, password: USER_PASSWORD }),
    });
    expect(signIn.status).toBe(200);
  }, 60_000);

  it('a sign-in through the form leaves no denied session probe in the audit log', async () => {
    const context = await pages.context();
    const page = await pages.page(context);
    await page.goto(`${hub.url}/`);
    await page.waitForURL(/\/login/);
    await page.getByLabel('Email').fill(ADMIN.email);
    await page.getByLabel('Password').fill(ADMIN.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(/\/agents/);
    await page.getByTestId('whoami').waitFor();
    await hub.app.hub.audit.flushDenials();
    const denied = await hub.storage.db
      .selectFrom('audit_events')
      .select(['action', 'status'])
      .where('outcome', '=', 'denied')
      .where('actor_type', '=', 'anonymous')
      .where('action', 'like', 'GET %')
      .execute();
    expect(denied).toEqual([]);
  }, 60_000);

  for (const width of [390, 1024]) {
    it(`keeps the top bar in one piece and the page without sideways scrolling at ${width} px`, async () => {
      const page = await pages.adminPage({ width, height: 800 });
      for (const where of ['/agents', '/actions', '/users', '/audit']) {
        await page.goto(`${hub.url}${where}`);
        await page.getByTestId('whoami').waitFor();
        await page.locator('main h1').first().waitFor();
        await expectTopBarFits(page, width);
        if (where === '/agents') await shot(`polish-layout-${width}`, page);
      }
    }, 60_000);
  }
});

/** The top bar's parts do not overlap each other and stay inside the window; neither the page nor its main scrolls sideways. */
async function expectTopBarFits(page: Page, width: number): Promise<void> {
  const layout = await page.evaluate(() => {
    const box = (el: Element) => {
      const r = el.getBoundingClientRect();
      return { left: r.left, right: r.right, top: r.top, bottom: r.bottom, width: r.width, height: r.height };
    };
    const q = (s: string) => document.querySelector(s)!;
    const parts = [
      { name: 'brand', ...box(q('.topbar .brand')) },
      { name: 'nav', ...box(q('.topbar .nav')) },
      ...[...document.querySelectorAll('.topbar .userbox > *')]
        .filter((el) => (el as HTMLElement).offsetParent !== null)
        .map((el, i) => ({ name: `userbox ${i}`, ...box(el) })),
    ];
    const nav = q('.topbar .nav');
    const main = q('main');
    return {
      parts,
      page: { scrollWidth: document.documentElement.scrollWidth, clientWidth: document.documentElement.clientWidth },
      main: { scrollWidth: main.scrollWidth, clientWidth: main.clientWidth },
      // Every link is inside the bar's nav (which may scroll its own links sideways).
      linksInNav: [...nav.querySelectorAll('a')].every((a) => {
        const r = a.getBoundingClientRect();
        const n = nav.getBoundingClientRect();
        return r.top >= n.top - 1 && r.bottom <= n.bottom + 1;
      }),
    };
  });
  for (const p of layout.parts) {
    expect(p.width, `${p.name} is shown`).toBeGreaterThan(0);
    expect(p.left, `${p.name} starts inside the window`).toBeGreaterThanOrEqual(0);
    expect(p.right, `${p.name} ends inside the window`).toBeLessThanOrEqual(width + 0.5);
  }
  for (let i = 0; i < layout.parts.length; i++)
    for (let j = i + 1; j < layout.parts.length; j++) {
      const a = layout.parts[i]!;
      const b = layout.parts[j]!;
      const overlap =
        Math.min(a.right, b.right) - Math.max(a.left, b.left) > 0.5 &&
        Math.min(a.bottom, b.bottom) - Math.max(a.top, b.top) > 0.5;
      expect(overlap, `${a.name} and ${b.name} overlap: ${JSON.stringify([a, b])}`).toBe(false);
    }
  expect(layout.linksInNav).toBe(true);
  expect(layout.page.scrollWidth, 'the page scrolls sideways').toBeLessThanOrEqual(layout.page.clientWidth);
  expect(layout.main.scrollWidth, 'the main area scrolls sideways').toBeLessThanOrEqual(layout.main.clientWidth);
}

describe.skipIf(!hasChromium)('the agents page with thousands of agents', () => {
  let hub: TestHub;
  let browser: Browser;
  const pages = new PageTracker(
    () => browser,
    () => hub.url,
  );
  const TOTAL = 3000;

  beforeAll(async () => {
    await buildConsoleOnce();
    hub = await createHub({ listen: true, timers: 'default' });
    const pool = await hub.createPool('crowd');
    const now = Date.now();
    const rows = Array.from({ length: TOTAL }, (_, i) => ({
      id: randomUUID(),
      pool_id: pool.id,
      instance_id: `inst-${i}`,
      service_name: `svc-${String(i % 30).padStart(2, '0')}`,
      service_version: null,
      service_environment: null,
      tags: '{}',
      hostname: `host-${i}`,
      pid: 1000 + i,
      runtime_name: 'node',
      runtime_version: process.versions.node,
      agent_version: '0.1.0',
      address: null,
      status: 'disconnected' as const,
      connection_id: null,
      replica_id: null,
      first_seen_at: now - 60_000,
      connected_at: now - 60_000,
      last_seen_at: now - 30_000,
      disconnected_at: now - 30_000,
      health: null,
      health_at: null,
      session_hash: null,
    }));
    for (let i = 0; i < rows.length; i += 500)
      await hub.storage.db
        .insertInto('agents')
        .values(rows.slice(i, i + 500))
        .execute();
    browser = await launchChromium();
  }, 120_000);
  afterEach(() => pages.check());
  afterAll(async () => {
    await browser?.close();
    await hub?.close();
  });

  it('loads a bounded page and offers the next one', async () => {
    const page = await pages.adminPage();
    const limits: number[] = [];
    page.on('request', (r) => {
      const u = new URL(r.url());
      if (u.pathname === '/api/v1/agents') limits.push(Number(u.searchParams.get('limit')));
    });
    await page.goto(`${hub.url}/agents`);
    const rows = page.locator('table.table > tbody > tr');
    await waitFor(async () => (await rows.count()) === 100, { what: 'the first page of agents' });
    await expect(page.getByText('0 connected · 100 shown').count()).resolves.toBe(1);
    const more = page.getByTestId('more-agents');
    await more.click();
    await waitFor(async () => (await rows.count()) === 200, { what: 'the second page of agents' });
    await more.click();
    await waitFor(async () => (await rows.count()) === 300, { what: 'the third page of agents' });
    // Never more than a page a request, whatever the total.
    expect(limits.length).toBeGreaterThan(0);
    expect(Math.max(...limits)).toBeLessThanOrEqual(100);
    // The service filter narrows it to what fits in one page: no further page is offered.
    await page.getByLabel('Service').fill('svc-07');
    await waitFor(async () => (await rows.count()) === TOTAL / 30, { what: 'the agents of one service' });
    expect(await more.count()).toBe(0);
    await shot('polish-agents-paged', page);
  }, 60_000);
});

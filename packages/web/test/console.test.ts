/**
 * The console end to end: a real hub (built console, listening on a free port), the example shop running under the
 * real agent as a child process, and Debian's Chromium driven by playwright-core. Screenshots of every page go to
 * test-artifacts/console/. Skipped, with a message, where /usr/bin/chromium is not installed.
 *
 * The hub, the shop and the browser are shared; everything else a test needs (a signed-in browser context, the
 * actions it looks at, the hits they show) it sets up itself, so each test passes alone (`-t`) and in any order: the
 * suite runs shuffled.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  ADMIN,
  SHOP_DIR,
  USER_PASSWORD,
  createHub,
  startExampleShop,
  userEmail,
  waitFor,
  type ExampleShop,
  type TestHub,
} from '../../server/test/kit/index.js';
import { ROOT, buildConsoleOnce, chromiumAvailable, launchChromium, shot } from './browser-kit.js';

const hasChromium = chromiumAvailable("the console's browser tests");

const PRICING = 'pricing.ts';
const PRICING_PATH = 'src/services/pricing.ts';
/** `subtotalCents += item.unitCents * item.quantity;` inside the loop of `quote`. */
const LOOP_LINE = 18;
/** `const rate = …`: every local of `quote` but `rate` and `discountCents` has its value. */
const RATE_LINE = 21;
/** `let count = 0;` */
const COUNT_LINE = 16;

describe.skipIf(!hasChromium)('web console in Chromium against a real hub and agent', { shuffle: true }, () => {
  let hub: TestHub;
  let url: string;
  let shop: ExampleShop | undefined;
  let shopUrl: string;
  let browser: Browser;
  /** Browser contexts the current test opened, and what went wrong in their pages; both checked after each test. */
  let contexts: BrowserContext[] = [];
  let pageErrors: string[] = [];
  /** The order the tests ran in (shuffled), printed at the end to reproduce a failure. */
  const ran: string[] = [];

  const order = async (sku = 'sticker', quantity = 1): Promise<void> => {
    const res = await fetch(`${shopUrl}/orders`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ customer: { id: 'c1', email: 'ann@example.com' }, items: [{ sku, quantity }] }),
    });
    expect(res.status).toBe(201);
  };
  async function newContext(): Promise<BrowserContext> {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, colorScheme: 'light' });
    contexts.push(context);
    context.setDefaultTimeout(15_000);
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: url });
    return context;
  }

  async function newPage(context: BrowserContext): Promise<Page> {
    const p = await context.newPage();
    p.on('pageerror', (err) => pageErrors.push(err.message));
    p.on('console', (m) => {
      if (m.type() === 'error' && /Content Security Policy|Refused to/.test(m.text())) pageErrors.push(m.text());
    });
    return p;
  }

  /** Signs in through the login page of a new page in `context`. */
  async function signIn(context: BrowserContext, email: string, password: string, loginShot?: string): Promise<Page> {
    const p = await newPage(context);
    await p.goto(`${url}/`);
    await p.waitForURL(/\/login/);
    if (loginShot !== undefined) await shot(loginShot, p);
    await p.getByLabel('Email').fill(email);
    await p.getByLabel('Password').fill(password);
    await p.getByRole('button', { name: 'Sign in' }).click();
    await p.waitForURL(/\/agents/);
    return p;
  }

  /** A page in a new context that already holds an admin session (signed in through the API, not the form). */
  async function adminPage(): Promise<Page> {
    const res = await fetch(`${url}/api/v1/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(ADMIN),
    });
    expect(res.status).toBe(200);
    const [name, value] = res.headers.getSetCookie()[0]!.split(';')[0]!.split('=') as [string, string];
    const context = await newContext();
    await context.addCookies([{ name, value, url }]);
    return newPage(context);
  }

  /** Creates an action on the shop's pricing.ts through the API and waits until its agent reports `state`. */
  async function createAction(spec: Record<string, unknown>, state: 'active' | 'error' = 'active'): Promise<string> {
    const res = await hub.api<{ id: string }>('POST', '/api/v1/actions', {
      file: PRICING_PATH,
      target: { pool: 'e2e', service: 'shop' },
      ...spec,
    });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    const id = res.body.id;
    await waitFor(
      async () =>
        (await hub.api<{ items: { state: string }[] }>('GET', `/api/v1/actions/${id}/agents`)).body.items.some(
          (s) => s.state === state,
        ),
      { what: `the shop's agent to report ${String(spec.kind)} action ${id} ${state}`, timeoutMs: 20_000 },
    );
    return id;
  }

  /** A log action on the loop line whose lines start with `prefix`. */
  const loopLog = (prefix: string): Promise<string> =>
    createAction({ kind: 'log', line: LOOP_LINE, template: `${prefix} sku {item.sku} qty {item.quantity}` });

  /** Waits until the hub stored a line of an action with this text. */
  async function storedLine(actionId: string, message: string): Promise<void> {
    await waitFor(
      async () =>
        (await hub.api<{ items: { message: string }[] }>('GET', `/api/v1/actions/${actionId}/logs`)).body.items.some(
          (l) => l.message === message,
        ),
      { what: `the stored line "${message}"` },
    );
  }

  /** Opens pricing.ts of the shop's agent and picks a line. */
  async function openLine(p: Page, line: number): Promise<void> {
    await p.goto(`${url}/agents`);
    await p.getByRole('link', { name: 'Browse source' }).first().click();
    await p.getByTestId('file-tree').getByRole('button', { name: PRICING, exact: true }).click();
    await p.getByTestId('code').getByText('export function quote').waitFor();
    await p.locator(`#L${line}`).click();
    await p.getByTestId('line-panel').waitFor();
  }

  beforeAll(async () => {
    // `npm test` builds everything first; a direct run of this file builds what is missing.
    if (
      !existsSync(path.join(SHOP_DIR, 'dist', 'server.js')) ||
      !existsSync(path.join(ROOT, 'packages/agent-node/dist/register.js'))
    ) {
      throw new Error('build first: npx tsc -b');
    }
    await buildConsoleOnce();

    hub = await createHub({
      listen: true,
      // The hub's own heartbeats for a real agent on a busy machine; metric aggregates every second so charts fill.
      timers: 'default',
      live: { gateway: { metricIntervalMs: 1000, flushIntervalMs: 200 } },
    });
    url = hub.url;
    const pool = await hub.createPool('e2e');
    shop = await startExampleShop(url, pool.key);
    shopUrl = shop.url;
    await waitFor(
      async () =>
        (await hub.api<{ items: { status: string }[] }>('GET', '/api/v1/agents?service=shop')).body.items.some(
          (a) => a.status === 'connected',
        ),
      { what: "the shop's agent to connect", timeoutMs: 20_000 },
    );

    browser = await launchChromium();
  }, 120_000);

  afterEach(async (context) => {
    ran.push(context.task.name);
    const opened = contexts;
    const errors = pageErrors;
    contexts = [];
    pageErrors = [];
    for (const context of opened) await context.close();
    expect(errors, 'errors in the pages of this test').toEqual([]);
  });

  afterAll(async () => {
    if (ran.length > 0) console.info(`[console tests] ran in this order:\n  ${ran.join('\n  ')}`);
    await browser?.close();
    shop?.stop();
    await hub?.close();
  });

  it('signs in and sees the agent, live', async () => {
    const page = await signIn(await newContext(), ADMIN.email, ADMIN.password, 'login');
    const row = page.locator('tr', { hasText: 'shop' });
    await row.getByText('connected').waitFor();
    await expect(row.textContent()).resolves.toContain('region=eu');
    // The agent's health counters from its heartbeat (it sends one as soon as it is welcomed).
    const health = row.getByTestId('agent-health');
    await health.waitFor();
    await expect(health.textContent()).resolves.toMatch(/^\d+ actions? · [\d.]+ ms CPU/);
    await shot('agents', page);
    // The filters narrow the list; the URL keeps them.
    await page.getByLabel('Tag (key=value)').fill('region=us');
    await page.getByText('No agent matches these filters').waitFor();
    expect(page.url()).toContain('tag=region%3Dus');
    await page.getByRole('button', { name: 'Clear filters' }).click();
    await row.waitFor();
  }, 60_000);

  it('opens a .ts source file of the running service and adds a log on a clicked line', async () => {
    const page = await adminPage();
    await openLine(page, LOOP_LINE);
    await expect(page.getByTestId('source-path').textContent()).resolves.toContain('src/services/pricing.ts');
    await expect(page.getByTestId('line-panel').textContent()).resolves.toContain(
      'subtotalCents += item.unitCents * item.quantity',
    );
    await page.getByTestId('template').fill('sku {item.sku} qty {item.quantity}');
    await shot('source', page);
    await page.getByTestId('add-action').click();
    await page.waitForURL(/\/actions\/[0-9a-f-]{36}/);
    const statuses = page.getByTestId('agent-statuses');
    await statuses.getByText('active').waitFor({ timeout: 20_000 });
    await expect(statuses.textContent()).resolves.toMatch(/patch|breakpoint/);
  }, 60_000);

  it('streams log lines as requests reach the service; pause, filter and clear', async () => {
    const id = await loopLog('streamed');
    const page = await adminPage();
    await page.goto(`${url}/actions/${id}`);
    await page.getByTestId('agent-statuses').getByText('active').waitFor();
    const lines = page.getByTestId('log-line');
    await order('sticker', 3);
    await lines.filter({ hasText: 'streamed sku sticker qty 3' }).first().waitFor();
    await order('mug', 2);
    await lines.filter({ hasText: 'streamed sku mug qty 2' }).first().waitFor();

    await page.getByTestId('pause').click();
    await order('tee', 1);
    await page.getByRole('button', { name: /Resume \(1 new\)/ }).waitFor();
    expect(await lines.filter({ hasText: 'sku tee' }).count()).toBe(0);
    await page.getByTestId('pause').click();
    await lines.filter({ hasText: 'streamed sku tee qty 1' }).first().waitFor();

    await page.getByLabel('Filter log lines').fill('mug');
    await waitFor(async () => (await lines.count()) === 1, { what: 'the filter to apply' });
    await page.getByLabel('Filter log lines').fill('');
    await page.getByRole('heading', { name: 'Log lines' }).scrollIntoViewIfNeeded();
    await shot('action-log', page);
    await page.getByTestId('clear').click();
    await waitFor(async () => (await lines.count()) === 0, { what: 'the view to clear' });
    await order('sticker', 5);
    await lines.filter({ hasText: 'streamed sku sticker qty 5' }).first().waitFor();
  }, 60_000);

  it('follows every log line of the service on the live page', async () => {
    const id = await loopLog('followed');
    await order('sticker', 7);
    await storedLine(id, 'followed sku sticker qty 7');
    const page = await adminPage();
    await page.goto(`${url}/live?pool=e2e&service=shop`);
    // Recent stored lines first, labelled with their action's location, then new ones as they come.
    const earlier = page.getByTestId('log-line').filter({ hasText: 'followed sku sticker qty 7' }).first();
    await earlier.waitFor();
    await expect(earlier.textContent()).resolves.toContain('pricing.ts:18');
    await page.getByTestId('stream-state').getByText('live').waitFor();
    await order('mug', 1);
    await page.getByTestId('log-line').filter({ hasText: 'followed sku mug qty 1' }).first().waitFor();
    await shot('live-logs', page);
  }, 60_000);

  it('shows the hub validation errors under the form fields', async () => {
    const page = await adminPage();
    await openLine(page, LOOP_LINE);
    // Keyboard: the code view takes arrow keys and Enter.
    await page.getByTestId('code').focus();
    await page.keyboard.press('ArrowDown');
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: `Line ${LOOP_LINE + 1}` }).waitFor();
    await page.getByTestId('add-action').click(); // no template
    const template = page.getByTestId('template');
    await waitFor(async () => (await template.getAttribute('aria-invalid')) === 'true', {
      what: 'the template field to be marked invalid',
    });
    await expect(page.getByTestId('action-form').getByRole('alert').first().textContent()).resolves.toMatch(
      /empty|least|small/i,
    );
    await page.getByTestId('kind-metric').click();
    await page.getByLabel('Metric', { exact: true }).selectOption('tictoc');
    await page.getByLabel('Name').fill('9 bad name');
    await page.getByTestId('add-action').click();
    await page.getByText(/must start with a letter/).waitFor();
    await shot('source-validation', page);
    await page.getByLabel('Name').fill('checkout.loop');
    await page.getByTestId('add-action').click();
    await page.getByText('a tictoc metric needs endLine').waitFor();
  }, 60_000);

  it('takes a snapshot and shows a variable in the tree, with frames and watches', async () => {
    const page = await adminPage();
    await openLine(page, RATE_LINE);
    await page.getByTestId('kind-snapshot').click();
    await page.getByLabel('Watch expressions').fill('count * 2\nitems.length');
    await page.getByTestId('add-action').click();
    await page.waitForURL(/\/actions\/[0-9a-f-]{36}/);
    await page.getByTestId('agent-statuses').getByText('active').waitFor({ timeout: 20_000 });
    await order('mug', 4);
    const snapshot = page.getByTestId('snapshot');
    await snapshot.waitFor({ timeout: 20_000 });
    const subtotal = snapshot.getByRole('treeitem', { name: 'subtotalCents' }).first();
    await expect(subtotal.textContent()).resolves.toContain('4800');
    // Watch expressions evaluated in the top frame.
    await expect(snapshot.textContent()).resolves.toContain('count * 2');
    // Top-level variables are open; expand an array element and read its property.
    const items = snapshot.getByRole('tree', { name: 'Variables' }).getByRole('treeitem', { name: 'items' }).first();
    await items.getByRole('button', { name: 'Collapse items' }).waitFor();
    await items.getByRole('button', { name: 'Expand 0' }).click();
    await expect(items.getByRole('treeitem', { name: 'sku' }).textContent()).resolves.toContain('"mug"');
    await expect(snapshot.getByRole('list', { name: 'Call stack' }).textContent()).resolves.toContain('quote');
    // Objects are named by their class, never `Object object`; frames name their file by its path in the shop.
    await expect(items.getByRole('treeitem', { name: '0' }).locator('.vrow').first().textContent()).resolves.toBe(
      '▾0:{…}',
    );
    await expect(snapshot.textContent()).resolves.not.toContain('Object object');
    const stack = snapshot.getByRole('list', { name: 'Call stack' });
    await expect(stack.textContent()).resolves.toContain('src/services/pricing.ts:');
    // The async callers that led to the line: placeOrder awaited by the route handler.
    await expect(stack.locator('li[data-async="await"]').first().textContent()).resolves.toContain('await');
    await page.getByRole('heading', { name: 'Snapshots' }).scrollIntoViewIfNeeded();
    await shot('snapshot', page);
    await snapshot.getByRole('button', { name: 'Copy as JSON' }).click();
    await snapshot.getByRole('button', { name: 'Copied' }).waitFor();
    const copied = JSON.parse(await page.evaluate<string>('navigator.clipboard.readText()')) as {
      frames: { function: string; locals?: Record<string, unknown> }[];
      watches: Record<string, unknown>;
    };
    expect(copied.frames[0]).toMatchObject({ function: 'quote', locals: { subtotalCents: 4800, count: 4 } });
    expect(copied.watches).toMatchObject({ 'count * 2': 8, 'items.length': 1 });
    await snapshot.getByRole('button', { name: 'View JSON' }).click();
    await expect(snapshot.locator('pre.json').textContent()).resolves.toContain('"subtotalCents": 4800');
  }, 60_000);

  it('charts a counter metric', async () => {
    const page = await adminPage();
    await openLine(page, COUNT_LINE);
    await page.getByTestId('kind-metric').click();
    await page.getByLabel('Name').fill('quotes');
    await page.getByTestId('add-action').click();
    await page.waitForURL(/\/actions\/[0-9a-f-]{36}/);
    await page.getByTestId('agent-statuses').getByText('active').waitFor({ timeout: 20_000 });
    for (let i = 0; i < 3; i++) await order('sticker', 1);
    await page.getByText('hits in view').waitFor({ timeout: 30_000 });
    await page.getByRole('img', { name: /points/ }).scrollIntoViewIfNeeded();
    await shot('metric', page);
  }, 60_000);

  it('charts the percentiles of a duration metric from its histograms', async () => {
    const page = await adminPage();
    await openLine(page, COUNT_LINE);
    await page.getByTestId('kind-metric').click();
    await page.getByLabel('Metric', { exact: true }).selectOption('duration');
    await page.getByLabel('Name').fill('quote.time');
    await page.getByTestId('add-action').click();
    await page.waitForURL(/\/actions\/[0-9a-f-]{36}/);
    await page.getByTestId('agent-statuses').getByText('active').waitFor({ timeout: 20_000 });
    for (let i = 0; i < 3; i++) await order('sticker', 1);
    const p99 = page.getByTestId('metric-p99');
    await p99.waitFor({ timeout: 30_000 });
    const value = await waitFor(
      async () => {
        const n = Number((await p99.locator('.n').textContent()) ?? '');
        return Number.isFinite(n) && n > 0 ? n : undefined;
      },
      { what: 'a p99 value' },
    );
    expect(value).toBeLessThan(1000);
    await expect(p99.locator('.l').textContent()).resolves.toBe('p99 (ms)');
    const series = page.getByRole('group', { name: 'Series' });
    await expect(series.getByRole('button').allTextContents()).resolves.toEqual(['count', 'avg', 'p50', 'p99', 'max']);
    await series.getByRole('button', { name: 'p99' }).click();
    await page.getByRole('img', { name: /p99 per 10 s bucket/ }).waitFor();
    await shot('metric-duration', page);
  }, 60_000);

  it('checks the syntax of a template as it is typed, and sends nothing while it is wrong', async () => {
    const before = (await hub.api<{ items: unknown[] }>('GET', '/api/v1/actions?limit=500')).body.items.length;
    const page = await adminPage();
    await openLine(page, LOOP_LINE);
    const template = page.getByTestId('template');
    await template.fill('order {item.sku');
    const form = page.getByTestId('action-form');
    await form.getByText('unclosed "{" at column 7').waitFor();
    expect(await template.getAttribute('aria-invalid')).toBe('true');
    await page.getByTestId('add-action').click();
    await template.fill('order {item.sku +* 2}');
    await form.getByText('{item.sku +* 2} at column 18: Unexpected token').waitFor();
    await page.getByLabel('Condition (optional)').fill('item.quantity = 2');
    await form.getByText('column 1: assignment is not allowed').waitFor();
    await shot('syntax-as-typed', page);
    await page.getByTestId('add-action').click();
    expect((await hub.api<{ items: unknown[] }>('GET', '/api/v1/actions?limit=500')).body.items).toHaveLength(before);
    await template.fill('order {item.sku}');
    await page.getByLabel('Condition (optional)').fill('');
    await waitFor(async () => (await template.getAttribute('aria-invalid')) !== 'true', {
      what: 'the template field to be valid again',
    });
    expect(await page.getByTestId('action-form').locator('.field-error').count()).toBe(0);
  }, 60_000);

  it('shows why an agent refused an action', async () => {
    const page = await adminPage();
    await openLine(page, LOOP_LINE);
    await page.getByTestId('template').fill('past the end {item.sku}');
    await page.getByLabel('Line', { exact: true }).fill('9999');
    await page.getByTestId('add-action').click();
    await page.waitForURL(/\/actions\/[0-9a-f-]{36}/);
    const statuses = page.getByTestId('agent-statuses');
    await statuses.getByText('error').waitFor({ timeout: 20_000 });
    await expect(statuses.locator('.field-error').textContent()).resolves.toMatch(/no code at or after line 9999/);
    // The header says what the agents say: not a green `active` waiting for the line to run.
    const state = page.getByTestId('action-state');
    await state.getByText('error', { exact: true }).waitFor({ timeout: 20_000 });
    await expect(state.textContent()).resolves.toContain('the agent failed to install it');
    await page.getByText('Every agent failed to install it: the reasons are under Agents.').waitFor();
    expect(await page.getByText('Waiting for the line to run…').count()).toBe(0);
  }, 60_000);

  it('lists actions with per-agent states, methods and reasons', async () => {
    const listed = await loopLog('listed');
    await createAction({ kind: 'snapshot', line: RATE_LINE });
    await createAction({ kind: 'metric', metric: 'counter', name: 'listed.quotes', line: COUNT_LINE });
    // Created last, so the newest log action of the list: the agent refuses it.
    await createAction({ kind: 'log', line: 9999, template: 'past the end {item.sku}' }, 'error');
    const page = await adminPage();
    await page.goto(`${url}/actions`);
    const rows = page.locator('table.table > tbody').first().locator('> tr');
    await waitFor(async () => (await rows.count()) >= 4, { what: 'four actions in the list' });
    // Expand the refused one: its agent's state and reason show in the list.
    await page
      .getByRole('button', { name: /Per-agent status of log/ })
      .first()
      .click();
    await page.getByTestId('agent-statuses').locator('.field-error').waitFor();
    await expect(page.locator('table.table > tbody').first().textContent()).resolves.toContain(
      'listed sku {item.sku} qty {item.quantity}',
    );
    await page.locator('table.table > tbody').first().getByText('active').first().waitFor();
    await shot('actions', page);
    await page.goto(`${url}/actions/${listed}`);
    await expect(page.getByTestId('agent-statuses').textContent()).resolves.toMatch(/active.*(patch|breakpoint)/);
  }, 60_000);

  it('admin pages: audit log (with the source reads), users, API tokens, pools', async () => {
    await loopLog('audited');
    const agents = await hub.api<{ items: { id: string }[] }>('GET', '/api/v1/agents?service=shop&status=connected');
    const agentId = agents.body.items[0]!.id;
    const files = await hub.api<{ files: { path: string }[] }>('GET', `/api/v1/agents/${agentId}/sources`);
    const pricing = files.body.files.find((f) => f.path.endsWith(PRICING_PATH))!.path;
    // The agent's own files (its package, the protocol package it brings) are not the app's sources.
    expect(files.body.files.filter((f) => /packages\/(agent-node|protocol)\//.test(f.path))).toEqual([]);
    const read = await hub.api('GET', `/api/v1/agents/${agentId}/sources/content?path=${encodeURIComponent(pricing)}`);
    expect(read.status).toBe(200);
    const page = await adminPage();
    await page.goto(`${url}/audit`);
    const audit = page.getByTestId('audit-table');
    await audit.waitFor();
    await expect(audit.textContent()).resolves.toContain('source.read');
    await expect(audit.textContent()).resolves.toContain('action.create');
    await shot('audit', page);

    await page.goto(`${url}/users`);
    await page.getByText(userEmail('viewer')).waitFor();
    await shot('users', page);

    await page.goto(`${url}/tokens`);
    await page.getByLabel('Name').fill('laptop');
    await page.getByRole('button', { name: 'Create token' }).click();
    await expect(page.getByTestId('new-token').textContent()).resolves.toMatch(/^sgt_/);
    await shot('tokens', page);

    await page.goto(`${url}/pools`);
    await page.getByRole('link', { name: 'e2e' }).waitFor();
    await page.getByLabel('Name').fill('Bad Name');
    await page.getByRole('button', { name: 'Create pool' }).click();
    await page
      .getByText(/lower-case letters/)
      .first()
      .waitFor();
    await shot('pools', page);
  }, 60_000);

  it('grants and revokes a role per pool on the Users page; a developer of one pool only sees that pool', async () => {
    const page = await adminPage();
    const viewer = userEmail('viewer');
    const viewerId = (await hub.app.services.users.findByEmail(viewer))!.id;
    await page.goto(`${url}/users`);
    await page.getByLabel(`Pool roles of ${viewer}`).click();
    await page.getByLabel(`Pool for ${viewer}`).selectOption('e2e');
    await page.getByLabel(`Pool role for ${viewer}`).selectOption('developer');
    await page.getByRole('button', { name: 'Grant' }).first().click();
    await page.getByText('e2e · developer').waitFor();
    const granted = await hub.api<{ items: { poolName: string; role: string }[] }>(
      'GET',
      `/api/v1/users/${viewerId}/memberships`,
    );
    expect(granted.body.items).toMatchObject([{ poolName: 'e2e', role: 'developer' }]);
    await shot('users-pool-roles', page);
    await page.getByRole('button', { name: `Revoke e2e from ${viewer}` }).click();
    await page.getByLabel(`Pool roles of ${viewer}`).getByText('none').waitFor();
    expect((await hub.api<{ items: unknown[] }>('GET', `/api/v1/users/${viewerId}/memberships`)).body.items).toEqual(
      [],
    );

    // A user with no global role and developer in e2e: the shop's agent, and the controls to add actions.
    const email = `pool-dev-${Date.now()}@example.test`;
    const user = await hub.app.services.users.create({
      email,
      name: 'Pool dev',
      role: 'none',
      password: USER_PASSWORD,
    });
    await hub.app.services.memberships.grant(user.id, 'e2e', 'developer');
    const other = await hub.createPool(`console-other-${Date.now()}`);
    const otherAction = await hub.api<{ id: string }>('POST', '/api/v1/actions', {
      kind: 'log',
      file: PRICING_PATH,
      line: LOOP_LINE,
      template: 'other',
      target: { pool: other.name },
    });
    expect(otherAction.status).toBe(201);
    const mine = await hub.api<{ id: string }>('POST', '/api/v1/actions', {
      kind: 'log',
      file: PRICING_PATH,
      line: LOOP_LINE,
      template: 'mine',
      target: { pool: 'e2e', service: 'shop' },
    });
    expect(mine.status).toBe(201);
    const dev = await signIn(await newContext(), email, USER_PASSWORD);
    await dev.getByText('shop').first().waitFor();
    // Traces are offered (scoped to the pool's spans); what needs a global role is not.
    await expect(dev.getByRole('link', { name: 'Traces' }).count()).resolves.toBe(1);
    await expect(dev.getByRole('link', { name: 'Kubernetes' }).count()).resolves.toBe(0);
    await dev.goto(`${url}/actions`);
    await dev.getByText('pool e2e').first().waitFor();
    await expect(dev.locator('main').textContent()).resolves.not.toContain(`pool ${other.name}`);
    await shot('actions-pool-developer', dev);
    await hub.api('DELETE', `/api/v1/actions/${mine.body.id}`);
    await hub.api('DELETE', `/api/v1/actions/${otherAction.body.id}`);
  }, 60_000);

  it('has a dark theme', async () => {
    const id = await loopLog('dark');
    await order('tee', 2);
    await storedLine(id, 'dark sku tee qty 2');
    const page = await adminPage();
    await page.goto(`${url}/agents`);
    const toggle = page.getByRole('button', { name: /Theme:/ });
    while (!/Theme: dark/.test((await toggle.getAttribute('aria-label')) ?? '')) await toggle.click();
    await waitFor(
      async () => (await page.evaluate<string | undefined>('document.documentElement.dataset.theme')) === 'dark',
      {
        what: 'the dark theme',
      },
    );
    await page.locator('tr', { hasText: 'shop' }).waitFor();
    await shot('agents-dark', page);
    await page.goto(`${url}/actions/${id}`);
    await page.getByTestId('log-line').filter({ hasText: 'dark sku tee qty 2' }).waitFor();
    // The choice is remembered across pages.
    expect(await page.evaluate<string | undefined>('document.documentElement.dataset.theme')).toBe('dark');
    await shot('action-log-dark', page);
  }, 60_000);

  it('a viewer browses sources but gets no controls to add or remove actions, and the hub refuses them', async () => {
    const id = await loopLog('viewed');
    const context = await newContext();
    const viewer = await signIn(context, userEmail('viewer'), USER_PASSWORD);
    await openLine(viewer, LOOP_LINE);
    await viewer.getByTestId('viewer-note').waitFor();
    expect(await viewer.getByTestId('action-form').count()).toBe(0);
    await shot('source-viewer', viewer);
    await viewer.goto(`${url}/actions/${id}`);
    await viewer.getByTestId('agent-statuses').waitFor();
    expect(await viewer.getByRole('button', { name: 'Remove' }).count()).toBe(0);
    const status = await viewer.evaluate(async () => {
      const res = await fetch('/api/v1/actions', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ kind: 'log', file: 'pricing.ts', line: 18, template: 'x', target: { pool: 'e2e' } }),
      });
      return res.status;
    });
    expect(status).toBe(403);
    // The admin-only pages are not in a viewer's navigation.
    expect(await viewer.getByRole('link', { name: 'Audit log' }).count()).toBe(0);
  }, 60_000);

  it('signs out', async () => {
    const page = await adminPage();
    await page.goto(`${url}/agents`);
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.waitForURL(/\/login/);
    await shot('signed-out', page);
    await page.goto(`${url}/actions`);
    await page.waitForURL(/\/login\?redirect=/);
  }, 60_000);
});

/**
 * The console's trace-based test pages end to end: a real hub with its OTLP receiver, a bookstore instrumented with
 * the OpenTelemetry SDK, tests applied over the REST API and run from the console in Debian's Chromium driven by
 * playwright-core. Screenshots go to test-artifacts/console/. Skipped, with a message, where /usr/bin/chromium is not
 * installed.
 */
import type { Role } from '@spyglass/protocol';
import type { StoredResource, TestRun } from '@spyglass/trace-tests';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Browser, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  ADMIN,
  USER_PASSWORD,
  createHub,
  startTracedApp,
  userEmail,
  type TestHub,
  type TracedApp,
} from '../../server/test/kit/index.js';
import { FAST_POLLING, apply, finalRun, testResource } from '../../server/test/trace-tests/helpers.js';
import {
  PageTracker,
  buildConsoleOnce,
  chromiumAvailable,
  launchChromium,
  shot,
  waitForSearch,
} from './browser-kit.js';

const hasChromium = chromiumAvailable('the trace-test browser tests');

const SERVER_SELECTOR = 'span[tracetest.span.type="http" name="GET /books/:id" kind="server"]';

describe.skipIf(!hasChromium)('Trace-based test pages in Chromium against a real hub and an instrumented app', () => {
  let hub: TestHub;
  let app: TracedApp;
  let url: string;
  let browser: Browser;
  const pages = new PageTracker(
    () => browser,
    () => url,
    { timeoutMs: 20_000 },
  );

  /** A page signed in (through the API) as the test user of `role`. */
  const pageAs = (role: Role): Promise<Page> =>
    pages.pageAs(role === 'admin' ? ADMIN : { email: userEmail(role), password: USER_PASSWORD });

  /** The mark a run-page waterfall row carries (`pass`, `fail`, or '' for none), read from its computed style. */
  const markOf = (p: Page, spanId: string): Promise<string> =>
    p
      .locator(`[data-testid="run-trace"] [data-span-id="${spanId}"]`)
      .evaluate((el) => getComputedStyle(el).getPropertyValue('--span-mark').trim());

  /** Every span row of the run page's waterfall with its mark. */
  const marksOf = (p: Page): Promise<Record<string, string>> =>
    p
      .locator('[data-testid="run-trace"] [data-testid="span-row"]')
      .evaluateAll((rows) =>
        Object.fromEntries(
          rows.map((r) => [
            r.getAttribute('data-span-id') ?? '',
            getComputedStyle(r).getPropertyValue('--span-mark').trim(),
          ]),
        ),
      );

  const getBook = (): Record<string, unknown> =>
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
          selector: 'span[name="Tracetest trigger"]',
          name: 'the answer',
          assertions: [
            'attr:tracetest.response.status = 200',
            'attr:tracetest.response.body | json_path \'$.title\' = "The Hobbit"',
          ],
        },
        { selector: SERVER_SELECTOR, assertions: ['attr:http.status_code = 200', 'attr:tracetest.span.duration < 5s'] },
        {
          selector: 'span[name="GET /books/:id"] span[tracetest.span.type="database"]',
          name: 'the lookup',
          assertions: ['attr:db.statement contains "WHERE id = 1"'],
        },
      ],
    });

  beforeAll(async () => {
    await buildConsoleOnce();
    hub = await createHub({ listen: true, otlp: true, timers: 'default' });
    url = hub.url;
    const pool = await hub.createPool('trace-tests-e2e');
    app = await startTracedApp({ otlpUrl: hub.otlpHttpUrl, poolKey: pool.key });
    await apply(hub, FAST_POLLING, getBook());
    browser = await launchChromium();
  }, 120_000);

  afterEach(() => pages.check());

  afterAll(async () => {
    await browser?.close();
    await app?.close();
    await hub?.close();
  });

  it('a developer runs a test from the list and sees it pass, with the spans of the spec they click marked', async () => {
    const page = await pageAs('developer');
    await page.goto(`${url}/agents`);
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Tests' }).click();
    await page.waitForURL(/\/tests$/);
    const row = page.locator('[data-testid="test-row"][data-test-id="get-book"]');
    await row.waitFor();
    const cells = await row.locator('td').allTextContents();
    expect(cells[0]).toContain('Get a book');
    expect(cells[1]).toBe('http');
    expect(cells[2]).toBe('3');
    expect(cells[3]).toBe('never run');

    await row.getByTestId('run-test').click();
    await page.waitForURL(/\/tests\/get-book\/runs\/\d+/);
    const runNumber = Number(/runs\/(\d+)/.exec(page.url())![1]);
    const status = page.getByTestId('run-status').first();
    await expect.poll(() => status.getAttribute('data-state'), { timeout: 40_000, intervals: [200] }).toBe('FINISHED');
    await expect(status.textContent()).resolves.toBe('passed');
    await expect(page.getByTestId('specs-passed').textContent()).resolves.toBe('3/3');
    expect(await page.getByTestId('run-error').count()).toBe(0);

    // The trigger result and the output the run exported.
    await expect(page.getByTestId('trigger-status').textContent()).resolves.toBe('200');
    await expect(page.getByTestId('trigger-body').textContent()).resolves.toContain('"title": "The Hobbit"');
    await expect(page.getByTestId('output').textContent()).resolves.toContain('TITLE');
    await expect(page.getByTestId('output').locator('td').first().textContent()).resolves.toBe('The Hobbit');

    // What the hub says about the run, to compare the page with.
    const run = (await hub.api<TestRun>('GET', `/api/v1/tests/get-book/runs/${runNumber}`, undefined, 'viewer')).body;
    expect(run.passed).toBe(true);
    const [answer, server, lookup] = run.results!;
    const traceSpans = await page.locator('[data-testid="run-trace"] [data-testid="span-row"]').count();
    expect(traceSpans).toBe(run.spanCount);

    // Each assertion shows the value observed on each span.
    const specs = page.getByTestId('spec-result');
    await expect(specs.count()).resolves.toBe(3);
    const observed = await specs.nth(0).getByTestId('observed').allTextContents();
    expect(observed).toEqual(['200', 'The Hobbit']);

    // Nothing failed, so the first spec is marked: the trigger span only.
    const rowIds = Object.keys(await marksOf(page));
    expect(rowIds).toHaveLength(run.spanCount);
    await expect
      .poll(() => marksOf(page))
      .toEqual(Object.fromEntries(rowIds.map((id) => [id, id === run.triggerSpanId ? 'pass' : ''])));
    // Choosing the server span's spec marks its span instead.
    await expect(specs.nth(1).locator('.spec-head').textContent()).resolves.toContain(SERVER_SELECTOR);
    await specs.nth(1).locator('.spec-head').click();
    await page.waitForURL(/spec=1/);
    await expect.poll(() => markOf(page, server!.spanIds[0]!)).toBe('pass');
    expect(await markOf(page, answer!.spanIds[0]!)).toBe('');
    const marked = Object.entries(await marksOf(page)).filter(([, m]) => m !== '');
    expect(marked).toEqual([[server!.spanIds[0], 'pass']]);

    // An assertion's span selects it in the waterfall and opens its details.
    const dbSpan = lookup!.spanIds[0]!;
    await specs.nth(2).locator(`[data-testid="assertion-span"][data-span-id="${dbSpan}"]`).click();
    await waitForSearch(page, { spec: 2, span: dbSpan });
    const dbRow = page.locator(`[data-testid="run-trace"] [data-span-id="${dbSpan}"]`);
    await expect.poll(() => dbRow.getAttribute('aria-selected')).toBe('true');
    expect(await markOf(page, dbSpan)).toBe('pass');
    await page.getByTestId('span-details').getByRole('heading', { name: 'SELECT books' }).waitFor();
    await shot('test-run', page);

    // The waterfall is the run's own copy of the trace: the trigger span carries the answer the assertions read.
    await expect(page.getByTestId('trace-source').textContent()).resolves.toBe('as the assertions saw it');
    await page.locator(`[data-testid="run-trace"] [data-span-id="${run.triggerSpanId}"]`).click();
    const details = page.getByTestId('span-details');
    await details.getByRole('heading', { name: 'Tracetest trigger' }).waitFor();
    const attrs = details.getByRole('table', { name: 'Span attributes' });
    await expect(
      attrs.locator('tr', { hasText: 'tracetest.response.status' }).locator('td').textContent(),
    ).resolves.toBe('200');

    // The list now shows the verdict of the last run.
    await page.goto(`${url}/tests`);
    await expect.poll(() => row.getByTestId('run-status').textContent(), { timeout: 15_000 }).toBe('passed');
    await expect(row.textContent()).resolves.toContain(`#${runNumber}`);
    await shot('tests', page);
  }, 120_000);

  it('a failing assertion marks its span as failed with the observed value', async () => {
    await apply(
      hub,
      testResource({
        id: 'book-in-stock',
        name: 'Dune is in stock',
        trigger: { type: 'http', httpRequest: { method: 'GET', url: `${app.url}/books/2`, headers: [] } },
        specs: [
          { selector: SERVER_SELECTOR, assertions: ['attr:http.status_code = 200'] },
          {
            selector: 'span[name="Tracetest trigger"]',
            name: 'in stock',
            assertions: ["attr:tracetest.response.body | json_path '$.stock' > 0"],
          },
        ],
      }),
    );
    const page = await pageAs('admin');
    await page.goto(`${url}/tests/book-in-stock`);
    await page.getByTestId('test-title').waitFor();
    await page.getByTestId('run-test').click();
    await page.waitForURL(/\/tests\/book-in-stock\/runs\/\d+/);
    const status = page.getByTestId('run-status').first();
    await expect.poll(() => status.getAttribute('data-state'), { timeout: 40_000 }).toBe('FINISHED');
    await expect(status.textContent()).resolves.toBe('failed');
    await expect(page.getByTestId('specs-passed').textContent()).resolves.toBe('1/2');
    const runNumber = Number(/runs\/(\d+)/.exec(page.url())![1]);
    const run = (await hub.api<TestRun>('GET', `/api/v1/tests/book-in-stock/runs/${runNumber}`)).body;

    // The failing spec is the one marked at first: its span is marked failed, with the value seen there.
    const failing = page.locator('[data-testid="spec-result"][data-passed="false"]');
    await expect(failing.getAttribute('data-spec-index')).resolves.toBe('1');
    await expect(failing.getByTestId('observed').textContent()).resolves.toBe('0');
    await expect.poll(() => markOf(page, run.triggerSpanId)).toBe('fail');
    await expect(page.getByTestId('marked-spec').textContent()).resolves.toContain('in stock');
    await shot('test-run-failed', page);

    // The run is in the test's history, newest first.
    await page.getByRole('link', { name: 'Dune is in stock' }).click();
    await page.waitForURL(/\/tests\/book-in-stock$/);
    const history = page.getByTestId('run-row');
    await history.first().waitFor();
    await expect(history.first().getAttribute('data-run-number')).resolves.toBe(String(runNumber));
    // (The history may first show the run as it was cached when it started, then its final state.)
    await expect.poll(() => history.first().getByTestId('run-status').textContent()).toBe('failed');
    await expect(history.first().textContent()).resolves.toContain(run.traceId.slice(0, 16));
  }, 120_000);

  it('the editor checks the YAML as it is typed: a broken selector shows its line:column and blocks Save', async () => {
    const page = await pageAs('developer');
    await page.goto(`${url}/tests/get-book`);
    const editor = page.getByTestId('test-editor');
    await editor.waitFor();
    const text = await editor.inputValue();
    expect(text.startsWith('type: Test\nspec:\n  id: get-book\n  name: Get a book\n')).toBe(true);
    expect(text).toContain(`- selector: ${SERVER_SELECTOR}\n`);
    await page.getByTestId('editor-ok').waitFor();
    const save = page.getByTestId('save-test');
    await expect(save.isDisabled()).resolves.toBe(true);

    // Delete the selector's closing bracket, as a person would: cursor after it, Backspace.
    const lines = text.split('\n');
    const line = lines.findIndex((l) => l.endsWith(SERVER_SELECTOR)) + 1;
    const afterBracket = lines.slice(0, line).join('\n').length;
    await editor.click();
    await editor.evaluate((el: HTMLTextAreaElement, at) => el.setSelectionRange(at, at), afterBracket);
    await page.keyboard.press('Backspace');
    const column = lines[line - 1]!.length; // where "]" was expected: the end of the shortened line, 1-based
    const problem = page.getByTestId('editor-problem');
    await expect(problem.textContent()).resolves.toBe(`${line}:${column}`);
    await expect(page.getByTestId('editor-problems').textContent()).resolves.toContain(
      'spec.specs[1].selector: expected "]"',
    );
    await expect(page.getByTestId('editor-bad-line').getAttribute('data-line')).resolves.toBe(String(line));
    await expect(page.getByTestId('editor-gutter').locator('.bad').textContent()).resolves.toBe(String(line));
    await expect(save.isDisabled()).resolves.toBe(true);
    await expect(editor.getAttribute('aria-invalid')).resolves.toBe('true');
    await shot('test-editor-problem', page);

    // The problem puts the cursor where it is.
    await editor.evaluate((el: HTMLTextAreaElement) => el.setSelectionRange(0, 0));
    await problem.click();
    const expectedOffset = lines.slice(0, line - 1).join('\n').length + 1 + column - 1;
    await expect(editor.evaluate((el: HTMLTextAreaElement) => el.selectionStart)).resolves.toBe(expectedOffset);

    // Put the bracket back and add an assertion: no problem, Save applies a new version.
    await page.keyboard.type(']');
    await page.getByTestId('editor-ok').waitFor();
    const assertions = (await editor.inputValue()).split('\n');
    const statusLine = assertions.findIndex((l) => l.trim() === '- attr:http.status_code = 200');
    const indent = /^ */.exec(assertions[statusLine]!)![0];
    const endOfStatus = assertions.slice(0, statusLine + 1).join('\n').length;
    await editor.evaluate((el: HTMLTextAreaElement, at) => el.setSelectionRange(at, at), endOfStatus);
    await page.keyboard.type(`\n${indent}- attr:http.method = "GET"`);
    await page.getByTestId('editor-ok').waitFor();
    await expect(save.isDisabled()).resolves.toBe(false);
    await save.click();
    await expect(page.getByTestId('saved').textContent()).resolves.toBe('Saved: version 2 (updated).');
    const stored = (await hub.api<StoredResource>('GET', '/api/v1/test-resources/Test/get-book', undefined, 'viewer'))
      .body;
    expect(stored.version).toBe(2);
    expect(stored.resource.type === 'Test' && stored.resource.spec.specs[1]!.assertions).toEqual([
      'attr:http.status_code = 200',
      'attr:http.method = "GET"',
      'attr:tracetest.span.duration < 5s',
    ]);
    await expect(save.isDisabled()).resolves.toBe(true);
  }, 120_000);

  it('a viewer sees the tests, their runs and definitions, but no Run or Save button', async () => {
    await apply(
      hub,
      testResource({
        id: 'viewer-visible',
        trigger: { type: 'http', httpRequest: { method: 'GET', url: `${app.url}/books/1`, headers: [] } },
        specs: [{ selector: SERVER_SELECTOR, assertions: ['attr:http.status_code = 200'] }],
      }),
    );
    const started = await hub.api<TestRun>('POST', '/api/v1/tests/viewer-visible/run', {}, 'developer');
    expect(started.status).toBe(201);
    await finalRun(hub, 'viewer-visible', started.body.runNumber);

    const page = await pageAs('viewer');
    await page.goto(`${url}/tests`);
    const row = page.locator('[data-testid="test-row"][data-test-id="viewer-visible"]');
    await row.waitFor();
    await expect(row.getByTestId('run-status').textContent()).resolves.toBe('passed');
    expect(await page.getByTestId('run-test').count()).toBe(0);
    expect(await page.getByRole('button', { name: /^Run/ }).count()).toBe(0);
    await shot('tests-viewer', page);

    await row.click();
    await page.waitForURL(/\/tests\/viewer-visible$/);
    const editor = page.getByTestId('test-editor');
    await editor.waitFor();
    await expect(editor.getAttribute('readonly')).resolves.not.toBeNull();
    expect(await page.getByTestId('save-test').count()).toBe(0);
    expect(await page.getByTestId('run-test').count()).toBe(0);
    await page.getByTestId('run-row').first().click();
    await page.waitForURL(/\/tests\/viewer-visible\/runs\/\d+/);
    await expect(page.getByTestId('run-status').first().textContent()).resolves.toBe('passed');
    expect(await page.getByRole('button', { name: 'Stop' }).count()).toBe(0);
  }, 120_000);

  it('a run waiting for its trace shows where it is and how many spans arrived, then why it failed', async () => {
    // A server that answers without tracing: the trace never gets more than the trigger's own span.
    const plain = createServer((_req, res) => res.writeHead(200, { 'content-type': 'text/plain' }).end('ok'));
    await new Promise<void>((resolve) => plain.listen(0, '127.0.0.1', resolve));
    try {
      const port = (plain.address() as AddressInfo).port;
      await apply(
        hub,
        {
          type: 'PollingProfile',
          spec: {
            id: 'give-up-soon',
            name: 'give up soon',
            strategy: 'periodic',
            periodic: { retryDelay: '300ms', timeout: '8s' },
          },
        },
        testResource({
          id: 'untraced',
          name: 'An untraced app',
          pollingProfile: 'give-up-soon',
          trigger: { type: 'http', httpRequest: { method: 'GET', url: `http://127.0.0.1:${port}/`, headers: [] } },
          specs: [{ selector: SERVER_SELECTOR, assertions: ['attr:http.status_code = 200'] }],
        }),
      );
      const page = await pageAs('developer');
      await page.goto(`${url}/tests/untraced`);
      await page.getByTestId('run-test').click();
      await page.waitForURL(/\/tests\/untraced\/runs\/\d+/);
      const status = page.getByTestId('run-status').first();
      await expect
        .poll(() => status.textContent(), { timeout: 8000, intervals: [100] })
        .toBe('awaiting trace (1 span)');
      await page.getByRole('button', { name: 'Stop' }).waitFor();
      await shot('test-run-awaiting', page);
      await expect.poll(() => status.getAttribute('data-state'), { timeout: 30_000 }).toBe('TRACE_FAILED');
      await expect(status.textContent()).resolves.toBe('trace failed');
      const error = page.getByTestId('run-error');
      await expect(error.textContent()).resolves.toContain('The trace did not arrive.');
      await expect(error.textContent()).resolves.toContain('Timed out without finding trace, trace id "');
      // The trigger's answer is still shown, and the trace with the trigger's span.
      await expect(page.getByTestId('trigger-status').textContent()).resolves.toBe('200');
      await expect(page.getByTestId('trace-source').textContent()).resolves.toBe('from the span store');
      await expect(page.locator('[data-testid="run-trace"] [data-testid="span-row"]').count()).resolves.toBe(1);
      expect(await page.getByRole('button', { name: 'Stop' }).count()).toBe(0);
      await shot('test-run-trace-failed', page);
    } finally {
      await new Promise<void>((resolve) => plain.close(() => resolve()));
    }
  }, 120_000);

  it('a run whose trigger failed shows why; a suite run lists its steps with links to their runs', async () => {
    await apply(
      hub,
      testResource({
        id: 'adopt-trace',
        name: 'Adopt a trace',
        trigger: { type: 'traceid', traceid: { id: '${var:TRACE_ID}' } },
        specs: [{ selector: SERVER_SELECTOR, assertions: ['attr:http.status_code = 200'] }],
      }),
      { type: 'TestSuite', spec: { id: 'read-suite', name: 'Read suite', steps: ['get-book', 'get-book'] } },
    );
    const page = await pageAs('developer');
    await page.goto(`${url}/tests/adopt-trace`);
    await page.getByTestId('run-test').click();
    await page.waitForURL(/\/tests\/adopt-trace\/runs\/\d+/);
    const error = page.getByTestId('run-error');
    await error.waitFor({ timeout: 40_000 });
    await expect(error.textContent()).resolves.toContain('The trigger failed.');
    await expect(error.textContent()).resolves.toMatch(/variable "TRACE_ID" not found/);
    await expect(page.getByTestId('run-status').first().textContent()).resolves.toBe('trigger failed');
    await expect(page.getByTestId('trace-source').textContent()).resolves.toBe('from the span store');
    await shot('test-run-trigger-failed', page);

    // The suite from the list: its run page lists both steps, each linking to its test run.
    await page.goto(`${url}/tests`);
    await page.locator('[data-testid="suite-row"][data-suite-id="read-suite"]').getByRole('button').click();
    await page.waitForURL(/\/test-suites\/read-suite\/runs\/\d+/);
    await expect.poll(() => page.getByTestId('suite-status').textContent(), { timeout: 60_000 }).toBe('passed');
    const steps = page.getByTestId('suite-step');
    await expect(steps.count()).resolves.toBe(2);
    await expect(steps.nth(0).getByTestId('run-status').textContent()).resolves.toBe('passed');
    await shot('test-suite-run', page);
    await steps.nth(1).getByRole('link').click();
    await page.waitForURL(/\/tests\/get-book\/runs\/\d+/);
    await expect(page.getByTestId('run-status').first().textContent()).resolves.toBe('passed');
  }, 150_000);
});

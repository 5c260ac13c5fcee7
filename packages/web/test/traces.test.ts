/**
 * The console's Traces pages end to end: a real hub with its OTLP receiver, spans exported by the real OpenTelemetry
 * SDK (OTLP/HTTP protobuf with a pool key), a protocol-level agent for the live-debugging parts, and Debian's
 * Chromium driven by playwright-core. Screenshots go to test-artifacts/console/. Skipped, with a message, where
 * /usr/bin/chromium is not installed.
 */
import { ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Context, type Span } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';
import type { Trace } from '@spyglass/protocol';
import type { Browser, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { SimAgent, createHub, waitFor, type TestHub, type TestPool } from '../../server/test/kit/index.js';
import {
  PageTracker,
  buildConsoleOnce,
  chromiumAvailable,
  launchChromium,
  shot,
  waitForSearch,
} from './browser-kit.js';

const hasChromium = chromiumAvailable('the traces browser tests');

/** One span to export: times in ms from the trace's start; `parent` names another spec. */
interface SpanSpec {
  name: string;
  service: string;
  parent?: string;
  startMs: number;
  endMs: number;
  kind?: SpanKind;
  attributes?: Record<string, string | number | boolean>;
  error?: string;
}

describe.skipIf(!hasChromium)('Traces pages in Chromium against a real hub and the OpenTelemetry SDK', () => {
  let hub: TestHub;
  let pool: TestPool;
  let url: string;
  let browser: Browser;
  const pages = new PageTracker(
    () => browser,
    () => url,
    { timeoutMs: 20_000 },
  );
  let run = 0;

  /**
   * Exports spans with the SDK (one tracer provider per service, batched OTLP/HTTP protobuf) and waits until the hub
   * stored all of them. Returns the trace id and each span's id by name.
   */
  async function exportTrace(specs: SpanSpec[]): Promise<{ traceId: string; ids: Map<string, string> }> {
    const providers = new Map<string, BasicTracerProvider>();
    const providerOf = (service: string): BasicTracerProvider => {
      let p = providers.get(service);
      if (p === undefined) {
        const exporter = new OTLPTraceExporter({
          url: `${hub.otlpHttpUrl}/v1/traces`,
          headers: { Authorization: `Bearer ${pool.key}` },
          timeoutMillis: 60_000,
        });
        p = new BasicTracerProvider({
          resource: resourceFromAttributes({ 'service.name': service, 'deployment.environment': 'e2e' }),
          spanProcessors: [
            new BatchSpanProcessor(exporter, {
              maxQueueSize: 20_000,
              maxExportBatchSize: 1000,
              scheduledDelayMillis: 100,
              exportTimeoutMillis: 60_000,
            }),
          ],
        });
        providers.set(service, p);
      }
      return p;
    };
    const base = Date.now() - 10_000;
    const spans = new Map<string, Span>();
    const contextOf = new Map<string, Context>();
    for (const spec of specs) {
      const parentCtx = spec.parent === undefined ? ROOT_CONTEXT : contextOf.get(spec.parent);
      if (parentCtx === undefined) throw new Error(`${spec.name}: parent ${spec.parent} comes later`);
      const span = providerOf(spec.service)
        .getTracer('e2e-tracer', '1.0.0')
        .startSpan(
          spec.name,
          {
            kind: spec.kind ?? SpanKind.INTERNAL,
            startTime: new Date(base + spec.startMs),
            ...(spec.attributes === undefined ? {} : { attributes: spec.attributes }),
          },
          parentCtx,
        );
      if (spec.error !== undefined) span.setStatus({ code: SpanStatusCode.ERROR, message: spec.error });
      spans.set(spec.name, span);
      contextOf.set(spec.name, trace.setSpan(ROOT_CONTEXT, span));
    }
    for (const spec of specs) spans.get(spec.name)!.end(new Date(base + spec.endMs));
    for (const p of providers.values()) await p.forceFlush();
    await Promise.all([...providers.values()].map((p) => p.shutdown()));
    const traceId = spans.get(specs[0]!.name)!.spanContext().traceId;
    await waitFor(
      async () => {
        const res = await hub.api<Trace>('GET', `/api/v1/traces/${traceId}`, undefined, 'viewer');
        return res.status === 200 && res.body.spanCount === specs.length;
      },
      {
        what: `the hub to store the ${specs.length} spans of trace ${traceId}`,
        timeoutMs: 90_000,
        intervalMs: specs.length > 1000 ? 1000 : 100,
      },
    );
    return { traceId, ids: new Map([...spans].map(([name, s]) => [name, s.spanContext().spanId])) };
  }

  /** A checkout: two services, an error, code attributes; its critical path is root → charge, reserve → db. */
  function checkout(service: string): SpanSpec[] {
    return [
      {
        name: 'POST /checkout',
        service,
        startMs: 0,
        endMs: 100,
        kind: SpanKind.SERVER,
        attributes: { 'http.route': '/checkout', 'http.status_code': 201 },
      },
      { name: 'reserve stock', service, parent: 'POST /checkout', startMs: 5, endMs: 40 },
      {
        name: 'db select',
        service,
        parent: 'reserve stock',
        startMs: 10,
        endMs: 30,
        kind: SpanKind.CLIENT,
        attributes: {
          'db.statement': 'SELECT qty FROM stock WHERE sku = ?',
          'code.filepath': 'src/services/stock.ts',
          'code.lineno': 42,
        },
      },
      {
        name: 'charge card',
        service: `${service}-payments`,
        parent: 'POST /checkout',
        startMs: 45,
        endMs: 95,
        kind: SpanKind.SERVER,
        error: 'card declined',
      },
      { name: 'audit log', service, parent: 'POST /checkout', startMs: 50, endMs: 60 },
    ];
  }

  /** The span rows in the DOM, top to bottom: `name@depth`. */
  const spanRows = (p: Page): Promise<string[]> =>
    p.getByTestId('span-row').evaluateAll((rows) =>
      rows
        .map((r) => ({ top: r.getBoundingClientRect().top, r }))
        .sort((a, b) => a.top - b.top)
        .map(({ r }) => `${r.querySelector('.wf-label')?.textContent ?? '?'}@${r.getAttribute('data-depth')}`),
    );

  beforeAll(async () => {
    await buildConsoleOnce();
    hub = await createHub({ listen: true, otlp: true, timers: 'default' });
    url = hub.url;
    pool = await hub.createPool('traces-e2e');
    browser = await launchChromium();
  }, 120_000);

  afterEach(() => pages.check());

  afterAll(async () => {
    await browser?.close();
    await hub?.close();
  });

  it('finds an exported trace with the search form and shows its span tree, critical path and span details', async () => {
    const service = `shop-${++run}`;
    const { traceId, ids } = await exportTrace(checkout(service));
    const page = await pages.adminPage();
    await page.goto(`${url}/agents`);
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Traces' }).click();
    await page.waitForURL(/\/traces$/);

    // Service and span name come from the hub's lists; choosing them searches at once, and the URL keeps them.
    const form = page.getByRole('search', { name: 'Search traces' });
    await form.getByLabel('Service').locator(`option[value="${service}"]`).waitFor({ state: 'attached' });
    await form.getByLabel('Service').selectOption(service);
    await page.waitForURL(new RegExp(`service=${service}`));
    await form.getByLabel('Span name').locator('option[value="db select"]').waitFor({ state: 'attached' });
    await form.getByLabel('Span name').selectOption('POST /checkout');
    await form.getByLabel('Attribute (key=value)').fill('http.status_code=201');
    await form.getByLabel('Min duration').fill('50ms');
    await form.getByLabel('Min duration').press('Enter');
    await page.waitForURL(/minDuration=50ms/);
    expect(decodeURIComponent(page.url())).toContain('http.status_code=201');

    const row = page.locator(`[data-testid="trace-row"][data-trace-id="${traceId}"]`);
    await row.waitFor();
    const text = (await row.textContent()) ?? '';
    expect(text).toContain(`${service} POST /checkout`);
    expect(text).toContain(`${service}-payments`);
    expect(text).toMatch(/100\.0ms/);
    await expect(row.locator('td').nth(2).textContent()).resolves.toBe('5');
    await expect(row.locator('.error-mark').textContent()).resolves.toContain('1');
    await shot('traces', page);

    // The same search as a link; a filter nothing matches shows the empty state.
    const link = page.url();
    await form.getByLabel('Min duration').fill('2s');
    await form.getByRole('button', { name: 'Search' }).click();
    await page.getByText('No trace matches these filters').waitFor();
    await form.getByLabel('Max duration').fill('1s');
    await form.getByRole('button', { name: 'Search' }).click();
    await form.getByText('less than the minimum').waitFor();
    await page.goto(link);
    await row.click();
    await page.waitForURL(new RegExp(`/traces/${traceId}`));

    await expect(page.getByTestId('trace-title').textContent()).resolves.toContain(`${service} · POST /checkout`);
    await expect(page.getByTestId('trace-span-count').textContent()).resolves.toBe('5');
    await page.getByTestId('span-row').first().waitFor();
    expect(await spanRows(page)).toEqual([
      'POST /checkout@0',
      'reserve stock@1',
      'db select@2',
      'charge card@1',
      'audit log@1',
    ]);
    const critical = await page
      .getByTestId('span-row')
      .evaluateAll((rows) =>
        rows.filter((r) => r.getAttribute('data-critical') === 'true').map((r) => r.getAttribute('data-span-id')),
      );
    expect(new Set(critical)).toEqual(
      new Set(['POST /checkout', 'charge card', 'reserve stock', 'db select'].map((n) => ids.get(n))),
    );

    // Collapsing a span hides what is below it.
    await page.getByRole('button', { name: /^Collapse reserve stock/ }).click();
    await expect
      .poll(() => spanRows(page), { timeout: 15_000 })
      .toEqual(['POST /checkout@0', 'reserve stock@1', 'charge card@1', 'audit log@1']);
    await page.getByRole('button', { name: /^Expand reserve stock/ }).click();
    await expect.poll(async () => (await spanRows(page)).length, { timeout: 15_000 }).toBe(5);

    // A span's details: attributes, resource, status, ids; the URL names the span.
    await page.locator(`[data-span-id="${ids.get('db select')}"]`).click();
    const details = page.getByTestId('span-details');
    await details.waitFor();
    await waitForSearch(page, { span: ids.get('db select')! });
    const attrs = details.getByRole('table', { name: 'Span attributes' });
    await expect(attrs.locator('tr', { hasText: 'db.statement' }).locator('td').textContent()).resolves.toBe(
      'SELECT qty FROM stock WHERE sku = ?',
    );
    await expect(attrs.locator('tr', { hasText: 'code.lineno' }).locator('td').textContent()).resolves.toBe('42');
    await expect(
      details
        .getByRole('table', { name: 'Resource attributes' })
        .locator('tr', { hasText: 'service.name' })
        .textContent(),
    ).resolves.toContain(service);
    await expect(details.textContent()).resolves.toContain(ids.get('db select'));
    await expect(details.textContent()).resolves.toContain('client');
    await shot('trace', page);

    // The parent link selects the parent; the error span says why.
    await details.getByRole('button', { name: ids.get('reserve stock') }).click();
    await waitForSearch(page, { span: ids.get('reserve stock')! });
    await page.locator(`[data-span-id="${ids.get('charge card')}"]`).click();
    await details.getByRole('heading', { name: 'charge card' }).waitFor();
    await expect(details.textContent()).resolves.toContain('card declined');
    await expect(details.locator('.badge.err').textContent()).resolves.toBe('error');
  }, 120_000);

  it('shows live-debugging hits under their span, and adds a snapshot from a span of a service with agents', async () => {
    const service = `shop-${++run}`;
    const { traceId, ids } = await exportTrace(checkout(service));
    const { agent } = await SimAgent.connect(hub.wsUrl, pool.key, { service: { name: service } });
    try {
      const log = await hub.api<{ id: string }>('POST', '/api/v1/actions', {
        kind: 'log',
        file: 'src/services/stock.ts',
        line: 42,
        template: 'qty {qty}',
        target: { pool: pool.name, service },
      });
      const snap = await hub.api<{ id: string }>('POST', '/api/v1/actions', {
        kind: 'snapshot',
        file: 'src/services/stock.ts',
        line: 43,
        target: { pool: pool.name, service },
      });
      expect([log.status, snap.status]).toEqual([201, 201]);
      await agent.next('actions', (f) => f.items.length === 2);
      const spanId = ids.get('db select')!;
      const at = Date.now() - 10_000 + 20;
      agent.send({
        type: 'hits',
        v: 1,
        logs: [{ actionId: log.body.id, at, level: 'warn', message: 'qty 0 for sku A-1', traceId, spanId }],
        snapshots: [
          {
            actionId: snap.body.id,
            at: at + 1,
            frames: [{ functionName: 'reserve', file: 'src/services/stock.ts', line: 43 }],
            traceId,
            spanId,
          },
        ],
      });
      await waitFor(
        async () => {
          const t = (await hub.api<Trace>('GET', `/api/v1/traces/${traceId}`)).body;
          return t.logs.length === 1 && t.snapshots.length === 1;
        },
        { what: 'the hits to be stored with the trace' },
      );

      const page = await pages.adminPage();
      await page.goto(`${url}/traces/${traceId}`);
      const spanRow = page.locator(`[data-span-id="${spanId}"]`);
      await expect(spanRow.getByTestId('span-hits').textContent()).resolves.toBe('2 hits');
      // The hit rows come right under their span.
      const order = await page.locator('.wf-row').evaluateAll((rows) =>
        rows
          .map((r) => ({ top: r.getBoundingClientRect().top, r }))
          .sort((a, b) => a.top - b.top)
          .map(({ r }) => r.getAttribute('data-testid') ?? ''),
      );
      expect(order).toEqual(['span-row', 'span-row', 'span-row', 'hit-log', 'hit-snapshot', 'span-row', 'span-row']);
      await expect(page.getByTestId('hit-log').textContent()).resolves.toContain('qty 0 for sku A-1');

      // Add snapshot: the existing form, prefilled from the span's service and code attributes.
      await spanRow.click();
      const details = page.getByTestId('span-details');
      await details.getByTestId('add-snapshot').click();
      const form = details.getByTestId('action-form');
      await expect(form.getByLabel('File', { exact: true }).inputValue()).resolves.toBe('src/services/stock.ts');
      await expect(form.getByLabel('Line', { exact: true }).inputValue()).resolves.toBe('42');
      await expect(form.getByTestId('kind-snapshot').getAttribute('aria-checked')).resolves.toBe('true');
      await shot('trace-add-snapshot', page);
      await form.getByTestId('add-action').click();
      await details.getByText('Snapshot added at').waitFor();
      // The agent of the service gets it (the stored snapshot completed the other snapshot action already).
      const created = await agent.next('actions', (f) =>
        f.items.some((a) => a.id !== log.body.id && a.id !== snap.body.id),
      );
      const added = created.items.find((a) => a.id !== log.body.id && a.id !== snap.body.id)!;
      expect(added).toMatchObject({ kind: 'snapshot', file: 'src/services/stock.ts', line: 42 });
      const stored = await hub.api<{ target: { service?: string; pool: string } }>(
        'GET',
        `/api/v1/actions/${added.id}`,
      );
      expect(stored.body.target).toMatchObject({ service });

      // The snapshot row links to the existing snapshot page.
      await page.getByTestId('hit-snapshot').getByRole('link').click();
      await page.waitForURL(new RegExp(`/actions/${snap.body.id}\\?snapshot=`));
      await page.getByTestId('snapshot').waitFor();
    } finally {
      await agent.close();
    }
  }, 120_000);

  it('follows new traces: they appear on top without a reload', async () => {
    const service = `live-${++run}`;
    const page = await pages.adminPage();
    await page.goto(`${url}/traces?service=${service}`);
    await page.getByText('No trace matches these filters').waitFor();
    await page.getByTestId('follow').click();
    await page.getByTestId('stream-state').getByText('live').waitFor();
    // The subscription may reach the hub just after the socket shows live: a trace sent before it is not announced,
    // so send another until one arrives.
    const sent: string[] = [];
    await waitFor(
      async () => {
        if (sent.length === 0 || (await page.getByTestId('trace-row').count()) === 0) {
          sent.push((await exportTrace(checkout(service))).traceId);
          await page
            .getByTestId('trace-row')
            .first()
            .waitFor({ timeout: 5000 })
            .catch(() => undefined);
        }
        return (await page.getByTestId('trace-row').count()) > 0;
      },
      { what: 'a followed trace to appear', timeoutMs: 90_000, intervalMs: 100 },
    );
    const first = page.getByTestId('trace-row').first();
    expect(sent).toContain(await first.getAttribute('data-trace-id'));
    await expect(first.textContent()).resolves.toContain('new');
    // One more: it goes on top.
    const { traceId } = await exportTrace(
      checkout(service).map((s) => ({ ...s, startMs: s.startMs + 5000, endMs: s.endMs + 5000 })),
    );
    await page.locator(`[data-testid="trace-row"][data-trace-id="${traceId}"]`).waitFor();
    await expect(page.getByTestId('trace-row').first().getAttribute('data-trace-id')).resolves.toBe(traceId);
    await shot('traces-follow', page);
  }, 120_000);

  it('renders a 10,000-span trace with a bounded number of rows and scrolls to the last span', async () => {
    const service = `big-${++run}`;
    // A root, 99 children, 100 grandchildren under each: 10,000 spans.
    const specs: SpanSpec[] = [{ name: 'batch', service, startMs: 0, endMs: 9000 }];
    for (let i = 0; i < 99; i++) {
      specs.push({ name: `step ${i}`, service, parent: 'batch', startMs: i * 90, endMs: i * 90 + 89 });
      for (let j = 0; j < 100; j++) {
        const start = i * 90 + j * 0.8;
        specs.push({ name: `item ${i}.${j}`, service, parent: `step ${i}`, startMs: start, endMs: start + 0.7 });
      }
    }
    expect(specs).toHaveLength(10_000);
    const { traceId, ids } = await exportTrace(specs);
    const page = await pages.adminPage();
    await page.goto(`${url}/traces/${traceId}`);
    await expect(page.getByTestId('trace-span-count').textContent({ timeout: 60_000 })).resolves.toBe('10000');
    const rows = page.getByTestId('span-row');
    await rows.first().waitFor({ timeout: 60_000 });
    const before = await rows.count();
    expect(before).toBeGreaterThan(5);
    expect(before).toBeLessThan(100);
    expect((await spanRows(page)).slice(0, 3)).toEqual(['batch@0', 'step 0@1', 'item 0.0@2']);

    // Scroll to the end: the last span in the tree (the last grandchild of the last child) comes into the DOM.
    const waterfall = page.getByTestId('waterfall');
    await waterfall.evaluate((el) => el.scrollTo({ top: el.scrollHeight }));
    const last = page.locator(`[data-span-id="${ids.get('item 98.99')}"]`);
    await last.waitFor({ timeout: 30_000 });
    const box = await last.boundingBox();
    const view = await waterfall.boundingBox();
    expect(box).not.toBeNull();
    expect(box!.y + box!.height).toBeLessThanOrEqual(view!.y + view!.height + 1);
    expect(box!.y).toBeGreaterThanOrEqual(view!.y - 1);
    expect((await spanRows(page)).at(-1)).toBe('item 98.99@2');
    expect(await rows.count()).toBeLessThan(100);
    await shot('trace-10000', page);

    // Keyboard: Home goes back to the root.
    await waterfall.focus();
    await page.keyboard.press('Home');
    await page.locator(`[data-span-id="${ids.get('batch')}"]`).waitFor();
    await page.keyboard.press('Enter');
    await page.getByTestId('span-details').getByRole('heading', { name: 'batch' }).waitFor();
  }, 180_000);
});

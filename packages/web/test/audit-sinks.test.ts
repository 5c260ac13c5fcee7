/**
 * The console's audit sinks page in Chromium against real hubs: one streaming to an HTTP receiver this test runs and
 * to a syslog TCP port on 127.0.0.1 where nothing listens, one with no sink at all. The page must show the HTTP sink
 * delivering with its sent count rising as audit events are written (without a reload), the closed-port sink failing
 * with its error and, once the retention deletes an event it had not sent, as fallen past the retention, how to
 * configure a sink when there is none, and an error once the hub stops answering. Skipped, with a
 * message, where /usr/bin/chromium is not installed.
 */
import { appendFileSync } from 'node:fs';
import type { Browser } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { USER_PASSWORD, createHub, freePort, userEmail, waitFor, type TestHub } from '../../server/test/kit/index.js';
import { TestReceiver, configFile } from '../../server/test/audit-stream/receivers.js';
import {
  PageTracker,
  buildConsoleOnce,
  chromiumAvailable,
  launchChromium,
  sessionCookie,
  shot,
} from './browser-kit.js';

const hasChromium = chromiumAvailable("the console's audit sinks browser tests");

describe.skipIf(!hasChromium)('audit sinks page in Chromium against a real hub', () => {
  let hub: TestHub;
  let bare: TestHub;
  let receiver: TestReceiver;
  let file: ReturnType<typeof configFile>;
  let browser: Browser;
  let current: () => TestHub;
  const pages = new PageTracker(
    () => browser,
    () => current().url,
  );

  beforeAll(async () => {
    await buildConsoleOnce();
    receiver = new TestReceiver(await freePort());
    await receiver.start();
    const closedPort = await freePort();
    file = configFile({
      intervalMs: 200,
      sinks: [
        { name: 'siem-http', type: 'http', url: `${receiver.url}/ingest`, token: 'secret-token', batchSize: 50 },
        {
          name: 'syslog-down',
          type: 'syslog',
          protocol: 'tcp',
          host: '127.0.0.1',
          port: closedPort,
          timeoutMs: 2000,
          minBackoffMs: 100,
          maxBackoffMs: 1000,
        },
      ],
    });
    // A short retention swept often: an old event deleted before the failing sink sent it is lost to that sink.
    appendFileSync(file.path, stringify({ audit: { retentionMs: 3_600_000, sweepIntervalMs: 200 } }));
    hub = await createHub({ listen: true, timers: 'default', env: { SPYGLASS_CONFIG: file.path } });
    bare = await createHub({ listen: true, timers: 'default' });
    current = () => hub;
    browser = await launchChromium();
  }, 120_000);
  afterEach(() => pages.check());
  afterAll(async () => {
    await browser?.close();
    await hub?.close();
    await bare?.close();
    await receiver?.stop();
    file?.remove();
  });

  it('shows the HTTP sink delivering, its sent count rising, the closed-port sink failing and past retention', async () => {
    current = () => hub;
    const page = await pages.adminPage();
    await page.goto(`${hub.url}/audit`);
    await page.getByRole('link', { name: 'Sinks', exact: true }).click();
    await page.getByRole('heading', { name: 'Audit sinks' }).waitFor();
    expect(new URL(page.url()).pathname).toBe('/audit/sinks');

    const http = page.locator('tr[data-sink="siem-http"]');
    const down = page.locator('tr[data-sink="syslog-down"]');
    await http.getByText(`${receiver.url}/ingest`).waitFor();
    await http.getByText('http ·').waitFor();
    await down.getByText('syslog ·').waitFor();

    // The sign-in wrote audit events; the HTTP sink sends them and keeps up.
    await http
      .locator('[data-testid="sink-sent"]')
      .filter({ hasText: /^[1-9]/ })
      .waitFor({ timeout: 30_000 });
    expect(await http.getAttribute('data-state')).toBe('delivering');
    const sentBefore = Number((await http.locator('[data-testid="sink-sent"]').innerText()).replace(/\D/g, ''));

    // More audit events: the count on the open page rises by at least as many, with no reload.
    const made = 5;
    for (let i = 0; i < made; i++) {
      const res = await hub.api('POST', '/api/v1/pools', { name: `sinks-${i}` });
      expect(res.status, JSON.stringify(res.body)).toBe(201);
    }
    await waitFor(
      async () =>
        Number((await http.locator('[data-testid="sink-sent"]').innerText()).replace(/\D/g, '')) >= sentBefore + made,
      { what: 'the sent count on the page to rise', timeoutMs: 30_000 },
    );
    expect(await http.getAttribute('data-state')).toBe('delivering');
    const received = receiver.requests.flatMap((r) => (JSON.parse(r.body) as { events: { action: string }[] }).events);
    expect(received.filter((e) => e.action === 'pool.create').length).toBeGreaterThanOrEqual(made);
    await expect.poll(() => http.locator('[data-testid="sink-error"]').innerText()).toBe('none');

    // The syslog sink on a port where nothing listens: failing, with the connection error and its time.
    await page.locator('tr[data-sink="syslog-down"][data-state="failing"]').waitFor({ timeout: 30_000 });
    const error = await down.locator('[data-testid="sink-error"]').innerText();
    expect(error).toMatch(/ECONNREFUSED|refused/i);
    expect(error).toMatch(/ago|just now/);
    expect(await down.locator('[data-testid="sink-failed"]').innerText()).toMatch(/^\d+ in a row/);
    expect(await down.getByText('nothing acknowledged yet').count()).toBe(1);
    await shot('audit-sinks', page);

    // An event older than the retention (written two hours ago, as a replica with a late clock would): the sweep
    // deletes it before the failing sink could send it, and the page says that sink fell past the retention.
    await hub.storage.db
      .insertInto('audit_events')
      .values({ at: Date.now() - 2 * 3_600_000, actor_type: 'system', action: 'test.old', outcome: 'success' })
      .execute();
    await down.getByText('fell past retention').waitFor({ timeout: 30_000 });
    await down.getByText(/^\d+ lost to retention$/).waitFor();
    expect(await down.getAttribute('data-state')).toBe('failing');
  }, 90_000);

  it('explains how to configure a sink when the hub has none', async () => {
    current = () => bare;
    const page = await pages.adminPage();
    await page.goto(`${bare.url}/audit/sinks`);
    await page.getByText('No audit sink is configured').waitFor();
    await page.getByText('auditStream:', { exact: false }).first().waitFor();
    expect(await page.getByText('docs/configuration.md').count()).toBe(1);
    expect(await page.locator('[data-testid="audit-sinks-table"]').count()).toBe(0);
    await shot('audit-sinks-empty', page);
  }, 60_000);

  it('says so when the hub stops answering, and offers a retry', async () => {
    // Last of the tests on this hub: it is closed while the page is open.
    current = () => bare;
    const page = await pages.adminPage();
    await page.goto(`${bare.url}/audit/sinks`);
    await page.getByText('No audit sink is configured').waitFor();
    await bare.close();
    const alert = page.getByRole('alert');
    await alert.getByText('Could not load the audit sinks').waitFor({ timeout: 60_000 });
    await alert.getByRole('button', { name: 'Retry' }).waitFor();
    expect(await page.getByText('No audit sink is configured').count()).toBe(0);
    await shot('audit-sinks-error', page);
  }, 90_000);

  it('keeps the page to admins', async () => {
    current = () => hub;
    const context = await pages.context();
    await context.addCookies([await sessionCookie(hub.url, { email: userEmail('viewer'), password: USER_PASSWORD })]);
    const page = await pages.page(context);
    await page.goto(`${hub.url}/audit/sinks`);
    await page.getByText('Admins only').waitFor();
    expect(await page.locator('[data-testid="audit-sinks-table"]').count()).toBe(0);
  }, 60_000);
});

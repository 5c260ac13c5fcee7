/**
 * The pool policy editor on the Pools page, in Debian's Chromium against a real hub with a simulated agent of the
 * pool listening: saving pushes the policy to the agent; a catastrophic pattern is refused with its field.
 */
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN, SimAgent, createHub, type TestHub } from '../../server/test/kit/index.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const ARTIFACTS = path.join(ROOT, 'test-artifacts', 'console');
const CHROMIUM = '/usr/bin/chromium';
const hasChromium = existsSync(CHROMIUM);
if (!hasChromium) console.warn(`[spyglass tests] ${CHROMIUM} not found: the pool policy browser test is SKIPPED`);

describe.skipIf(!hasChromium)('pool policy editor in Chromium', () => {
  let hub: TestHub;
  let browser: Browser;

  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    const { buildConsole } = (await import(path.join(ROOT, 'scripts', 'build-web.mjs'))) as {
      buildConsole: () => boolean;
    };
    expect(buildConsole()).toBe(true);
    hub = await createHub({ listen: true });
    const { chromium } = await import('playwright-core');
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  });
  afterAll(async () => {
    await browser?.close();
    await hub?.close();
  });

  it('edits a pool policy as YAML, pushes it to the pool agents, and shows a refused pattern with its field', async () => {
    const pool = await hub.createPool('cards');
    const { agent } = await SimAgent.connect(hub.wsUrl, pool.key);
    const res = await fetch(`${hub.url}/api/v1/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(ADMIN),
    });
    const [name, value] = res.headers.getSetCookie()[0]!.split(';')[0]!.split('=') as [string, string];
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    context.setDefaultTimeout(15_000);
    await context.addCookies([{ name, value, url: hub.url }]);
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (err) => errors.push(err.message));
    await page.goto(`${hub.url}/pools`);
    await page.getByRole('row', { name: /cards/ }).getByRole('button', { name: 'Policy' }).click();
    const editor = page.getByLabel('Policy (YAML)');
    await expect.poll(() => editor.inputValue()).toContain('redaction:');
    await page.getByText('No policy set yet').waitFor();

    await editor.fill("redaction:\n  values: ['ACME-\\d{4}']\nquotas:\n  cpuBudgetPct: 2\n");
    await page.getByRole('button', { name: 'Save policy' }).click();
    await page.getByText('Saved revision 1: connected agents of cards apply it now.').waitFor();
    const pushed = await agent.next('policy');
    expect(pushed.policy).toMatchObject({ redaction: { values: ['ACME-\\d{4}'] }, quotas: { cpuBudgetPct: 2 } });
    await page.getByText(/^Revision 1, set /).waitFor();
    await page.screenshot({ path: path.join(ARTIFACTS, 'pool-policy.png') });

    await editor.fill("redaction:\n  values: ['(a+)+$']\n");
    await page.getByRole('button', { name: 'Save policy' }).click();
    const alert = page.getByRole('alert');
    await alert.getByText(/nested quantifiers can backtrack catastrophically/).waitFor();
    expect(await alert.locator('code').first().textContent()).toBe('redaction.values.0');
    await page.screenshot({ path: path.join(ARTIFACTS, 'pool-policy-refused.png') });

    await editor.fill('redaction: [unclosed\n');
    await page.getByRole('button', { name: 'Save policy' }).click();
    await page.getByText(/^Not valid YAML:/).waitFor();
    expect((await hub.api('GET', '/api/v1/pools/cards/policy')).body.revision).toBe(1);
    expect(errors).toEqual([]);
    await agent.close();
    await context.close();
  });
});

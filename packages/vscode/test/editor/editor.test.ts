import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  SHOP_DIR,
  createHub,
  freePort,
  startExampleShop,
  waitFor,
  type ExampleShop,
  type TestHub,
} from '../../../server/test/kit/index.js';

/**
 * The extension in a real editor: code-server (VS Code in the browser) with the packaged .vsix installed, a
 * workspace of the example shop, a real hub and the shop under the agent, driven through Chromium like a person would.
 * code-server needs Node 24 and native modules built at install, so it is installed on demand into node_modules
 * here (git-ignored, from the lockfile beside this file) rather than with the repository's dependencies.
 */

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(HERE, '../../../..');
const NODE24 = path.join(ROOT, 'packages/agent-node/test/runtimes/node_modules/node24/bin/node');
const CHROMIUM = '/usr/bin/chromium';
const ENTRY = path.join(HERE, 'node_modules/code-server/out/node/entry.js');
const INSTALLED = path.join(HERE, 'node_modules/.spyglass-installed');
const VSIX = path.join(ROOT, 'packages/vscode/out/spyglass.vsix');
const SHOTS = path.join(ROOT, 'test-artifacts/vscode');
const CHECKOUT = 'src/services/checkout.ts';

function tail(text: string, lines = 15): string {
  return text.trim().split('\n').slice(-lines).join('\n');
}

/** Installs code-server when it is not there yet; answers why the test cannot run, or null. */
function prepare(): string | null {
  if (!existsSync(NODE24)) return `Node 24 is not installed at ${NODE24} (npm install at the repository root)`;
  if (!existsSync(CHROMIUM)) return `Chromium is not installed at ${CHROMIUM}`;
  if (!existsSync(INSTALLED)) {
    const r = spawnSync('npm', ['ci', '--no-audit', '--no-fund', '--loglevel=error'], {
      cwd: HERE,
      // Only PATH (Node 24 first) and HOME: npm's own variables from the test runner would run the scripts on Node 20.
      env: {
        PATH: `${path.dirname(NODE24)}${path.delimiter}${process.env.PATH ?? ''}`,
        HOME: process.env.HOME ?? tmpdir(),
      },
      encoding: 'utf8',
      timeout: 15 * 60_000,
    });
    if (r.status !== 0 || !existsSync(ENTRY))
      return `code-server could not be installed (npm ci in ${HERE} exited ${r.status ?? r.signal}; its native modules need g++, make, python3 and libkrb5-dev):\n${tail(`${r.stdout}${r.stderr}`)}`;
    writeFileSync(INSTALLED, `${new Date().toISOString()}\n`);
  }
  const pack = spawnSync('npm', ['run', 'package', '-w', 'packages/vscode'], { cwd: ROOT, encoding: 'utf8' });
  if (pack.status !== 0) throw new Error(`packaging the extension failed:\n${pack.stdout}${pack.stderr}`);
  return null;
}

interface OpenEditor {
  page: Page;
  close(): Promise<void>;
}

/**
 * Starts code-server on a free loopback port with the .vsix installed and its own profile, opens the example shop
 * in Chromium, and waits for the extension's status bar item. `trusted: false` keeps workspace trust on, so the
 * folder opens in restricted mode.
 */
async function openEditor(options: { trusted: boolean }): Promise<OpenEditor> {
  const home = mkdtempSync(path.join(tmpdir(), 'sg-vscode-'));
  const userData = path.join(home, 'data');
  const extensions = path.join(home, 'extensions');
  mkdirSync(path.join(userData, 'User'), { recursive: true });
  writeFileSync(
    path.join(userData, 'User/settings.json'),
    JSON.stringify({
      'workbench.startupEditor': 'none',
      'workbench.tips.enabled': false,
      'workbench.welcomePage.walkthroughs.openOnInstall': false,
      'extensions.autoCheckUpdates': false,
      'extensions.autoUpdate': false,
      'telemetry.telemetryLevel': 'off',
      'update.mode': 'none',
      'chat.disableAIFeatures': true,
      'editor.codeLens': true,
      'editor.minimap.enabled': false,
      'workbench.secondarySideBar.defaultVisibility': 'hidden',
      'security.workspace.trust.startupPrompt': 'never',
    }),
  );
  // HOME and XDG_CONFIG_HOME of their own: no CLI login is found, so signing in goes through the inputs.
  const env = {
    PATH: process.env.PATH ?? '',
    HOME: home,
    XDG_CONFIG_HOME: path.join(home, 'config'),
    XDG_DATA_HOME: path.join(home, 'share'),
  };
  const install = spawnSync(
    NODE24,
    [ENTRY, '--user-data-dir', userData, '--extensions-dir', extensions, '--install-extension', VSIX],
    { env, encoding: 'utf8', timeout: 120_000 },
  );
  expect(install.status, `${install.stdout}${install.stderr}`).toBe(0);
  const port = await freePort();
  const editor: ChildProcess = spawn(
    NODE24,
    [
      ENTRY,
      '--bind-addr',
      `127.0.0.1:${port}`,
      '--auth',
      'none',
      '--user-data-dir',
      userData,
      '--extensions-dir',
      extensions,
      '--disable-telemetry',
      '--disable-update-check',
      ...(options.trusted ? ['--disable-workspace-trust'] : []),
      '--disable-getting-started-override',
      SHOP_DIR,
    ],
    { env, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  editor.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  editor.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  let browser: Browser | undefined;
  const close = async () => {
    await browser?.close();
    editor.kill('SIGTERM');
    rmSync(home, { recursive: true, force: true });
  };
  try {
    await waitFor(() => out.includes('HTTP server listening'), {
      what: 'code-server to listen',
      timeoutMs: 60_000,
      stopIf: () => editor.exitCode !== null && `code-server exited:\n${out}`,
    });
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
    const page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
    await page.goto(`http://127.0.0.1:${port}/?folder=${encodeURIComponent(SHOP_DIR)}`);
    await page.locator('.statusbar-item', { hasText: 'Spyglass: signed out' }).waitFor({ timeout: 90_000 });
    return { page, close };
  } catch (err) {
    await close();
    throw err;
  }
}

const skipReason = prepare();
if (skipReason !== null) console.warn(`SKIPPED the VS Code extension editor test: ${skipReason}`);

describe.skipIf(skipReason !== null)('the VS Code extension in code-server, against a real hub and the shop', () => {
  let hub: TestHub;
  let shop: ExampleShop | undefined;
  let opened: OpenEditor | undefined;
  let page: Page;
  const checkoutLines = readFileSync(path.join(SHOP_DIR, CHECKOUT), 'utf8').split('\n');
  const lineOf = (text: string) => checkoutLines.findIndex((l) => l.includes(text)) + 1;

  const order = (email: string) =>
    fetch(`${shop!.url}/orders`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ customer: { id: 'c1', email }, items: [{ sku: 'mug', quantity: 2 }] }),
    });

  async function shot(name: string): Promise<void> {
    mkdirSync(SHOTS, { recursive: true });
    await page.screenshot({ path: path.join(SHOTS, `${name}.png`) });
  }

  /** Runs a command from the command palette by its title (opening the palette again if it lost the first try). */
  async function command(title: string): Promise<void> {
    const input = page.locator('.quick-input-widget .quick-input-box input');
    const row = page.locator('.quick-input-list .monaco-list-row', { hasText: title }).first();
    for (let attempt = 1; ; attempt++) {
      await page.keyboard.press('F1');
      await input.waitFor({ state: 'visible' });
      await input.fill(`>${title}`);
      try {
        await row.waitFor({ timeout: 10_000 });
        break;
      } catch (err) {
        if (attempt === 3) throw err;
        await page.keyboard.press('Escape');
      }
    }
    await page.keyboard.press('Enter');
  }

  /** Answers the quick input whose title contains `title`. */
  async function answer(title: string, text: string | null): Promise<void> {
    await page.locator('.quick-input-widget .quick-input-title', { hasText: title }).waitFor({ state: 'visible' });
    const input = page.locator('.quick-input-widget .quick-input-box input');
    if (text !== null) await input.fill(text);
    await page.keyboard.press('Enter');
  }

  async function notification(text: string | RegExp): Promise<string> {
    const toast = page.locator('.notifications-toasts .notification-toast', { hasText: text }).first();
    await toast.waitFor({ state: 'visible', timeout: 60_000 });
    return (await toast.innerText()).trim();
  }

  async function clearNotifications(): Promise<void> {
    await command('Notifications: Clear All Notifications');
  }

  async function signIn(url: string, token: string): Promise<void> {
    await command('Spyglass: Sign In');
    await answer('Sign In (1/2)', url);
    await answer('Sign In (2/2)', token);
  }

  /** Moves the cursor to `line` with Go to Line, and checks the status bar's `Ln N,` says it got there. */
  async function gotoLine(line: number): Promise<void> {
    const input = page.locator('.quick-input-widget .quick-input-box input');
    const there = page.locator('.statusbar-item', { hasText: `Ln ${line},` });
    for (let attempt = 1; ; attempt++) {
      await page.keyboard.press('Control+G');
      await input.waitFor({ state: 'visible' });
      await input.fill(`:${line}`);
      await page.keyboard.press('Enter');
      try {
        await there.first().waitFor({ timeout: 5_000 });
        return;
      } catch (err) {
        if (attempt === 3) throw err;
        await page.keyboard.press('Escape');
      }
    }
  }

  const lensTexts = () => page.locator('.codelens-decoration').allInnerTexts();

  /** The text the line decorations put after their lines (VS Code renders it from generated CSS). */
  const decorationTexts = () =>
    page.evaluate(() => {
      const out: string[] = [];
      for (const sheet of Array.from(document.styleSheets)) {
        let rules: CSSRuleList;
        try {
          rules = sheet.cssRules;
        } catch {
          continue;
        }
        for (const r of Array.from(rules)) {
          const m = /content:\s*"([^"]*◉[^"]*)"/.exec(r.cssText);
          if (m) out.push(m[1]!);
        }
      }
      return out;
    });

  beforeAll(async () => {
    hub = await createHub({ listen: true, timers: 'default' });
    const pool = await hub.createPool('dev');
    shop = await startExampleShop(hub.url, pool.key);

    opened = await openEditor({ trusted: true });
    page = opened.page;
  }, 240_000);

  afterAll(async () => {
    if (page !== undefined && process.env.CI === undefined) await shot('last').catch(() => undefined);
    await opened?.close();
    shop?.stop();
    await hub?.close();
  });

  it('says so when the hub is down or the token is wrong, and then signs in', async () => {
    const down = `http://127.0.0.1:${await freePort()}`;
    await signIn(down, 'sgt_anything');
    expect(await notification('Cannot reach the hub')).toContain(`Cannot reach the hub at ${down}. Is it running?`);
    await clearNotifications();

    await signIn(hub.url, 'sgt_not-a-token');
    expect(await notification('refused the API token')).toContain(
      `The hub at ${hub.url} refused the API token (wrong, expired or revoked).`,
    );
    await clearNotifications();

    await signIn(hub.url, hub.tokens.admin);
    await notification(`signed in to ${hub.url}`);
    const host = new URL(hub.url).host;
    await page.locator('.statusbar-item', { hasText: `Spyglass: ${host} · connected` }).waitFor({ timeout: 30_000 });
    await clearNotifications();
  }, 180_000);

  it('adds a snapshot on a line of checkout.ts, and shows its variables when an order runs it', async () => {
    await page.keyboard.press('Control+P');
    await page.locator('.quick-input-widget .quick-input-box input').fill('checkout.ts');
    await page.locator('.quick-input-list .monaco-list-row', { hasText: 'checkout.ts' }).first().waitFor();
    await page.keyboard.press('Enter');
    await page.locator('.tab', { hasText: 'checkout.ts' }).waitFor();
    const line = lineOf('const priced = quote(');
    await gotoLine(line);

    await command('Spyglass: Add Snapshot on This Line');
    await answer('snapshot at checkout.ts:', 'lines.length');
    await answer('condition', null);
    await answer('hit limit', null);
    await answer('expiry', null);

    await waitFor(
      async () => (await lensTexts()).some((t) => /snapshot · active · (patch|breakpoint) · 0 hits/.test(t)),
      {
        what: 'the CodeLens to say the snapshot is active',
        timeoutMs: 30_000,
      },
    );
    await waitFor(async () => (await decorationTexts()).some((t) => /◉ snapshot · active/.test(t)), {
      what: 'the line decoration to say active',
    });
    await shot('snapshot-active');

    expect((await order('ada@example.com')).status).toBe(201);
    // The tree view: the snapshot, its watch, its top frame and the frame's variables.
    const tree = page.locator('.monaco-list-row');
    await tree.filter({ hasText: 'placeOrder' }).first().waitFor({ timeout: 30_000 });
    await tree.filter({ hasText: 'lines.length' }).first().waitFor();
    expect(await tree.filter({ hasText: 'lines.length' }).first().innerText()).toMatch(/lines\.length\s*1/);
    await tree
      .filter({ hasText: /^request/ })
      .first()
      .waitFor();
    await waitFor(async () => (await lensTexts()).some((t) => t.includes('snapshot · completed · 1 hit')), {
      what: 'the CodeLens to say completed with 1 hit',
      timeoutMs: 30_000,
    });
    await waitFor(async () => (await decorationTexts()).some((t) => t.includes('◉ snapshot · completed · 1 hit')), {
      what: 'the line decoration to change',
    });
    // Expanding a value shows its children, lazily.
    await tree
      .filter({ hasText: /^request/ })
      .first()
      .click();
    await tree
      .filter({ hasText: /^customer/ })
      .first()
      .waitFor();
    await shot('snapshot-tree');
  }, 180_000);

  it('adds a log and streams its lines into the output', async () => {
    await gotoLine(lineOf('this.sequence += 1'));
    await command('Spyglass: Add Log on This Line');
    await answer('log at checkout.ts:', 'order for {request.customer.email} total {priced.totalCents}');
    await answer('condition', null);
    await answer('hit limit', null);
    await answer('expiry', null);
    await waitFor(async () => (await lensTexts()).some((t) => /log · active · (patch|breakpoint) · 0 hits/.test(t)), {
      what: 'the CodeLens to say the log is active',
      timeoutMs: 30_000,
    });
    expect((await order('grace@example.com')).status).toBe(201);
    await command('Spyglass: Show Log Output');
    // The output is an editor: it renders spaces as no-break spaces.
    const outputText = async () =>
      (await page.locator('.part.panel .view-lines').allInnerTexts()).join('\n').replace(/\u00a0/g, ' ');
    await waitFor(async () => (await outputText()).includes('order for grace@example.com total'), {
      what: 'the log line in the Spyglass output',
      timeoutMs: 30_000,
    });
    expect(await outputText()).toMatch(/INFO\s+\[shop checkout\.ts:\d+\] order for grace@example\.com total \d+/);
    await waitFor(async () => (await lensTexts()).some((t) => /log · active · (patch|breakpoint) · 1 hit/.test(t)), {
      what: 'the log hit count',
    });
    await shot('log-output');
  }, 180_000);

  it('says when the agent cannot place a line, and keeps working', async () => {
    await gotoLine(checkoutLines.length);
    await command('Spyglass: Add Log on This Line');
    await answer('log at checkout.ts:', 'never');
    await answer('condition', null);
    await answer('hit limit', null);
    await answer('expiry', null);
    expect(await notification('cannot place')).toMatch(
      /the agent cannot place the log at .*checkout\.ts:\d+: no code at or after line \d+/,
    );
    await waitFor(async () => (await lensTexts()).some((t) => t.includes('log · error: no code at or after line')), {
      what: 'the CodeLens to show the error',
    });
    await shot('unplaceable');
    // The Actions view lists all three; removing the failed one leaves the others.
    await page.locator('.monaco-list-row', { hasText: 'checkout.ts' }).first().waitFor();
    const actions = await hub.api<{ items: { id: string; state: string }[] }>('GET', '/api/v1/actions?state=active');
    expect(actions.body.items.length).toBe(2);
  }, 120_000);
});

describe.skipIf(skipReason !== null)('the VS Code extension in a restricted (untrusted) workspace', () => {
  let opened: OpenEditor | undefined;

  beforeAll(async () => {
    opened = await openEditor({ trusted: false });
  }, 240_000);

  afterAll(async () => {
    await opened?.close();
  });

  it('offers signing in but no command that adds or removes actions', async () => {
    const page = opened!.page;
    await page.locator('.statusbar-item', { hasText: 'Restricted Mode' }).waitFor({ timeout: 30_000 });
    await page.keyboard.press('F1');
    const input = page.locator('.quick-input-widget .quick-input-box input');
    await input.waitFor({ state: 'visible' });
    await input.fill('>Spyglass');
    const rows = page.locator('.quick-input-list .monaco-list-row');
    await rows.filter({ hasText: 'Spyglass: Sign In' }).first().waitFor();
    const titles = (await rows.allInnerTexts()).join('\n');
    expect(titles).toContain('Spyglass: Sign In');
    expect(titles).not.toContain('Add Log on This Line');
    expect(titles).not.toContain('Add Snapshot on This Line');
    expect(titles).not.toContain('Remove All Actions');
  }, 120_000);
});

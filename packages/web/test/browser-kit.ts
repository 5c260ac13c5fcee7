/**
 * What the console's browser tests share: Debian's Chromium driven by playwright-core, browser contexts that record
 * what went wrong in their pages (uncaught errors, refusals by the Content Security Policy), pages signed in through
 * the hub's API, and screenshots under test-artifacts/console/.
 */
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { expect } from 'vitest';
import { ADMIN } from '../../server/test/kit/index.js';

export const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
export const ARTIFACTS = path.join(ROOT, 'test-artifacts', 'console');
export const CHROMIUM = '/usr/bin/chromium';

/** Whether Chromium is installed; warns (once per file) that the browser tests of `what` are skipped when not. */
export function chromiumAvailable(what: string): boolean {
  const ok = existsSync(CHROMIUM);
  if (!ok) console.warn(`[spyglass tests] ${CHROMIUM} not found: ${what} are SKIPPED (apt-get install chromium)`);
  return ok;
}

/** Builds the console if needed (a direct run of a test file) and fails clearly when it cannot. */
export async function buildConsoleOnce(): Promise<void> {
  mkdirSync(ARTIFACTS, { recursive: true });
  const { buildConsole } = (await import(path.join(ROOT, 'scripts', 'build-web.mjs'))) as {
    buildConsole: () => boolean;
  };
  expect(buildConsole()).toBe(true);
}

export async function launchChromium(): Promise<Browser> {
  const { chromium } = await import('playwright-core');
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--no-first-run',
    ],
  });
}

export const shot = (name: string, p: Page): Promise<Buffer> =>
  p.screenshot({ path: path.join(ARTIFACTS, `${name}.png`), animations: 'disabled' });

/**
 * Waits until the page's URL search holds `expected`, read as the console's router reads it: the router writes a
 * value that would parse as JSON (a span id of digits, or digits around one `e`) quoted, so a pattern over the raw
 * URL misses about one span id in 840.
 */
export async function waitForSearch(p: Page, expected: Record<string, string | number>): Promise<void> {
  const { defaultParseSearch } = await import('@tanstack/react-router');
  await p.waitForURL((u) => {
    const search = defaultParseSearch(u.search);
    return Object.entries(expected).every(([key, value]) => search[key] === value);
  });
}

export interface Credentials {
  email: string;
  password: string;
}

export interface Viewport {
  width: number;
  height: number;
}

/** The session cookie of a fresh sign-in through the API. */
export async function sessionCookie(url: string, who: Credentials = ADMIN) {
  const res = await fetch(`${url}/api/v1/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', origin: url },
    body: JSON.stringify(who),
  });
  expect(res.status, await res.clone().text()).toBe(200);
  const [name, value] = res.headers.getSetCookie()[0]!.split(';')[0]!.split('=') as [string, string];
  return { name, value, url };
}

/** What the contexts of a PageTracker get unless a call says otherwise. */
export interface PageTrackerOptions {
  /** Default 1280×800. */
  viewport?: Viewport;
  /** The default timeout of every action and wait in the context; default 15 s. */
  timeoutMs?: number;
}

/**
 * The contexts a test opens and the errors of their pages: `check()` (after each test) closes them and expects no
 * error.
 */
export class PageTracker {
  #contexts: BrowserContext[] = [];
  #errors: string[] = [];

  constructor(
    private readonly browser: () => Browser,
    private readonly url: () => string,
    private readonly options: PageTrackerOptions = {},
  ) {}

  async context(viewport: Viewport = this.options.viewport ?? { width: 1280, height: 800 }): Promise<BrowserContext> {
    const context = await this.browser().newContext({ viewport, colorScheme: 'light' });
    this.#contexts.push(context);
    context.setDefaultTimeout(this.options.timeoutMs ?? 15_000);
    return context;
  }

  async page(context: BrowserContext): Promise<Page> {
    const p = await context.newPage();
    p.on('pageerror', (err) => this.#errors.push(err.message));
    p.on('console', (m) => {
      if (m.type() === 'error' && /Content Security Policy|Refused to/.test(m.text())) this.#errors.push(m.text());
    });
    return p;
  }

  /**
   * A page in a new context that already holds a session of `who` (signed in through the API, not the form), on the
   * tracker's hub or the one at `url`.
   */
  async pageAs(who: Credentials, at: { url?: string; viewport?: Viewport | undefined } = {}): Promise<Page> {
    const context = await this.context(at.viewport);
    await context.addCookies([await sessionCookie(at.url ?? this.url(), who)]);
    return this.page(context);
  }

  /** A page in a new context that already holds an admin session (signed in through the API, not the form). */
  adminPage(viewport?: Viewport): Promise<Page> {
    return this.pageAs(ADMIN, { viewport });
  }

  async check(): Promise<void> {
    const opened = this.#contexts;
    const errors = this.#errors;
    this.#contexts = [];
    this.#errors = [];
    for (const c of opened) await c.close();
    expect(errors, 'errors in the pages of this test').toEqual([]);
  }
}

/**
 * Single sign-on end to end in Chromium: the hub against a real OpenID provider (`oidc-provider` on 127.0.0.1), the
 * console's sign-in button, the provider's own sign-in pages, and the CLI's browser and device-code flows as child
 * processes. Skipped, with a message, where /usr/bin/chromium is not installed.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN, USER_PASSWORD, createHub, userEmail, waitFor, type TestHub } from '../../server/test/kit/index.js';
import { TestOpenIdProvider } from '../../server/test/kit/oidc-provider.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const CLI = path.join(ROOT, 'packages/cli/bin/spyglass.js');
const CHROMIUM = '/usr/bin/chromium';
const hasChromium = existsSync(CHROMIUM);
if (!hasChromium) {
  console.warn(`[spyglass tests] ${CHROMIUM} not found: the single sign-on browser tests are SKIPPED`);
}

describe.skipIf(!hasChromium)('single sign-on with a real OpenID provider, in Chromium', () => {
  const op = new TestOpenIdProvider();
  let hub: TestHub;
  let url: string;
  let browser: Browser;
  const contexts: BrowserContext[] = [];

  beforeAll(async () => {
    const issuer = await op.listen();
    const dir = mkdtempSync(path.join(tmpdir(), 'spyglass-sso-'));
    const secretFile = path.join(dir, 'client-secret');
    writeFileSync(secretFile, `${op.clientSecret}\n`);
    const configFile = path.join(dir, 'hub.yaml');
    writeFileSync(
      configFile,
      JSON.stringify({
        sso: {
          providers: [
            {
              id: 'test',
              displayName: 'Test IdP',
              issuer,
              clientId: op.clientId,
              clientSecretFile: secretFile,
              scopes: ['openid', 'email', 'profile', 'groups'],
              roleClaim: 'groups',
              roleMapping: { 'sg-admins': 'admin', 'sg-devs': 'developer' },
              defaultRole: 'viewer',
            },
          ],
        },
      }),
    );
    hub = await createHub({ listen: true, env: { SPYGLASS_CONFIG: configFile } });
    url = await hub.listen();
    op.configure([`${url}/api/v1/auth/sso/test/callback`]);
    op.accounts.set('ann', { email: 'ann@example.test', name: 'Ann', groups: ['sg-devs'] });
    op.accounts.set('bob', { email: 'bob@example.test', name: 'Bob', groups: [] });
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  });

  afterAll(async () => {
    for (const c of contexts) await c.close().catch(() => {});
    await browser?.close();
    await hub?.close();
    await op.close();
  });

  async function newPage(): Promise<Page> {
    const context = await browser.newContext();
    contexts.push(context);
    context.setDefaultTimeout(20_000);
    // Loopback only: the provider's pages import a web font, which is not fetched.
    await context.route(/^https?:\/\/(?!127\.0\.0\.1[:/])/, (route) => route.abort());
    return context.newPage();
  }

  /** Fills the provider's development sign-in page and its consent page. */
  async function atProvider(page: Page, login: string): Promise<void> {
    await page.waitForURL((u) => u.origin === op.issuer);
    await page.locator('input[name=login]').fill(login);
    await page.locator('input[name=password]').fill('any password');
    await page.getByRole('button', { name: 'Sign-in' }).click();
    await page.getByRole('button', { name: 'Continue' }).click();
  }

  async function userRow(email: string) {
    return hub.storage.db.selectFrom('users').selectAll().where('email', '=', email).executeTakeFirst();
  }

  async function signInThroughConsole(login: string): Promise<Page> {
    const page = await newPage();
    await page.goto(`${url}/login`);
    await page.getByRole('link', { name: 'Sign in with Test IdP' }).click();
    await atProvider(page, login);
    return page;
  }

  it('first sign-in creates the user with the mapped role; a changed group changes the role at the next one', async () => {
    const page = await signInThroughConsole('ann');
    await page.waitForURL(`${url}/agents`);
    const me = await page.evaluate(async () => (await fetch('/api/v1/me')).json());
    expect(me.user).toMatchObject({ email: 'ann@example.test', name: 'Ann', role: 'developer' });
    expect((await userRow('ann@example.test'))?.role).toBe('developer');
    const audit = await hub.storage.db
      .selectFrom('audit_events')
      .selectAll()
      .where('action', '=', 'auth.sso.login')
      .where('actor_email', '=', 'ann@example.test')
      .execute();
    expect(audit.map((a) => a.outcome)).toEqual(['success']);

    op.accounts.get('ann')!.groups = ['sg-admins'];
    const again = await signInThroughConsole('ann');
    await again.waitForURL(`${url}/agents`);
    expect((await userRow('ann@example.test'))?.role).toBe('admin');
    expect(await hub.storage.db.selectFrom('sso_identities').selectAll().execute()).toHaveLength(1);

    // A user in no mapped group gets the default role.
    const bob = await signInThroughConsole('bob');
    await bob.waitForURL(`${url}/agents`);
    expect((await userRow('bob@example.test'))?.role).toBe('viewer');

    // Discovered now (the provider came up after the hub), so the list offers the device-code flow.
    const res = await fetch(`${url}/api/v1/auth/providers`);
    expect(await res.json()).toEqual({
      localLogin: true,
      providers: [{ id: 'test', type: 'oidc', displayName: 'Test IdP', device: true }],
    });
  });

  /** Starts a console sign-in whose callback `tamper` rewrites before the hub sees it; returns the error shown. */
  async function refusedSignIn(
    tamper: (callback: URL) => Promise<void> | void,
  ): Promise<{ text: string; status: number }> {
    const page = await newPage();
    let status = 0;
    // The provider's last answers are a chain of redirects ending at the hub's callback; a browser does not route
    // redirected requests, so the chain is followed here (with the context's cookies) and its end rewritten.
    await page.route(
      (u) => u.origin === op.issuer,
      async (route) => {
        if (!route.request().isNavigationRequest()) return route.continue();
        let res = await route.fetch({ maxRedirects: 0 });
        for (let hops = 0; hops < 10; hops++) {
          const location = res.headers().location;
          if (res.status() < 300 || res.status() >= 400 || location === undefined) break;
          const next = new URL(location, route.request().url());
          if (next.origin !== op.issuer) {
            await tamper(next);
            return route.fulfill({ status: 302, headers: { location: next.toString() } });
          }
          res = await page.context().request.get(next.toString(), { maxRedirects: 0 });
        }
        return route.fulfill({ response: res });
      },
    );
    page.on('response', (r) => {
      if (r.url().includes('/callback')) status = r.status();
    });
    await page.goto(`${url}/login`);
    await page.getByRole('link', { name: 'Sign in with Test IdP' }).click();
    await atProvider(page, 'ann');
    const text = await page.locator('#sso-error').innerText();
    return { text, status };
  }

  it('refuses a tampered state', async () => {
    const r = await refusedSignIn((u) => {
      u.searchParams.set('state', 'tampered-state-value');
    });
    expect(r.status).toBe(400);
    expect(r.text).toMatch(/state does not match/);
  });

  it('refuses an ID token with the wrong nonce', async () => {
    const r = await refusedSignIn(async (u) => {
      // The hub's record of this sign-in now expects another nonce than the one the provider put in the ID token.
      const rows = await hub.storage.db.selectFrom('sso_pending').selectAll().where('kind', '=', 'login').execute();
      for (const row of rows) {
        const data = JSON.parse(row.data) as { nonce: string };
        data.nonce = 'some-other-nonce';
        await hub.storage.db
          .updateTable('sso_pending')
          .set({ data: JSON.stringify(data) })
          .where('id_hash', '=', row.id_hash)
          .execute();
      }
      expect(rows.length).toBeGreaterThan(0);
      void u;
    });
    expect(r.status).toBe(401);
    expect(r.text).toMatch(/Test IdP sign-in refused: .*nonce/);
  });

  it('refuses an answer from the wrong issuer', async () => {
    const r = await refusedSignIn((u) => {
      u.searchParams.set('iss', 'http://127.0.0.1:9/other-issuer');
    });
    expect(r.status).toBe(401);
    expect(r.text).toMatch(/Test IdP sign-in refused: .*iss/);
    const failures = await hub.storage.db
      .selectFrom('audit_events')
      .select(['outcome', 'details'])
      .where('action', '=', 'auth.sso.login')
      .where('outcome', '!=', 'success')
      .execute();
    expect(failures.length).toBeGreaterThanOrEqual(1);
  });

  function runCli(
    args: string[],
    home: string,
    env: Record<string, string> = {},
  ): { child: ChildProcess; stderr: () => string; exit: Promise<number> } {
    const child = spawn(process.execPath, [CLI, ...args], {
      env: { PATH: process.env.PATH ?? '', HOME: home, XDG_CONFIG_HOME: home, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let err = '';
    let out = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const exit = new Promise<number>((resolve) => child.on('exit', (code) => resolve(code ?? -1)));
    return { child, stderr: () => `${err}\n${out}`, exit };
  }

  async function storedTokenWorks(home: string, email: string): Promise<void> {
    const settings = JSON.parse(readFileSync(path.join(home, 'spyglass', 'config.json'), 'utf8')) as {
      token: string;
      url: string;
    };
    expect(settings.url).toBe(url);
    const me = await fetch(`${url}/api/v1/me`, { headers: { authorization: `Bearer ${settings.token}` } });
    expect(((await me.json()) as { user: { email: string } }).user.email).toBe(email);
  }

  it('the CLI signs in through the browser (loopback redirect) and stores a token', async () => {
    const home = mkdtempSync(path.join(tmpdir(), 'spyglass-cli-sso-'));
    // The "browser" the CLI opens writes down the URL it was given; the test's Chromium then goes there.
    const opened = path.join(home, 'opened-url');
    const opener = path.join(home, 'open-browser.sh');
    writeFileSync(opener, `printf '%s' "$1" > '${opened}'\n`);
    const cli = runCli(['login', '--url', url, '--sso'], home, { SPYGLASS_BROWSER: `sh '${opener}'` });
    const start = await waitFor(() => (existsSync(opened) ? readFileSync(opened, 'utf8') || undefined : undefined), {
      what: 'the CLI to open the browser',
      timeoutMs: 30_000,
    });
    expect(start).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/api\/v1\/auth\/sso\/test\/start\?cliPort=\d+&cliChallenge=/);
    expect(cli.stderr()).toContain(start); // printed too
    const page = await newPage();
    await page.goto(start);
    await atProvider(page, 'ann');
    await page.getByText('The Spyglass CLI is signed in as ann@example.test').waitFor();
    expect(await cli.exit, cli.stderr()).toBe(0);
    const role = (await userRow('ann@example.test'))?.role;
    expect(cli.stderr()).toContain(`as ann@example.test (${role})`);
    await storedTokenWorks(home, 'ann@example.test');
  });

  it('the CLI names the providers when asked for an unknown one, and --device needs --sso', async () => {
    const home = mkdtempSync(path.join(tmpdir(), 'spyglass-cli-bad-'));
    const unknown = runCli(['login', '--url', url, '--sso', 'nope', '--no-browser'], home);
    expect(await unknown.exit).not.toBe(0);
    expect(unknown.stderr()).toContain('the hub has no single sign-on provider "nope"; it has: test');
    const device = runCli(['login', '--url', url, '--device'], home);
    expect(await device.exit).not.toBe(0);
    expect(device.stderr()).toContain('--device goes with --sso');
  });

  it('the CLI signs in with the device-code flow', async () => {
    const home = mkdtempSync(path.join(tmpdir(), 'spyglass-cli-device-'));
    const cli = runCli(['login', '--url', url, '--sso', 'test', '--device', '--no-browser'], home);
    const complete = await waitFor(() => /\(or go to (\S+)\)/.exec(cli.stderr())?.[1], {
      what: 'the CLI to print the device verification URL',
      timeoutMs: 30_000,
    });
    expect(cli.stderr()).toMatch(/enter the code [A-Z]{4}-[A-Z]{4}/);
    const page = await newPage();
    await page.goto(complete);
    await page.getByRole('button', { name: 'Continue' }).click(); // confirm the code shown
    await atProvider(page, 'bob');
    expect(await cli.exit, cli.stderr()).toBe(0);
    expect(cli.stderr()).toMatch(/signed in to .* as bob@example\.test \(viewer\)/);
    await storedTokenWorks(home, 'bob@example.test');
    const audit = await hub.storage.db
      .selectFrom('audit_events')
      .select(['details'])
      .where('action', '=', 'auth.sso.login')
      .where('actor_email', '=', 'bob@example.test')
      .where('outcome', '=', 'success')
      .execute();
    expect(audit.some((a) => String(a.details).includes('"device"'))).toBe(true);
  });
});

describe.skipIf(!hasChromium)('the sign-in page of an SSO-only hub, in Chromium', () => {
  const op = new TestOpenIdProvider();
  let hub: TestHub;
  let url: string;
  let browser: Browser;
  let context: BrowserContext;

  beforeAll(async () => {
    const issuer = await op.listen();
    const dir = mkdtempSync(path.join(tmpdir(), 'spyglass-sso-only-'));
    const configFile = path.join(dir, 'hub.yaml');
    writeFileSync(
      configFile,
      JSON.stringify({
        sso: {
          localLogin: false,
          providers: [
            { id: 'corp', displayName: 'Corp SSO', issuer, clientId: op.clientId, clientSecret: op.clientSecret },
          ],
        },
      }),
    );
    hub = await createHub({ listen: true, env: { SPYGLASS_CONFIG: configFile } });
    url = await hub.listen();
    op.configure([`${url}/api/v1/auth/sso/corp/callback`]);
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  });
  afterAll(async () => {
    await context?.close().catch(() => {});
    await browser?.close();
    await hub?.close();
    await op.close();
  });

  it('shows only the provider button; the break-glass link opens the password form for the admin', async () => {
    context = await browser.newContext();
    context.setDefaultTimeout(20_000);
    await context.route(/^https?:\/\/(?!127\.0\.0\.1[:/])/, (route) => route.abort());
    const page = await context.newPage();
    await page.goto(`${url}/login?redirect=/traces`);
    const button = page.getByRole('link', { name: 'Sign in with Corp SSO' });
    await button.waitFor();
    expect(await button.getAttribute('href')).toBe('/api/v1/auth/sso/corp/start?returnTo=%2Ftraces');
    expect(await page.getByLabel('Password').count()).toBe(0);
    await page.getByRole('button', { name: /Emergency sign-in with a password/ }).click();
    await page.getByLabel('Email').fill(userEmail('developer'));
    await page.getByLabel('Password').fill(USER_PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('alert').getByText('password sign-in is turned off here').waitFor();
    await page.getByLabel('Email').fill(ADMIN.email);
    await page.getByLabel('Password').fill(ADMIN.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(`${url}/traces`);
  });
});

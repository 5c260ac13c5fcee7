/**
 * Single sign-on over real HTTP: GitHub's plain OAuth against a loopback stand-in of its endpoints, the local-login
 * switch with its break-glass admin, and providers that are broken or down (the hub starts and keeps working).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config/config.js';
import { MAX_PENDING } from '../../src/sso/service.js';
import {
  ADMIN,
  USER_PASSWORD,
  createHub,
  freePort,
  testDatabases,
  userEmail,
  waitFor,
  type TestHub,
} from '../kit/index.js';
import { GithubStandIn } from '../kit/github-standin.js';

function configFile(content: unknown): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'spyglass-sso-config-'));
  const file = path.join(dir, 'hub.yaml');
  writeFileSync(file, JSON.stringify(content));
  return file;
}

const cookieOf = (res: Response, name: string): string | undefined =>
  res.headers
    .getSetCookie()
    .map((c) => c.split(';')[0]!)
    .find((c) => c.startsWith(`${name}=`) && c !== `${name}=`);

describe.each(testDatabases())('GitHub sign-in (plain OAuth 2) against a loopback stand-in on $dialect', (database) => {
  const gh = new GithubStandIn();
  let hub: TestHub;
  let url: string;

  beforeAll(async () => {
    const base = await gh.listen();
    const common = {
      type: 'github',
      clientId: gh.clientId,
      clientSecret: gh.clientSecret,
      baseUrl: base,
      apiUrl: `${base}/api`,
      roleMapping: { acme: 'viewer', 'acme/platform': 'admin', 'acme/payments': 'developer' },
      poolMapping: {
        'acme/payments': { payments: 'developer', checkout: 'viewer' },
        'acme/platform': { payments: 'admin' },
        'partner/ops': { ops: 'developer' },
      },
      defaultRole: 'none',
    };
    hub = await createHub({
      database,
      listen: true,
      env: {
        SPYGLASS_CONFIG: configFile({
          sso: {
            providers: [
              { ...common, id: 'github', displayName: 'GitHub' },
              { ...common, id: 'github-existing', displayName: 'GitHub (existing only)', userCreation: 'existing' },
            ],
          },
        }),
      },
    });
    url = await hub.listen();
  });
  afterAll(async () => {
    await hub?.close();
    await gh.close();
  });

  /** Follows start → authorize → callback by hand, carrying the state cookie; returns the callback's answer. */
  async function signIn(provider = 'github'): Promise<Response> {
    const start = await fetch(`${url}/api/v1/auth/sso/${provider}/start?returnTo=/traces`, { redirect: 'manual' });
    expect(start.status, await start.clone().text()).toBe(302);
    const state = cookieOf(start, 'spyglass_sso_state');
    expect(state).toBeDefined();
    const authorize = await fetch(start.headers.get('location')!, { redirect: 'manual' });
    expect(authorize.status).toBe(302);
    const callback = authorize.headers.get('location')!;
    expect(callback.startsWith(`${url}/api/v1/auth/sso/${provider}/callback?`)).toBe(true);
    return fetch(callback, { redirect: 'manual', headers: { cookie: state! } });
  }

  async function me(res: Response): Promise<{ user: { email: string; role: string } }> {
    const session = cookieOf(res, 'spyglass_session');
    expect(session, await res.clone().text()).toBeDefined();
    const r = await fetch(`${url}/api/v1/me`, { headers: { cookie: session! } });
    expect(r.status).toBe(200);
    return (await r.json()) as { user: { email: string; role: string } };
  }

  it('creates the user with the role of their team, re-maps it at each sign-in, reads a hidden email', async () => {
    gh.user = {
      id: 4242,
      login: 'carol',
      name: 'Carol',
      email: null,
      emails: [
        { email: 'old@example.test', primary: false, verified: true },
        { email: 'carol@example.test', primary: true, verified: true },
      ],
      orgs: ['acme'],
      teams: ['acme/payments'],
    };
    const first = await signIn();
    expect(first.status).toBe(302);
    expect(first.headers.get('location')).toBe('/traces');
    expect((await me(first)).user).toMatchObject({ email: 'carol@example.test', role: 'developer' });

    gh.user.teams = ['acme/platform'];
    expect((await me(await signIn())).user.role).toBe('admin');

    gh.user.teams = [];
    expect((await me(await signIn())).user.role).toBe('viewer'); // the org alone
  });

  it('hands the pool memberships mapped from teams to the pool-membership hook at every sign-in', async () => {
    const calls: Array<{ email: string; memberships: unknown; provider: string }> = [];
    const hubHook = hub.app.services.sso.poolMembershipHook;
    expect(hubHook).toBeDefined();
    hub.app.services.sso.setPoolMembershipHook((user, memberships, provider) => {
      calls.push({ email: user.email, memberships, provider });
      return Promise.resolve();
    });
    try {
      gh.user = {
        id: 5,
        login: 'fay',
        name: 'Fay',
        email: 'fay@example.test',
        emails: [],
        orgs: ['acme'],
        teams: ['acme/payments'],
      };
      await me(await signIn());
      gh.user.teams = ['acme/payments', 'acme/platform'];
      await me(await signIn());
      gh.user.teams = [];
      await me(await signIn());
    } finally {
      hub.app.services.sso.setPoolMembershipHook(hubHook);
    }
    expect(calls).toEqual([
      {
        email: 'fay@example.test',
        provider: 'github',
        memberships: [
          { pool: 'payments', role: 'developer' },
          { pool: 'checkout', role: 'viewer' },
        ],
      },
      {
        email: 'fay@example.test',
        provider: 'github',
        memberships: [
          { pool: 'payments', role: 'admin' },
          { pool: 'checkout', role: 'viewer' },
        ],
      },
      { email: 'fay@example.test', provider: 'github', memberships: [] },
    ]);
  });

  it("keeps the mapped pool roles as memberships of the provider, beside an admin's manual grant", async () => {
    const { pools, memberships, users } = hub.app.services;
    await pools.create('payments');
    await pools.create('checkout');
    await pools.create('search');
    gh.user = {
      id: 6,
      login: 'gus',
      name: 'Gus',
      email: 'gus@example.test',
      emails: [],
      orgs: ['acme'],
      teams: ['acme/payments'],
    };
    const first = await signIn();
    expect((await me(first)).user.role).toBe('developer');
    const gus = (await users.list(100)).items.find((u) => u.email === 'gus@example.test')!;
    const held = async () => (await memberships.list(gus.id)).map((m) => `${m.poolName}:${m.role}:${m.source}`).sort();
    expect(await held()).toEqual(['checkout:viewer:sso:github', 'payments:developer:sso:github']);

    await memberships.grant(gus.id, 'search', 'developer');
    gh.user.teams = ['acme/platform'];
    await me(await signIn());
    expect(await held()).toEqual(['payments:admin:sso:github', 'search:developer:manual']);

    gh.user.teams = [];
    await me(await signIn());
    expect(await held()).toEqual(['search:developer:manual']);
  });

  it('signs in a user whose teams give a role in a pool only, with the global role none', async () => {
    await hub.app.services.pools.create('ops');
    gh.user = {
      id: 8,
      login: 'hal',
      name: 'Hal',
      email: 'hal@example.test',
      emails: [],
      orgs: ['partner'],
      teams: ['partner/ops'],
    };
    const res = await signIn();
    expect(res.status, await res.clone().text()).toBe(302);
    const session = cookieOf(res, 'spyglass_session')!;
    const body = (await (await fetch(`${url}/api/v1/me`, { headers: { cookie: session } })).json()) as {
      user: { role: string };
      memberships: Array<{ poolName: string; role: string }>;
    };
    expect(body.user.role).toBe('none');
    expect(body.memberships.map((m) => `${m.poolName}:${m.role}`)).toEqual(['ops:developer']);
    // Nothing outside the pool: the pools list and trace-based tests need a global role.
    expect((await fetch(`${url}/api/v1/pools`, { headers: { cookie: session } })).status).toBe(403);
    expect((await fetch(`${url}/api/v1/tests`, { headers: { cookie: session } })).status).toBe(403);
  });

  it('refuses a user whose orgs map to no role, and an unknown user where only existing accounts may sign in', async () => {
    gh.user = {
      id: 77,
      login: 'dave',
      name: 'Dave',
      email: 'dave@example.test',
      emails: [],
      orgs: ['other'],
      teams: [],
    };
    const none = await signIn();
    expect(none.status).toBe(403);
    expect(await none.text()).toContain('dave@example.test is in no group that gives a Spyglass role');

    gh.user.orgs = ['acme'];
    const existing = await signIn('github-existing');
    expect(existing.status).toBe(403);
    expect(await existing.text()).toContain('an admin must create it');

    // Once an admin created the account, the same sign-in works and links the GitHub account to it.
    const created = await hub.api('POST', '/api/v1/users', {
      email: 'dave@example.test',
      name: 'Dave',
      role: 'viewer',
      password: USER_PASSWORD,
    });
    expect(created.status).toBe(201);
    expect((await me(await signIn('github-existing'))).user.email).toBe('dave@example.test');
  });

  it('refuses a disabled user, and their open sessions end', async () => {
    gh.user = {
      id: 99,
      login: 'erin',
      name: 'Erin',
      email: 'erin@example.test',
      emails: [],
      orgs: ['acme'],
      teams: [],
    };
    const ok = await signIn();
    const session = cookieOf(ok, 'spyglass_session')!;
    const row = await hub.storage.db
      .selectFrom('users')
      .select('id')
      .where('email', '=', 'erin@example.test')
      .executeTakeFirstOrThrow();
    expect((await hub.api('PATCH', `/api/v1/users/${row.id}`, { disabled: true })).status).toBe(200);
    expect((await fetch(`${url}/api/v1/me`, { headers: { cookie: session } })).status).toBe(401);
    const refused = await signIn();
    expect(refused.status).toBe(403);
    expect(await refused.text()).toContain('the account erin@example.test is disabled');
  });

  it('refuses a callback without the state cookie, and a state used twice', async () => {
    gh.user = {
      id: 4242,
      login: 'carol',
      name: 'Carol',
      email: 'carol@example.test',
      emails: [],
      orgs: ['acme'],
      teams: [],
    };
    const start = await fetch(`${url}/api/v1/auth/sso/github/start`, { redirect: 'manual' });
    const state = cookieOf(start, 'spyglass_sso_state')!;
    const callback = (await fetch(start.headers.get('location')!, { redirect: 'manual' })).headers.get('location')!;
    const noCookie = await fetch(callback, { redirect: 'manual' });
    expect(noCookie.status).toBe(400);
    expect(await noCookie.text()).toContain('does not match the one this browser started');
    const first = await fetch(callback, { redirect: 'manual', headers: { cookie: state } });
    expect(first.status).toBe(302);
    const replay = await fetch(callback, { redirect: 'manual', headers: { cookie: state } });
    expect(replay.status).toBe(400);
    expect(await replay.text()).toContain('unknown, already used or expired');
  });

  it('refuses new sign-ins while too many are in flight, and the hub keeps answering', async () => {
    const now = Date.now();
    for (let i = 0; i < MAX_PENDING; i += 1000) {
      const rows = Array.from({ length: 1000 }, (_, j) => ({
        id_hash: `flood-${String(i + j).padStart(8, '0')}`,
        kind: 'login' as const,
        provider: 'github',
        data: '{}',
        created_at: now,
        expires_at: now + 60_000,
      }));
      await hub.storage.db.insertInto('sso_pending').values(rows).execute();
    }
    const refused = await fetch(`${url}/api/v1/auth/sso/github/start`, { redirect: 'manual' });
    expect(refused.status).toBe(429);
    expect(await refused.text()).toContain('too many sign-ins are in progress');
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
    await hub.storage.db.deleteFrom('sso_pending').where('id_hash', 'like', 'flood-%').execute();
    expect((await fetch(`${url}/api/v1/auth/sso/github/start`, { redirect: 'manual' })).status).toBe(302);
  });

  it('audits sign-ins like password sign-ins', async () => {
    const rows = await hub.storage.db
      .selectFrom('audit_events')
      .select(['outcome', 'actor_email'])
      .where('action', '=', 'auth.sso.login')
      .execute();
    expect(rows.some((r) => r.outcome === 'success' && r.actor_email === 'carol@example.test')).toBe(true);
    expect(rows.some((r) => r.outcome !== 'success')).toBe(true);
  });
});

describe('SSO-only: the local-login switch and the break-glass admin', () => {
  let hub: TestHub;
  beforeAll(async () => {
    hub = await createHub({ env: { SPYGLASS_SSO_LOCAL_LOGIN: 'false' } });
  });
  afterAll(async () => {
    await hub?.close();
  });

  it('refuses password sign-in except for the break-glass admin', async () => {
    const dev = await hub.app.inject({
      method: 'POST',
      url: '/api/v1/auth/login',
      payload: { email: userEmail('developer'), password: USER_PASSWORD },
    });
    expect(dev.statusCode).toBe(403);
    expect(JSON.parse(dev.body).error.message).toContain('password sign-in is turned off');
    const admin = await hub.app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { ...ADMIN } });
    expect(admin.statusCode).toBe(200);
    const list = await hub.app.inject({ method: 'GET', url: '/api/v1/auth/providers' });
    expect(JSON.parse(list.body)).toEqual({ localLogin: false, providers: [] });
  });
});

describe('providers that are broken or down', () => {
  let hub: TestHub;
  let bad: Server;
  let closedPort: number;

  beforeAll(async () => {
    // Serves metadata that names another issuer than the one configured, and a second path with no JSON at all.
    bad = createServer((req, res) => {
      if (req.url?.startsWith('/notjson/')) res.writeHead(200, { 'content-type': 'application/json' }).end('{not json');
      else
        res
          .writeHead(200, { 'content-type': 'application/json' })
          .end(JSON.stringify({ issuer: 'http://127.0.0.1:9/someone-else', authorization_endpoint: 'x' }));
    });
    await new Promise<void>((resolve) => bad.listen(0, '127.0.0.1', () => resolve()));
    const badUrl = `http://127.0.0.1:${(bad.address() as AddressInfo).port}`;
    closedPort = await freePort();
    const p = { clientId: 'c', clientSecret: 's', timeoutMs: 5000 };
    hub = await createHub({
      env: {
        SPYGLASS_CONFIG: configFile({
          sso: {
            providers: [
              { ...p, id: 'wrong-issuer', displayName: 'Wrong issuer', issuer: badUrl },
              { ...p, id: 'not-json', displayName: 'Not JSON', issuer: `${badUrl}/notjson/` },
              { ...p, id: 'down', displayName: 'Down', issuer: `http://127.0.0.1:${closedPort}` },
            ],
          },
        }),
      },
    });
  });
  afterAll(async () => {
    await hub?.close();
    await new Promise<void>((resolve) => bad.close(() => resolve()));
  });

  it('logs a clear error at start for each, and the hub keeps working', async () => {
    await waitFor(() => hub.logs.text().includes('single sign-on provider down is unavailable'), {
      what: 'the discovery failures to be logged',
      timeoutMs: 30_000,
    });
    const text = hub.logs.text();
    expect(text).toMatch(/single sign-on provider wrong-issuer is unavailable/);
    expect(text).toMatch(/single sign-on provider not-json is unavailable/);
    expect(text).toMatch(/ECONNREFUSED/);
    expect((await hub.app.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);
    const list = JSON.parse((await hub.app.inject({ method: 'GET', url: '/api/v1/auth/providers' })).body);
    expect(list.providers.map((p: { id: string }) => p.id)).toEqual(['wrong-issuer', 'not-json', 'down']);
    expect(
      (await hub.app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { ...ADMIN } })).statusCode,
    ).toBe(200);
  });

  it('answers a sign-in with a clear error page naming the provider and the reason', async () => {
    for (const [id, reason] of [
      ['wrong-issuer', /discovery of http:\/\/127\.0\.0\.1:\d+ failed: .*issuer/],
      ['not-json', /discovery of .*notjson.* failed: .*JSON/],
      ['down', /sign-in with Down is unavailable: the discovery of http:\/\/127\.0\.0\.1:\d+ failed: .*ECONNREFUSED/],
    ] as const) {
      const res = await hub.app.inject({ method: 'GET', url: `/api/v1/auth/sso/${id}/start` });
      expect(res.statusCode, id).toBe(503);
      expect(res.headers['content-type']).toContain('text/html');
      expect(res.body.match(/id="sso-error">([^<]*)/)?.[1], id).toMatch(reason);
    }
    const unknown = await hub.app.inject({ method: 'GET', url: '/api/v1/auth/sso/nope/start' });
    expect(unknown.statusCode).toBe(404);
    expect(unknown.body).toContain('no single sign-on provider &#34;nope&#34; is configured');
  });

  it('refuses bad provider settings at start, all at once', () => {
    const file = configFile({
      sso: {
        providers: [
          { id: 'a', displayName: 'A', issuer: 'http://idp.example.test', clientId: 'c' },
          {
            id: 'a',
            displayName: 'B',
            issuer: 'https://idp.example.test',
            clientId: 'c',
            clientSecret: 's',
            clientSecretFile: '/x',
          },
        ],
      },
    });
    let err: unknown;
    try {
      loadConfig({ env: { SPYGLASS_CONFIG: file } });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    const problems = (err as ConfigError).problems.join('\n');
    expect(problems).toContain('sso.providers.0.issuer');
    expect(problems).toContain('plain http is accepted only on the loopback interface');
    expect(problems).toContain('sso.providers.0.clientSecret');
    expect(problems).toContain('duplicate id a');
    expect(problems).toContain('give clientSecret or clientSecretFile, not both');
    const unknownType = configFile({
      sso: { providers: [{ id: 'c', type: 'saml', displayName: 'C', clientId: 'c' }] },
    });
    expect(() => loadConfig({ env: { SPYGLASS_CONFIG: unknownType } })).toThrow(/sso\.providers\.0\.type/);
  });
});

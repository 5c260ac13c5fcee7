import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ADMIN_PASSWORD,
  USER_PASSWORD,
  createHub,
  json,
  testDatabases,
  waitFor,
  type TestHub,
} from '../test/kit/index.js';

function cookieOf(res: { headers: Record<string, unknown> }): string {
  const set = res.headers['set-cookie'];
  const first = Array.isArray(set) ? String(set[0]) : String(set);
  return first.split(';')[0]!;
}

describe.each(testDatabases())('hub foundation routes on $dialect', (database) => {
  let hub: TestHub;
  beforeAll(async () => {
    hub = await createHub({ database });
  });
  afterAll(async () => {
    await hub?.close();
  });

  it('answers health and readiness', async () => {
    expect((await hub.app.inject({ url: '/healthz' })).statusCode).toBe(200);
    const ready = await hub.app.inject({ url: '/readyz' });
    expect(ready.statusCode).toBe(200);
    expect(json(ready)).toMatchObject({ status: 'ready', database: database.dialect });
  });

  it('signs in with a session cookie, answers /me, and signs out revoking the session', async () => {
    const login = await hub.app.inject({
      method: 'POST',
      url: '/api/v1/auth/login',
      payload: { email: 'ADMIN@localhost ', password: ADMIN_PASSWORD },
    });
    expect(login.statusCode).toBe(200);
    const setCookie = String(login.headers['set-cookie']);
    expect(setCookie).toMatch(/HttpOnly/i);
    expect(setCookie).toMatch(/SameSite=Lax/i);
    expect(setCookie).not.toMatch(/Secure/i); // plain HTTP
    const cookie = cookieOf(login);
    const me = await hub.app.inject({ url: '/api/v1/me', headers: { cookie } });
    expect(json(me)).toMatchObject({ user: { email: 'admin@localhost', role: 'admin' }, via: 'session' });

    const out = await hub.app.inject({
      method: 'POST',
      url: '/api/v1/auth/logout',
      headers: { cookie, origin: 'http://localhost' },
    });
    expect(out.statusCode).toBe(204);
    const after = await hub.app.inject({ url: '/api/v1/me', headers: { cookie } });
    expect(after.statusCode).toBe(401);
  });

  it('marks the cookie Secure behind TLS (X-Forwarded-Proto from a trusted proxy)', async () => {
    const tls = await createHub({ env: { SPYGLASS_TRUST_PROXY: 'true' } });
    try {
      const login = await tls.app.inject({
        method: 'POST',
        url: '/api/v1/auth/login',
        headers: { 'x-forwarded-proto': 'https' },
        payload: { email: 'admin@localhost', password: ADMIN_PASSWORD },
      });
      expect(String(login.headers['set-cookie'])).toMatch(/Secure/);
    } finally {
      await tls.close();
    }
  });

  it('refuses a wrong password with one message for unknown and known accounts', async () => {
    const wrong = await hub.app.inject({
      method: 'POST',
      url: '/api/v1/auth/login',
      payload: { email: 'admin@localhost', password: 'nope' },
    });
    const unknown = await hub.app.inject({
      method: 'POST',
      url: '/api/v1/auth/login',
      payload: { email: 'ghost@localhost', password: 'nope' },
    });
    expect(wrong.statusCode).toBe(401);
    expect(unknown.statusCode).toBe(401);
    expect(json(wrong).error.message).toBe(json(unknown).error.message);
  });

  it('creates, uses, lists and revokes API tokens; expired tokens stop working', async () => {
    const created = await hub.app.inject({
      method: 'POST',
      url: '/api/v1/tokens',
      headers: hub.auth('developer'),
      payload: { name: 'ci' },
    });
    expect(created.statusCode).toBe(201);
    const token = json(created).token as string;
    expect(token).toMatch(/^sgt_/);
    const me = await hub.app.inject({ url: '/api/v1/me', headers: { authorization: `Bearer ${token}` } });
    expect(json(me)).toMatchObject({ user: { role: 'developer' }, via: 'token' });

    const list = json(await hub.app.inject({ url: '/api/v1/tokens', headers: hub.auth('developer') }));
    expect(list.items.map((t: { name: string }) => t.name)).toEqual(expect.arrayContaining(['ci', 'test-developer']));
    for (const t of list.items) expect(t).not.toHaveProperty('token');

    // A developer cannot see or delete someone else's token.
    const other = json(await hub.app.inject({ url: '/api/v1/tokens', headers: hub.auth('viewer') }));
    expect(other.items.map((t: { name: string }) => t.name)).not.toContain('ci');
    const id = json(created).id as string;
    expect(
      (await hub.app.inject({ method: 'DELETE', url: `/api/v1/tokens/${id}`, headers: hub.auth('viewer') })).statusCode,
    ).toBe(404);

    expect(
      (await hub.app.inject({ method: 'DELETE', url: `/api/v1/tokens/${id}`, headers: hub.auth('developer') }))
        .statusCode,
    ).toBe(204);
    expect(
      (await hub.app.inject({ url: '/api/v1/me', headers: { authorization: `Bearer ${token}` } })).statusCode,
    ).toBe(401);

    const soon = json(
      await hub.app.inject({
        method: 'POST',
        url: '/api/v1/tokens',
        headers: hub.auth('viewer'),
        payload: { name: 'short', expiresAt: Date.now() + 300 },
      }),
    ).token as string;
    expect((await hub.app.inject({ url: '/api/v1/me', headers: { authorization: `Bearer ${soon}` } })).statusCode).toBe(
      200,
    );
    await waitFor(
      async () =>
        (await hub.app.inject({ url: '/api/v1/me', headers: { authorization: `Bearer ${soon}` } })).statusCode === 401,
      { what: 'the short-lived token to stop working', timeoutMs: 10_000 },
    );

    const past = await hub.app.inject({
      method: 'POST',
      url: '/api/v1/tokens',
      headers: hub.auth('viewer'),
      payload: { name: 'x', expiresAt: 1 },
    });
    expect(past.statusCode).toBe(400);
    expect(json(past).error.issues[0].path).toBe('body.expiresAt');
  });

  it('lets admins manage users; disabling a user ends their sessions and tokens', async () => {
    const created = await hub.app.inject({
      method: 'POST',
      url: '/api/v1/users',
      headers: hub.auth('admin'),
      payload: { email: 'Dana@Example.test', name: 'Dana', role: 'developer', password: USER_PASSWORD },
    });
    expect(created.statusCode).toBe(201);
    const dana = json(created);
    expect(dana).toMatchObject({ email: 'dana@example.test', role: 'developer', disabled: false });
    expect(dana).not.toHaveProperty('password_hash');

    const dup = await hub.app.inject({
      method: 'POST',
      url: '/api/v1/users',
      headers: hub.auth('admin'),
      payload: { email: 'dana@example.test', name: 'Dana 2', role: 'viewer', password: USER_PASSWORD },
    });
    expect(dup.statusCode).toBe(409);
    expect(json(dup).error.code).toBe('CONFLICT');

    const login = await hub.app.inject({
      method: 'POST',
      url: '/api/v1/auth/login',
      payload: { email: 'dana@example.test', password: USER_PASSWORD },
    });
    const cookie = cookieOf(login);
    expect((await hub.app.inject({ url: '/api/v1/me', headers: { cookie } })).statusCode).toBe(200);

    const patched = await hub.app.inject({
      method: 'PATCH',
      url: `/api/v1/users/${dana.id}`,
      headers: hub.auth('admin'),
      payload: { disabled: true },
    });
    expect(json(patched).disabled).toBe(true);
    expect((await hub.app.inject({ url: '/api/v1/me', headers: { cookie } })).statusCode).toBe(401);
    const relogin = await hub.app.inject({
      method: 'POST',
      url: '/api/v1/auth/login',
      payload: { email: 'dana@example.test', password: USER_PASSWORD },
    });
    expect(relogin.statusCode).toBe(401);

    const page1 = json(await hub.app.inject({ url: '/api/v1/users?limit=2', headers: hub.auth('admin') }));
    expect(page1.items).toHaveLength(2);
    const page2 = json(
      await hub.app.inject({ url: `/api/v1/users?limit=2&cursor=${page1.nextCursor}`, headers: hub.auth('admin') }),
    );
    const emails = [...page1.items, ...page2.items].map((u: { email: string }) => u.email);
    expect(new Set(emails).size).toBe(emails.length);
    expect(emails).toEqual([...emails].sort());

    expect(
      (await hub.app.inject({ method: 'DELETE', url: `/api/v1/users/${dana.id}`, headers: hub.auth('admin') }))
        .statusCode,
    ).toBe(204);
    expect((await hub.app.inject({ url: `/api/v1/users/${dana.id}`, headers: hub.auth('admin') })).statusCode).toBe(
      404,
    );
  });

  it('never lets the last admin lock everyone out', async () => {
    const self = await hub.app.inject({
      method: 'DELETE',
      url: `/api/v1/users/${hub.userIds.admin}`,
      headers: hub.auth('admin'),
    });
    expect(self.statusCode).toBe(409);
    const demote = await hub.app.inject({
      method: 'PATCH',
      url: `/api/v1/users/${hub.userIds.admin}`,
      headers: hub.auth('admin'),
      payload: { role: 'viewer' },
    });
    expect(demote.statusCode).toBe(409);
  });

  it('creates pools with a key shown once, rotates it, and the old key stops matching', async () => {
    const created = await hub.app.inject({
      method: 'POST',
      url: '/api/v1/pools',
      headers: hub.auth('admin'),
      payload: { name: 'checkout-prod' },
    });
    expect(created.statusCode).toBe(201);
    const pool = json(created);
    expect(pool.key).toMatch(/^sgp_/);
    expect(await hub.app.services.pools.poolForKey(pool.key)).toMatchObject({ name: 'checkout-prod' });

    const got = json(await hub.app.inject({ url: '/api/v1/pools/checkout-prod', headers: hub.auth('admin') }));
    expect(got).not.toHaveProperty('key');
    expect(got.keyPrefix).toBe(pool.key.slice(0, 10));

    const rotated = json(
      await hub.app.inject({ method: 'POST', url: `/api/v1/pools/${pool.id}/rotate-key`, headers: hub.auth('admin') }),
    );
    expect(rotated.key).not.toBe(pool.key);
    expect(await hub.app.services.pools.poolForKey(pool.key)).toBeNull();
    expect(await hub.app.services.pools.poolForKey(rotated.key)).toMatchObject({ id: pool.id });

    const bad = await hub.app.inject({
      method: 'POST',
      url: '/api/v1/pools',
      headers: hub.auth('admin'),
      payload: { name: 'Bad Name!' },
    });
    expect(bad.statusCode).toBe(400);
    expect(json(bad).error.issues[0].path).toBe('body.name');
    const dup = await hub.app.inject({
      method: 'POST',
      url: '/api/v1/pools',
      headers: hub.auth('admin'),
      payload: { name: 'checkout-prod' },
    });
    expect(dup.statusCode).toBe(409);
  });

  it('audits state changes and denials, filterable and paginated newest first', async () => {
    await hub.app.inject({
      method: 'POST',
      url: '/api/v1/pools',
      headers: hub.auth('admin'),
      payload: { name: 'audited' },
    });
    await hub.app.inject({
      method: 'POST',
      url: '/api/v1/pools',
      headers: hub.auth('viewer'),
      payload: { name: 'nope' },
    });
    const all = json(await hub.app.inject({ url: '/api/v1/audit?limit=500', headers: hub.auth('admin') }));
    const create = all.items.find((e: any) => e.action === 'pool.create' && e.details?.name === 'audited');
    expect(create).toMatchObject({
      outcome: 'success',
      actorType: 'token',
      actorId: hub.userIds.admin,
      targetType: 'pool',
      status: 201,
    });
    expect(create.ip).toBeTruthy();
    const denied = all.items.find((e: any) => e.action === 'pool.create' && e.outcome === 'denied');
    expect(denied).toMatchObject({ actorId: hub.userIds.viewer, status: 403 });

    const ids = all.items.map((e: any) => Number(e.id));
    expect(ids).toEqual([...ids].sort((a, b) => b - a));

    const onlyDenied = json(await hub.app.inject({ url: '/api/v1/audit?outcome=denied', headers: hub.auth('admin') }));
    expect(onlyDenied.items.length).toBeGreaterThan(0);
    for (const e of onlyDenied.items) expect(e.outcome).toBe('denied');

    const p1 = json(await hub.app.inject({ url: '/api/v1/audit?limit=3', headers: hub.auth('admin') }));
    const p2 = json(
      await hub.app.inject({ url: `/api/v1/audit?limit=3&cursor=${p1.nextCursor}`, headers: hub.auth('admin') }),
    );
    expect(Number(p2.items[0].id)).toBeLessThan(Number(p1.items[2].id));

    for (const url of [
      '/api/v1/audit?cursor=bogus',
      '/api/v1/users?cursor=bogus',
      '/api/v1/pools?cursor=bogus',
      '/api/v1/tokens?cursor=bogus',
    ]) {
      const bad = await hub.app.inject({ url, headers: hub.auth('admin') });
      expect(bad.statusCode, url).toBe(400);
      expect(json(bad).error.issues[0].path).toBe('query.cursor');
    }
  });

  it('rate-limits failed logins per account with Retry-After, and audits it', async () => {
    const limited = await createHub({ env: { SPYGLASS_LOGIN_MAX_PER_ACCOUNT: '3' } });
    try {
      const attempt = (password: string) =>
        limited.app.inject({
          method: 'POST',
          url: '/api/v1/auth/login',
          payload: { email: 'viewer@example.test', password },
        });
      for (let i = 0; i < 3; i++) expect((await attempt('wrong')).statusCode).toBe(401);
      const blocked = await attempt(USER_PASSWORD); // even the right password waits
      expect(blocked.statusCode).toBe(429);
      expect(json(blocked).error.code).toBe('RATE_LIMITED');
      expect(Number(blocked.headers['retry-after'])).toBeGreaterThan(0);
      // Anonymous denials are counted per address, action and status a minute: write the counts now.
      await limited.app.hub.audit.flushDenials();
      const events = json(
        await limited.app.inject({ url: '/api/v1/audit?action=auth.login', headers: limited.auth('admin') }),
      );
      const denied = events.items.filter((e: any) => e.outcome === 'denied' && e.actorEmail === 'viewer@example.test');
      expect(denied.reduce((n: number, e: any) => n + Number(e.details.count ?? 1), 0)).toBeGreaterThanOrEqual(4);
    } finally {
      await limited.close();
    }
  });

  it('rate-limits failed logins per client IP across accounts', async () => {
    const limited = await createHub({ env: { SPYGLASS_LOGIN_MAX_PER_IP: '4' } });
    try {
      for (let i = 0; i < 4; i++) {
        await limited.app.inject({
          method: 'POST',
          url: '/api/v1/auth/login',
          payload: { email: `u${i}@x.test`, password: 'wrong' },
        });
      }
      const blocked = await limited.app.inject({
        method: 'POST',
        url: '/api/v1/auth/login',
        payload: { email: 'admin@localhost', password: ADMIN_PASSWORD },
      });
      expect(blocked.statusCode).toBe(429);
      const otherIp = await limited.app.inject({
        method: 'POST',
        url: '/api/v1/auth/login',
        remoteAddress: '10.0.0.9',
        payload: { email: 'admin@localhost', password: ADMIN_PASSWORD },
      });
      expect(otherIp.statusCode).toBe(200);
    } finally {
      await limited.close();
    }
  });

  it('refuses cross-origin state changes carried by a cookie', async () => {
    const login = await hub.app.inject({
      method: 'POST',
      url: '/api/v1/auth/login',
      payload: { email: 'admin@localhost', password: ADMIN_PASSWORD },
    });
    const cookie = cookieOf(login);
    const res = await hub.app.inject({
      method: 'POST',
      url: '/api/v1/tokens',
      headers: { cookie, origin: 'https://evil.example', host: 'localhost:80' },
      payload: { name: 'csrf' },
    });
    expect(res.statusCode).toBe(403);
    const same = await hub.app.inject({
      method: 'POST',
      url: '/api/v1/tokens',
      headers: { cookie, origin: 'http://localhost:80', host: 'localhost:80' },
      payload: { name: 'same-origin' },
    });
    expect(same.statusCode).toBe(201);
  });

  it('serves Prometheus metrics with HTTP request timings and an OpenAPI document', async () => {
    const metrics = await hub.app.inject({ url: '/metrics' });
    expect(metrics.body).toContain('spyglass_http_request_duration_seconds_bucket');
    expect(metrics.body).toContain('spyglass_hub_process_cpu_user_seconds_total');
    const doc = json(await hub.app.inject({ url: '/api/docs/json' }));
    expect(doc.openapi).toMatch(/^3\./);
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining(['/api/v1/users', '/api/v1/auth/login', '/api/v1/audit']),
    );
  });
});

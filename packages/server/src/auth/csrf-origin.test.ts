import { SpyglassClient } from '@spyglass/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN, createHub, type TestHub } from '../../test/kit/index.js';

/**
 * Cross-site request forgery with the session cookie: `SameSite=Lax` keeps the cookie off cross-site POSTs, but a page
 * on a sibling port or subdomain is the same site, and a request without an `Origin` was taken as our own. A
 * state-changing request carried by the cookie must name the hub's own origin (scheme, host and port). Sent over a
 * real socket (fetch sends no Origin unless told).
 */
async function signIn(url: string): Promise<string> {
  const res = await fetch(`${url}/api/v1/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(ADMIN),
  });
  expect(res.status).toBe(200);
  return res.headers.getSetCookie()[0]!.split(';')[0]!;
}

async function call(
  url: string,
  method: string,
  path: string,
  headers: Record<string, string>,
  body?: unknown,
): Promise<{ status: number; message: string | undefined; json: Record<string, unknown> | null }> {
  const res = await fetch(`${url}${path}`, {
    method,
    headers: { ...headers, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  const json = text === '' ? null : (JSON.parse(text) as Record<string, unknown>);
  return { status: res.status, message: (json?.error as { message?: string } | undefined)?.message, json };
}

describe('state-changing requests with the session cookie', () => {
  let hub: TestHub;
  let cookie: string;

  beforeAll(async () => {
    hub = await createHub({ listen: true });
    cookie = await signIn(hub.url);
  });
  afterAll(() => hub?.close());

  it('pass from the hub’s own origin', async () => {
    const res = await call(hub.url, 'POST', '/api/v1/tokens', { cookie, origin: hub.url }, { name: 'own' });
    expect(res.status).toBe(201);
  });

  it('are refused without an Origin header, for every unsafe method', async () => {
    const token = await hub.app.services.auth.createToken(hub.userIds.admin, { name: 'kept' });
    const missing = [
      await call(hub.url, 'POST', '/api/v1/tokens', { cookie }, { name: 'forged' }),
      await call(hub.url, 'PATCH', `/api/v1/users/${hub.userIds.viewer}`, { cookie }, { role: 'admin' }),
      await call(hub.url, 'DELETE', `/api/v1/tokens/${token.id}`, { cookie }),
    ];
    for (const res of missing) {
      expect(res.status).toBe(403);
      expect(res.message).toMatch(/must carry an Origin header/);
    }
    // Nothing happened.
    expect((await hub.app.services.users.get(hub.userIds.viewer)).role).toBe('viewer');
    const tokens = await hub.app.services.auth.listTokens(hub.userIds.admin, 100);
    expect(tokens.items.map((t) => t.name)).toContain('kept');
    expect(tokens.items.map((t) => t.name)).not.toContain('forged');
  });

  it('are refused from another port, another scheme, another host or an opaque origin', async () => {
    const { port, hostname } = new URL(hub.url);
    for (const origin of [
      `http://${hostname}:${Number(port) + 1}`,
      `https://${hostname}:${port}`,
      `http://localhost:${port}`,
      'null',
      'not a url',
    ]) {
      const res = await call(hub.url, 'POST', '/api/v1/tokens', { cookie, origin }, { name: 'forged' });
      expect(res.status, origin).toBe(403);
      expect(res.message).toContain(`this hub is ${hub.url}`);
    }
  });

  it('do not concern API tokens (programs send no Origin)', async () => {
    const auth = hub.auth('admin');
    expect((await call(hub.url, 'POST', '/api/v1/tokens', auth, { name: 'no-origin' })).status).toBe(201);
    const foreign = { ...auth, origin: 'http://127.0.0.1:1' };
    expect((await call(hub.url, 'POST', '/api/v1/tokens', foreign, { name: 'any-origin' })).status).toBe(201);
  });

  it('the typed client signed in with a cookie names the hub’s origin itself', async () => {
    const client = new SpyglassClient({ baseUrl: hub.url });
    await client.auth.login({ ...ADMIN });
    const created = await client.tokens.create({ name: 'client-cookie' });
    expect(created.name).toBe('client-cookie');
    await client.auth.logout();
  });
});

describe('the hub’s own origin behind a proxy', () => {
  it('with trustProxy, is the scheme and host the proxy forwarded', async () => {
    const hub = await createHub({ listen: true, env: { SPYGLASS_TRUST_PROXY: 'true' } });
    try {
      const cookie = await signIn(hub.url);
      const forwarded = { 'x-forwarded-proto': 'https', 'x-forwarded-host': 'spyglass.example.test' };
      const own = { cookie, origin: 'https://spyglass.example.test', ...forwarded };
      expect((await call(hub.url, 'POST', '/api/v1/tokens', own, { name: 'proxied' })).status).toBe(201);
      const plain = { ...own, origin: 'http://spyglass.example.test' };
      expect((await call(hub.url, 'POST', '/api/v1/tokens', plain, { name: 'x' })).status).toBe(403);
      const sibling = { ...own, origin: 'https://other.example.test' };
      expect((await call(hub.url, 'POST', '/api/v1/tokens', sibling, { name: 'x' })).status).toBe(403);
    } finally {
      await hub.close();
    }
  });

  it('without trustProxy, forwarded headers count for nothing', async () => {
    const hub = await createHub({ listen: true });
    try {
      const cookie = await signIn(hub.url);
      const headers = {
        cookie,
        origin: 'https://spyglass.example.test',
        'x-forwarded-proto': 'https',
        'x-forwarded-host': 'spyglass.example.test',
      };
      expect((await call(hub.url, 'POST', '/api/v1/tokens', headers, { name: 'x' })).status).toBe(403);
    } finally {
      await hub.close();
    }
  });

  it('with publicUrl, is that URL’s origin too (a proxy that rewrites the Host header)', async () => {
    const hub = await createHub({ listen: true, env: { SPYGLASS_PUBLIC_URL: 'https://spyglass.example.test/' } });
    try {
      const cookie = await signIn(hub.url);
      const own = { cookie, origin: 'https://spyglass.example.test' };
      expect((await call(hub.url, 'POST', '/api/v1/tokens', own, { name: 'public' })).status).toBe(201);
      for (const origin of ['https://spyglass.example.test:8443', 'https://sub.spyglass.example.test']) {
        const res = await call(hub.url, 'POST', '/api/v1/tokens', { cookie, origin }, { name: 'x' });
        expect(res.status, origin).toBe(403);
      }
    } finally {
      await hub.close();
    }
  });
});

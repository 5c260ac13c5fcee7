import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { USER_PASSWORD, createHub, userEmail, type TestHub } from '../../test/kit/index.js';

/**
 * A password reset after a leak must shut out whoever held the old credentials: the user's console sessions end and
 * every API token of theirs stops working (a token made with a stolen session would otherwise outlive the reset).
 * Over a real socket, as the console, the CLI and an admin would.
 */
describe('a password reset', () => {
  let hub: TestHub;
  beforeAll(async () => {
    hub = await createHub({ listen: true });
  });
  afterAll(() => hub?.close());

  const signIn = async (email: string, password: string): Promise<{ status: number; cookie: string }> => {
    const res = await fetch(`${hub.url}/api/v1/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email, password }),
    });
    return { status: res.status, cookie: res.headers.getSetCookie()[0]?.split(';')[0] ?? '' };
  };
  const me = async (headers: Record<string, string>): Promise<number> =>
    (await fetch(`${hub.url}/api/v1/me`, { headers })).status;
  const patch = (id: string, body: unknown, headers: Record<string, string>) =>
    fetch(`${hub.url}/api/v1/users/${id}`, {
      method: 'PATCH',
      headers: { ...headers, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });

  it('ends the sessions and revokes the API tokens issued before it, and nothing of anyone else', async () => {
    const email = userEmail('developer');
    const session = await signIn(email, USER_PASSWORD);
    expect(session.status).toBe(200);
    const created = await fetch(`${hub.url}/api/v1/tokens`, {
      method: 'POST',
      headers: { cookie: session.cookie, origin: hub.url, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'made with the session' }),
    });
    expect(created.status).toBe(201);
    const made = ((await created.json()) as { token: string }).token;
    const before = {
      session: { cookie: session.cookie },
      made: { authorization: `Bearer ${made}` },
      kit: hub.auth('developer'),
    };
    for (const headers of Object.values(before)) expect(await me(headers)).toBe(200);
    const otherSession = await signIn(userEmail('viewer'), USER_PASSWORD);

    const newPassword = 'a new password after the leak';
    const res = await patch(hub.userIds.developer, { password: newPassword }, hub.auth('admin'));
    expect(res.status).toBe(200);

    for (const [what, headers] of Object.entries(before)) expect(await me(headers), what).toBe(401);
    const tokens = await hub.app.services.auth.listTokens(hub.userIds.developer, 100);
    expect(tokens.items).toEqual([]);
    // Other users keep theirs, the admin who reset it included.
    expect(await me(hub.auth('viewer'))).toBe(200);
    expect(await me({ cookie: otherSession.cookie })).toBe(200);
    expect(await me(hub.auth('admin'))).toBe(200);

    // The old password is gone; the new one signs in, and what is issued after the reset works.
    expect((await signIn(email, USER_PASSWORD)).status).toBe(401);
    const fresh = await signIn(email, newPassword);
    expect(fresh.status).toBe(200);
    expect(await me({ cookie: fresh.cookie })).toBe(200);
    const after = await hub.app.services.auth.createToken(hub.userIds.developer, { name: 'after' });
    expect(await me({ authorization: `Bearer ${after.token}` })).toBe(200);

    // The audit event says what the reset revoked, never the password.
    const event = await hub.storage.db
      .selectFrom('audit_events')
      .select(['details'])
      .where('action', '=', 'user.update')
      .where('target_id', '=', hub.userIds.developer)
      .orderBy('id', 'desc')
      .executeTakeFirstOrThrow();
    expect(JSON.parse(event.details!)).toMatchObject({ passwordChanged: true, tokensRevoked: 2, sessionsEnded: 1 });
    expect(event.details).not.toContain(newPassword);
  });

  it('a change of name or role leaves the API tokens alone', async () => {
    const token = await hub.app.services.auth.createToken(hub.userIds.viewer, { name: 'kept' });
    expect((await patch(hub.userIds.viewer, { name: 'Renamed' }, hub.auth('admin'))).status).toBe(200);
    expect(await me({ authorization: `Bearer ${token.token}` })).toBe(200);
  });
});

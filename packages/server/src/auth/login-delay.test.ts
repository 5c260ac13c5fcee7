import { describe, expect, it } from 'vitest';
import { USER_PASSWORD, createHub, testDatabases, userEmail, waitFor } from '../../test/kit/index.js';

const signIn = (hub: Awaited<ReturnType<typeof createHub>>, password: string) =>
  hub.app.inject({
    method: 'POST',
    url: '/api/v1/auth/login',
    remoteAddress: '10.9.0.1',
    payload: { email: userEmail('viewer'), password },
  });

/**
 * Anyone could keep any account (an admin's included) out of the console: a burst of wrong passwords past the
 * per-account limit locked it for 15 minutes, renewed by the next burst. Past the limit the hub now slows attempts
 * down instead, and an admin can clear an account's failures.
 */
describe.each(testDatabases())('sign-in past the limit on $dialect', (database) => {
  it('a burst of wrong passwords delays the account briefly; early attempts do not lengthen it', async () => {
    const hub = await createHub({
      database,
      env: {
        SPYGLASS_LOGIN_MAX_PER_ACCOUNT: '3',
        SPYGLASS_LOGIN_MAX_PER_IP: '1000',
        SPYGLASS_LOGIN_DELAY_MS: '1000',
        SPYGLASS_LOGIN_MAX_DELAY_MS: '4000',
      },
    });
    try {
      for (let i = 0; i < 3; i++) expect((await signIn(hub, `wrong-${i}`)).statusCode).toBe(401);
      const burst = [];
      for (let i = 0; i < 20; i++) burst.push(await signIn(hub, `again-${i}`));
      const statuses = burst.map((r) => r.statusCode);
      expect(
        statuses.every((s) => s === 401 || s === 429),
        statuses.join(' '),
      ).toBe(true);
      const waited = burst.filter((r) => r.statusCode === 429);
      expect(waited.length).toBeGreaterThan(0);
      for (const r of waited) expect(Number(r.headers['retry-after'])).toBeLessThanOrEqual(4);
      // Only the attempts that were checked counted.
      const row = await hub.storage.db
        .selectFrom('login_failures')
        .select('failures')
        .where('limit_key', '=', `account:${userEmail('viewer')}`)
        .executeTakeFirstOrThrow();
      expect(Number(row.failures)).toBe(3 + statuses.filter((s) => s === 401).length);
      // The owner gets in after a wait of seconds, well inside the 15-minute window.
      await waitFor(async () => (await signIn(hub, USER_PASSWORD)).statusCode === 200, {
        what: 'the right password to be accepted',
        timeoutMs: 30_000,
        intervalMs: 250,
      });
    } finally {
      await hub.close();
    }
  });

  it('an admin unlocks an account at once (audited); others may not', async () => {
    const hub = await createHub({
      database,
      env: { SPYGLASS_LOGIN_MAX_PER_ACCOUNT: '3', SPYGLASS_LOGIN_DELAY_MS: '600000' },
    });
    try {
      for (let i = 0; i < 3; i++) expect((await signIn(hub, `wrong-${i}`)).statusCode).toBe(401);
      const waiting = await signIn(hub, USER_PASSWORD);
      expect(waiting.statusCode).toBe(429);
      expect(Number(waiting.headers['retry-after'])).toBeGreaterThan(500);
      const url = `/api/v1/users/${hub.userIds.viewer}/unlock`;
      expect((await hub.api('POST', url, undefined, 'developer')).status).toBe(403);
      expect((await signIn(hub, USER_PASSWORD)).statusCode).toBe(429);
      const unlocked = await hub.api<{ user: { id: string }; failuresCleared: number }>('POST', url);
      expect(unlocked).toMatchObject({ status: 200, body: { user: { id: hub.userIds.viewer }, failuresCleared: 3 } });
      const audit = await hub.api<{ items: { actorId: string; targetId: string; details: Record<string, unknown> }[] }>(
        'GET',
        '/api/v1/audit?action=user.unlock&outcome=success',
      );
      expect(audit.body.items).toEqual([
        expect.objectContaining({
          actorId: hub.userIds.admin,
          targetId: hub.userIds.viewer,
          details: expect.objectContaining({ email: userEmail('viewer'), failuresCleared: 3 }),
        }),
      ]);
      expect((await signIn(hub, USER_PASSWORD)).statusCode).toBe(200);
      expect((await hub.api('POST', '/api/v1/users/no-such-user/unlock')).status).toBe(404);
    } finally {
      await hub.close();
    }
  });
});

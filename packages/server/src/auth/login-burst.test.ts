import { describe, expect, it } from 'vitest';
import { ADMIN, ADMIN_PASSWORD, USER_PASSWORD, createHub, testDatabases } from '../../test/kit/index.js';

/**
 * Parallel guesses: every attempt is counted before its password is checked, so a burst gets no more checks than the
 * limit (before, 25 parallel guesses on an account limited to 10 were all checked, and the right password inside the
 * burst got in).
 */
describe.each(testDatabases())('a burst of parallel sign-in attempts on $dialect', (database) => {
  it('checks at most the per-account limit; the rest are refused unchecked', { timeout: 60_000 }, async () => {
    const hub = await createHub({
      database,
      // A long wait past the limit, so the attempt after the burst is still waiting however slow the machine.
      env: {
        SPYGLASS_LOGIN_MAX_PER_ACCOUNT: '10',
        SPYGLASS_LOGIN_MAX_PER_IP: '1000',
        SPYGLASS_LOGIN_DELAY_MS: '600000',
      },
    });
    try {
      const attempt = (password: string, i: number) =>
        hub.app.inject({
          method: 'POST',
          url: '/api/v1/auth/login',
          remoteAddress: `10.1.0.${i % 250}`,
          payload: { email: 'viewer@example.test', password },
        });
      const burst = await Promise.all([
        ...Array.from({ length: 25 }, (_, i) => attempt(`wrong-${i}`, i)),
        attempt(USER_PASSWORD, 99),
      ]);
      const statuses = burst.map((r) => r.statusCode);
      const checked = statuses.filter((s) => s !== 429).length;
      expect(checked, statuses.join(' ')).toBeLessThanOrEqual(10);
      expect(statuses.filter((s) => s === 429).length).toBeGreaterThanOrEqual(16);
      // The account is now past its limit: the right password waits too — unless the one in the burst was among those
      // checked, and its success cleared the account's failures.
      const inBurst = burst.at(-1)!.statusCode;
      expect((await attempt(USER_PASSWORD, 100)).statusCode).toBe(inBurst === 200 ? 200 : 429);
    } finally {
      await hub.close();
    }
  });

  it('checks at most the per-address limit across accounts', { timeout: 60_000 }, async () => {
    const hub = await createHub({
      database,
      env: { SPYGLASS_LOGIN_MAX_PER_IP: '30', SPYGLASS_LOGIN_MAX_PER_ACCOUNT: '1000' },
    });
    try {
      const burst = await Promise.all(
        Array.from({ length: 120 }, (_, i) =>
          hub.app.inject({
            method: 'POST',
            url: '/api/v1/auth/login',
            remoteAddress: '10.2.0.1',
            payload: { email: `nobody-${i}@example.test`, password: 'wrong' },
          }),
        ),
      );
      const checked = burst.filter((r) => r.statusCode === 401).length;
      // At most the limit; on a server database a burst this far over it may get none checked at all (each attempt
      // sees the others' reservations before its own check).
      expect(checked).toBeLessThanOrEqual(30);
      // A successful sign-in gives its attempt back: from a fresh address, it does not eat into the limit.
      for (let i = 0; i < 5; i++) {
        const ok = await hub.app.inject({
          method: 'POST',
          url: '/api/v1/auth/login',
          remoteAddress: '10.3.0.1',
          payload: { email: ADMIN.email, password: ADMIN_PASSWORD },
        });
        expect(ok.statusCode).toBe(200);
      }
      const row = await hub.storage.db
        .selectFrom('login_failures')
        .select('failures')
        .where('limit_key', '=', 'ip:10.3.0.1')
        .executeTakeFirst();
      expect(Number(row?.failures ?? 0)).toBe(0);
    } finally {
      await hub.close();
    }
  });
});

import type { InjectOptions } from 'fastify';
import { describe, expect, it } from 'vitest';
import { ADMIN_PASSWORD, LogCapture, createHub, json } from '../test/kit/index.js';

describe('secrets never leak', () => {
  it('no password, session id, API token or pool key appears in logs or in any response after creation', async () => {
    const hub = await createHub({ logLevel: 'trace' });
    try {
      const secrets: string[] = [ADMIN_PASSWORD];
      const responses: string[] = [];
      const call = (opts: InjectOptions) => hub.app.inject(opts);

      // Creation: the one response allowed to carry each secret.
      const login = await call({
        method: 'POST',
        url: '/api/v1/auth/login',
        headers: { 'user-agent': 'leak-test' },
        payload: { email: 'admin@localhost', password: ADMIN_PASSWORD },
      });
      const cookie = String(login.headers['set-cookie']).split(';')[0]!;
      const origin = 'http://localhost'; // inject's Host is localhost:80
      secrets.push(cookie.split('=')[1]!);
      const token = json(
        await call({ method: 'POST', url: '/api/v1/tokens', headers: { cookie, origin }, payload: { name: 'leak' } }),
      ).token;
      secrets.push(token, ...Object.values(hub.tokens));
      const pool = json(
        await call({
          method: 'POST',
          url: '/api/v1/pools',
          headers: { authorization: `Bearer ${token}` },
          payload: { name: 'leaky' },
        }),
      );
      secrets.push(pool.key);
      const rotated = json(
        await call({ method: 'POST', url: '/api/v1/pools/leaky/rotate-key', headers: { cookie, origin } }),
      );
      secrets.push(rotated.key);
      const userPassword = 'a-brand-new-password-123';
      const user = json(
        await call({
          method: 'POST',
          url: '/api/v1/users',
          headers: { cookie, origin },
          payload: { email: 'new@x.test', name: 'N', role: 'viewer', password: userPassword },
        }),
      );
      secrets.push(userPassword);
      const changed = 'another-new-password-456';
      await call({
        method: 'PATCH',
        url: `/api/v1/users/${user.id}`,
        headers: { cookie, origin },
        payload: { password: changed },
      });
      secrets.push(changed);
      // A failed login with a password that looks like a secret must not echo it either.
      const typo = 'typo-of-the-admin-password';
      await call({ method: 'POST', url: '/api/v1/auth/login', payload: { email: 'admin@localhost', password: typo } });
      secrets.push(typo);
      // Bad credentials in headers.
      await call({ url: '/api/v1/me', headers: { authorization: 'Bearer sgt_not-a-real-token-but-secret-looking' } });
      secrets.push('sgt_not-a-real-token-but-secret-looking');

      // Everything readable afterwards.
      for (const url of [
        '/api/v1/me',
        '/api/v1/tokens?all=true',
        '/api/v1/pools',
        '/api/v1/pools/leaky',
        '/api/v1/users',
        `/api/v1/users/${user.id}`,
        '/api/v1/audit?limit=500',
        '/metrics',
      ]) {
        const res = await call({ url, headers: { cookie, origin } });
        expect(res.statusCode, url).toBe(200);
        responses.push(res.body, JSON.stringify(res.headers));
      }

      const logs = hub.logs.text();
      expect(logs.length).toBeGreaterThan(1000); // trace level: every request was logged
      const dbDump = JSON.stringify([
        await hub.storage.db.selectFrom('audit_events').selectAll().execute(),
        await hub.storage.db.selectFrom('sessions').selectAll().execute(),
        await hub.storage.db.selectFrom('api_tokens').selectAll().execute(),
        await hub.storage.db.selectFrom('pools').selectAll().execute(),
        await hub.storage.db.selectFrom('users').selectAll().execute(),
      ]);
      for (const secret of secrets) {
        expect(secret.length).toBeGreaterThanOrEqual(12);
        expect(logs.includes(secret), `secret in logs: ${secret.slice(0, 6)}…`).toBe(false);
        for (const body of responses)
          expect(body.includes(secret), `secret in a response: ${secret.slice(0, 6)}…`).toBe(false);
        expect(dbDump.includes(secret), `secret stored in clear: ${secret.slice(0, 6)}…`).toBe(false);
      }
    } finally {
      await hub.close();
    }
  });

  it('redacts credentials when request headers are logged', async () => {
    const { createLogger } = await import('./logging.js');
    const capture = new LogCapture();
    const log = createLogger({ level: 'info', pretty: false, stream: capture });
    log.info(
      {
        req: { headers: { authorization: 'Bearer sgt_abcdefghijklmnop', cookie: 'spyglass_session=sgs_zzzzzzzzzzzz' } },
      },
      'request',
    );
    log.info(
      {
        user: { password: 'hunter2hunter2' },
        token: 'sgt_qqqqqqqqqqqq',
        config: { admin: { password: 'pw-pw-pw-pw-pw' } },
      },
      'x',
    );
    const text = capture.text();
    for (const s of [
      'sgt_abcdefghijklmnop',
      'sgs_zzzzzzzzzzzz',
      'hunter2hunter2',
      'sgt_qqqqqqqqqqqq',
      'pw-pw-pw-pw-pw',
    ])
      expect(text).not.toContain(s);
    expect(text).toContain('[redacted]');
  });
});

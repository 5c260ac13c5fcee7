import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN, createHub, type TestHub } from '../../test/kit/index.js';

/**
 * The console asks who is signed in when it starts. It used `GET /api/v1/me`, whose 401 for a browser that is not
 * signed in yet was an audited denial at every sign-in (`anonymous GET /api/v1/me denied 401`). It now asks
 * `GET /api/v1/auth/session`, a 200 either way that writes nothing; `/api/v1/me` still answers API clients with 401.
 * Requests go over a real socket.
 */
describe('the session probe', () => {
  let hub: TestHub;
  beforeAll(async () => {
    hub = await createHub({ listen: true });
  });
  afterAll(() => hub?.close());

  const auditRows = async (action: string): Promise<number> =>
    (await hub.storage.db.selectFrom('audit_events').select('id').where('action', '=', action).execute()).length;

  it('answers 200 {signedIn:false} without a credential and leaves no audit row', async () => {
    for (let i = 0; i < 3; i++) {
      const res = await fetch(`${hub.url}/api/v1/auth/session`);
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({ signedIn: false });
    }
    // Sign in as the console does after the probe, then probe again with the cookie.
    const login = await fetch(`${hub.url}/api/v1/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', origin: hub.url },
      body: JSON.stringify(ADMIN),
    });
    expect(login.status).toBe(200);
    const cookie = login.headers.getSetCookie()[0]!.split(';')[0]!;
    const signedIn = await fetch(`${hub.url}/api/v1/auth/session`, { headers: { cookie } });
    expect(signedIn.status).toBe(200);
    expect(await signedIn.json()).toMatchObject({ signedIn: true, via: 'session', user: { email: ADMIN.email } });
    // An expired or unknown cookie is simply not signed in.
    const stale = await fetch(`${hub.url}/api/v1/auth/session`, { headers: { cookie: `${cookie}x` } });
    expect(await stale.json()).toEqual({ signedIn: false });

    await hub.app.hub.audit.flushDenials();
    expect(await auditRows('GET /api/v1/auth/session')).toBe(0);
    expect(await auditRows('GET /api/v1/me')).toBe(0);
    expect(await auditRows('auth.login')).toBe(1);
  });

  it('GET /api/v1/me keeps answering 401 to a client without a credential (and that is audited)', async () => {
    const res = await fetch(`${hub.url}/api/v1/me`);
    expect(res.status).toBe(401);
    expect(await auditRows('GET /api/v1/me')).toBe(1);
    const token = await fetch(`${hub.url}/api/v1/auth/session`, { headers: hub.auth('viewer') });
    expect(await token.json()).toMatchObject({ signedIn: true, via: 'token' });
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { USER_PASSWORD, createHub, testDatabases, type TestHub } from '../../test/kit/index.js';

/** `setMemberships`, the seam a sign-in provider's claim mapping calls at each login, on every database. */
describe.each(testDatabases())('pool memberships by source on $dialect', (database) => {
  let hub: TestHub;
  beforeAll(async () => {
    hub = await createHub({ database });
    for (const name of ['payments', 'search', 'billing']) await hub.createPool(name);
  });
  afterAll(async () => {
    await hub?.close();
  });

  const roles = async (userId: string) =>
    Object.fromEntries(
      (await hub.app.services.memberships.list(userId)).map((m) => [m.poolName, `${m.role}/${m.source}`]),
    );

  it('replaces what one source granted, leaves other sources alone, and reports unknown pools', async () => {
    const m = hub.app.services.memberships;
    const user = await hub.app.services.users.create({
      email: 'sso-user@example.test',
      name: 'SSO',
      role: 'none',
      password: USER_PASSWORD,
    });
    await m.grant(user.id, 'billing', 'viewer');

    const first = await m.setMemberships(
      user.id,
      [
        { pool: 'payments', role: 'viewer' },
        { pool: 'payments', role: 'developer' }, // two groups map to the pool: the higher role
        { pool: 'search', role: 'viewer' },
        { pool: 'not-created-yet', role: 'admin' },
      ],
      'keycloak',
    );
    expect(first.unknownPools).toEqual(['not-created-yet']);
    expect(await roles(user.id)).toEqual({
      billing: 'viewer/manual',
      payments: 'developer/keycloak',
      search: 'viewer/keycloak',
    });

    // Next login: search left the claims, billing entered them (the provider's role replaces the manual one there).
    await m.setMemberships(
      user.id,
      [
        { pool: 'payments', role: 'developer' },
        { pool: 'billing', role: 'developer' },
      ],
      'keycloak',
    );
    expect(await roles(user.id)).toEqual({ billing: 'developer/keycloak', payments: 'developer/keycloak' });

    // Another source's mapping does not touch keycloak's; an empty list clears only its own.
    await m.setMemberships(user.id, [{ pool: 'search', role: 'viewer' }], 'github');
    await m.setMemberships(user.id, [], 'keycloak');
    expect(await roles(user.id)).toEqual({ search: 'viewer/github' });

    // What it granted is what the hub enforces: the user sees search's agents list, and pool roles on /me.
    const token = (await hub.app.services.auth.createToken(user.id, { name: 'sso' })).token;
    const me = await hub.app.inject({
      method: 'GET',
      url: '/api/v1/me',
      headers: { authorization: `Bearer ${token}` },
    });
    expect(JSON.parse(me.body)).toMatchObject({ memberships: [{ poolName: 'search', role: 'viewer' }] });
    const create = await hub.app.inject({
      method: 'POST',
      url: '/api/v1/actions',
      headers: { authorization: `Bearer ${token}` },
      payload: { kind: 'log', file: 'a.ts', line: 1, template: 'x', target: { pool: 'search' } },
    });
    expect(create.statusCode).toBe(403);
  });

  it('refuses an unknown user, and a deleted pool takes its memberships with it', async () => {
    const m = hub.app.services.memberships;
    await expect(m.setMemberships('no-such-user', [], 'keycloak')).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(m.setMemberships(hub.userIds.viewer, [], 'manual')).rejects.toMatchObject({ code: 'INVALID_INPUT' });
    await expect(m.setMemberships(hub.userIds.viewer, [], 'Key Cloak')).rejects.toThrow(/must be a provider name/);
    const pool = await hub.createPool('short-lived');
    await m.grant(hub.userIds.viewer, pool.name, 'developer');
    await hub.app.services.pools.delete(pool.name);
    expect((await m.list(hub.userIds.viewer)).map((x) => x.poolName)).not.toContain('short-lived');
  });
});

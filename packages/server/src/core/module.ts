import { coreOperations as ops } from '@spyglass/protocol';
import { defineModule } from '../platform/module.js';
import type { OperationContext } from '../platform/operations.js';

/** The hub's core operations: users, API tokens, agent pools and the audit log. */
export const coreModule = defineModule({
  name: 'core',
  register(ctx) {
    const { users, auth, pools, memberships } = ctx.app.services;
    const audit = ctx.hub.audit;
    // No core operation admits an anonymous caller: the operation layer has checked the principal before a handler.
    const me = (c: OperationContext) => c.principal!.user;

    ctx.operation(ops.listUsers, async ({ query }) => {
      const page = await users.list(query.limit, query.cursor);
      const states = await auth.signInStates(page.items.map((u) => u.email));
      return { ...page, items: page.items.map((u) => ({ ...u, signIn: states.get(u.email)! })) };
    });
    ctx.operation(ops.createUser, async ({ body }, c) => {
      const user = await users.create(body);
      Object.assign(c.audit, {
        targetType: 'user',
        targetId: user.id,
        details: { email: user.email, role: user.role },
      });
      return user;
    });
    ctx.operation(ops.getUser, ({ params }) => users.get(params.id));
    ctx.operation(ops.updateUser, async ({ params, body }, c) => {
      c.audit.targetType = 'user';
      c.audit.targetId = params.id;
      const { password, ...rest } = body;
      c.audit.details = { ...rest, ...(password === undefined ? {} : { passwordChanged: true }) };
      const revoked = { sessions: 0, tokens: 0 };
      const user = await users.update(me(c).id, params.id, body, revoked);
      // A new password also revoked the user's API tokens and ended their sessions: say how many.
      if (password !== undefined)
        c.audit.details = { ...c.audit.details, tokensRevoked: revoked.tokens, sessionsEnded: revoked.sessions };
      return user;
    });
    ctx.operation(ops.unlockUser, async ({ params }, c) => {
      c.audit.targetType = 'user';
      c.audit.targetId = params.id;
      const user = await users.get(params.id);
      const failuresCleared = await auth.unlockAccount(user.email);
      c.audit.details = { email: user.email, failuresCleared };
      return { user, failuresCleared };
    });
    ctx.operation(ops.deleteUser, async ({ params }, c) => {
      c.audit.targetType = 'user';
      c.audit.targetId = params.id;
      await users.delete(me(c).id, params.id);
      return null;
    });

    ctx.operation(ops.listMemberships, async ({ params }) => ({ items: await memberships.list(params.id) }));
    ctx.operation(ops.grantMembership, async ({ params, body }, c) => {
      c.audit.targetType = 'user';
      c.audit.targetId = params.id;
      c.audit.details = { pool: params.pool, role: body.role };
      const m = await memberships.grant(params.id, params.pool, body.role);
      c.audit.details = { pool: m.poolName, poolId: m.poolId, role: m.role };
      return m;
    });
    ctx.operation(ops.revokeMembership, async ({ params }, c) => {
      c.audit.targetType = 'user';
      c.audit.targetId = params.id;
      c.audit.details = { pool: params.pool };
      const m = await memberships.revoke(params.id, params.pool);
      c.audit.details = { pool: m.poolName, poolId: m.poolId, role: m.role, source: m.source };
      return null;
    });

    ctx.operation(ops.listTokens, ({ query }, c) => {
      const user = me(c);
      const all = query.all === 'true' && user.role === 'admin';
      return auth.listTokens(all ? undefined : user.id, query.limit, query.cursor);
    });
    ctx.operation(ops.createToken, async ({ body }, c) => {
      const created = await auth.createToken(me(c).id, body);
      Object.assign(c.audit, {
        targetType: 'token',
        targetId: created.id,
        details: { name: created.name, prefix: created.prefix },
      });
      return created;
    });
    ctx.operation(ops.deleteToken, async ({ params }, c) => {
      c.audit.targetType = 'token';
      c.audit.targetId = params.id;
      await auth.deleteToken(me(c), params.id);
      return null;
    });

    ctx.operation(ops.listPools, ({ query }) => pools.list(query.limit, query.cursor));
    ctx.operation(ops.createPool, async ({ body }, c) => {
      const pool = await pools.create(body.name);
      Object.assign(c.audit, { targetType: 'pool', targetId: pool.id, details: { name: pool.name } });
      return pool;
    });
    ctx.operation(ops.getPool, ({ params }) => pools.get(params.pool));
    ctx.operation(ops.rotatePoolKey, async ({ params }, c) => {
      c.audit.targetType = 'pool';
      const pool = await pools.rotateKey(params.pool);
      c.audit.targetId = pool.id;
      return pool;
    });
    ctx.operation(ops.deletePool, async ({ params }, c) => {
      c.audit.targetType = 'pool';
      const pool = await pools.delete(params.pool);
      c.audit.targetId = pool.id;
      c.audit.details = { name: pool.name };
      return null;
    });

    ctx.operation(ops.listAudit, ({ query }) => audit.list(query));
  },
});

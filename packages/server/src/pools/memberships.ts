import { SpyglassError, membershipSourceSchema, type Membership, type Role } from '@spyglass/protocol';
import type { Kysely } from 'kysely';
import { defineTopic, type Bus } from '../bus/bus.js';
import type { Database } from '../storage/schema.js';
import type { PoolService } from './service.js';

/** A user's memberships changed (every replica refreshes the roles of that user's open live streams). */
export const MEMBERSHIP_TOPICS = {
  changed: defineTopic<{ userId: string }>('core.memberships.changed'),
};

/** The source of memberships an admin grants by hand (API, CLI, console). */
export const MANUAL_SOURCE = 'manual';

/** One wanted membership: a pool (id or name) and the role in it. */
export interface MembershipGrant {
  pool: string;
  role: Role;
}

/**
 * Roles per pool (table `pool_memberships`, one row per user and pool). The effective role in a pool is the higher of
 * the user's global role and their membership there (`pools/scope.ts`). Every row names its source, so a sign-in
 * provider's mapping (`setMemberships(userId, grants, 'keycloak')`) replaces only what that provider gave and never
 * an admin's manual grants.
 */
export class MembershipService {
  readonly #db: Kysely<Database>;
  readonly #pools: PoolService;
  readonly #bus: Bus | undefined;

  constructor(db: Kysely<Database>, pools: PoolService, bus?: Bus) {
    this.#db = db;
    this.#pools = pools;
    this.#bus = bus;
  }

  /**
   * Tells every replica (open live streams) that the user's memberships changed. REST and MCP read them per request;
   * a stream would otherwise keep the roles it opened with. A bus that is away loses it: those streams keep their
   * roles until they reconnect.
   */
  async #announce(userId: string): Promise<void> {
    await this.#bus?.publish(MEMBERSHIP_TOPICS.changed, { userId }).catch(() => undefined);
  }

  /** The user's memberships, by pool name. */
  async list(userId: string): Promise<Membership[]> {
    const rows = await this.#db
      .selectFrom('pool_memberships')
      .innerJoin('pools', 'pools.id', 'pool_memberships.pool_id')
      .selectAll('pool_memberships')
      .select('pools.name as pool_name')
      .where('pool_memberships.user_id', '=', userId)
      .orderBy('pools.name')
      .execute();
    return rows.map((r) => ({
      userId: r.user_id,
      poolId: r.pool_id,
      poolName: r.pool_name,
      role: r.role,
      source: r.source,
      createdAt: Number(r.created_at),
      updatedAt: Number(r.updated_at),
    }));
  }

  /** Pool id → role, for the access checks (one query per request). */
  async rolesOf(userId: string): Promise<Map<string, Role>> {
    const rows = await this.#db
      .selectFrom('pool_memberships')
      .select(['pool_id', 'role'])
      .where('user_id', '=', userId)
      .execute();
    return new Map(rows.map((r) => [r.pool_id, r.role]));
  }

  /** Gives the user `role` in the pool (id or name), replacing any role they had there, whatever its source. */
  async grant(userId: string, pool: string, role: Role, source: string = MANUAL_SOURCE): Promise<Membership> {
    await this.#assertUser(userId);
    const p = await this.#pools.get(pool);
    const now = Date.now();
    await this.#db.transaction().execute(async (trx) => {
      await trx.deleteFrom('pool_memberships').where('user_id', '=', userId).where('pool_id', '=', p.id).execute();
      await trx
        .insertInto('pool_memberships')
        .values({ user_id: userId, pool_id: p.id, role, source, created_at: now, updated_at: now })
        .execute();
    });
    await this.#announce(userId);
    return { userId, poolId: p.id, poolName: p.name, role, source, createdAt: now, updatedAt: now };
  }

  /** Removes the user's role in the pool; NOT_FOUND when they had none. */
  async revoke(userId: string, pool: string): Promise<Membership> {
    await this.#assertUser(userId);
    const p = await this.#pools.get(pool);
    const found = (await this.list(userId)).find((m) => m.poolId === p.id);
    if (found === undefined) throw new SpyglassError('NOT_FOUND', `the user has no role in pool ${p.name}`);
    await this.#db.deleteFrom('pool_memberships').where('user_id', '=', userId).where('pool_id', '=', p.id).execute();
    await this.#announce(userId);
    return found;
  }

  /**
   * Makes the memberships kept by `source` exactly `grants` (for single sign-on: the pools mapped from the user's
   * claims at each login). Memberships of other sources are left alone, except that a pool named in `grants` takes
   * the new role whoever granted it before (one role per pool). Pools that do not exist are skipped and returned, so
   * a mapping that names a pool not created yet does not fail the login. Duplicate pools keep the higher role.
   */
  async setMemberships(
    userId: string,
    grants: readonly MembershipGrant[],
    source: string,
  ): Promise<{ memberships: Membership[]; unknownPools: string[] }> {
    if (!membershipSourceSchema.safeParse(source).success || source === MANUAL_SOURCE)
      throw new SpyglassError(
        'INVALID_INPUT',
        `membership source ${JSON.stringify(source)} must be a provider name (lower-case letters, digits and _ . : -), not "manual"`,
      );
    await this.#assertUser(userId);
    const wanted = new Map<string, Role>();
    const unknownPools: string[] = [];
    const rank: Record<Role, number> = { viewer: 1, developer: 2, admin: 3 };
    for (const g of grants) {
      const p = await this.#pools.get(g.pool).catch((err: unknown) => {
        if (err instanceof SpyglassError && err.code === 'NOT_FOUND') return null;
        throw err;
      });
      if (p === null) {
        unknownPools.push(g.pool);
        continue;
      }
      const had = wanted.get(p.id);
      if (had === undefined || rank[g.role] > rank[had]) wanted.set(p.id, g.role);
    }
    const now = Date.now();
    await this.#db.transaction().execute(async (trx) => {
      await trx.deleteFrom('pool_memberships').where('user_id', '=', userId).where('source', '=', source).execute();
      if (wanted.size === 0) return;
      await trx
        .deleteFrom('pool_memberships')
        .where('user_id', '=', userId)
        .where('pool_id', 'in', [...wanted.keys()])
        .execute();
      await trx
        .insertInto('pool_memberships')
        .values(
          [...wanted].map(([poolId, role]) => ({
            user_id: userId,
            pool_id: poolId,
            role,
            source,
            created_at: now,
            updated_at: now,
          })),
        )
        .execute();
    });
    await this.#announce(userId);
    return { memberships: await this.list(userId), unknownPools };
  }

  async #assertUser(userId: string): Promise<void> {
    const row = await this.#db.selectFrom('users').select('id').where('id', '=', userId).executeTakeFirst();
    if (row === undefined) throw new SpyglassError('NOT_FOUND', `user ${userId} not found`);
  }
}

import {
  poolPolicySchema,
  storedPoolPolicySchema,
  type Pool,
  type PoolPolicy,
  type PoolPolicyRecord,
  type WirePolicy,
} from '@spyglass/protocol';
import type { Kysely } from 'kysely';
import type { Bus } from '../bus/bus.js';
import { defineTopic } from '../bus/bus.js';
import type { PoolService } from '../pools/service.js';
import type { Database } from '../storage/schema.js';
import { isUniqueViolation } from '../users/service.js';

/** A pool's policy changed: every replica sends it to the pool's agents connected there. */
export interface PolicyChangedMessage {
  poolId: string;
}

export const POLICY_TOPICS = {
  changed: defineTopic<PolicyChangedMessage>('live.policy'),
} as const;

/** The rules of a pool that never had a policy set. */
export const EMPTY_POLICY: PoolPolicy = poolPolicySchema.parse({});

/**
 * Agent policy per pool: stored as JSON with a revision that grows with each change. Setting one publishes
 * {@link POLICY_TOPICS.changed}; the agent gateway sends it to connected agents and puts it in every `welcome`.
 */
export class PolicyService {
  readonly #db: Kysely<Database>;
  readonly #pools: PoolService;
  readonly #bus: Bus;

  constructor(deps: { db: Kysely<Database>; pools: PoolService; bus: Bus }) {
    this.#db = deps.db;
    this.#pools = deps.pools;
    this.#bus = deps.bus;
  }

  async get(idOrName: string): Promise<PoolPolicyRecord> {
    return this.forPool(await this.#pools.get(idOrName));
  }

  async forPool(pool: Pick<Pool, 'id' | 'name'>): Promise<PoolPolicyRecord> {
    const row = await this.#db
      .selectFrom('pool_policies')
      .selectAll()
      .where('pool_id', '=', pool.id)
      .executeTakeFirst();
    if (row === undefined)
      return { pool: pool.name, revision: 0, updatedAt: null, updatedBy: null, policy: EMPTY_POLICY };
    // Stored rules were valid when written; one that no longer parses (a rule this hub version refuses) is dropped
    // to the empty policy rather than blocking every agent's welcome.
    const parsed = storedPoolPolicySchema.safeParse(JSON.parse(row.policy));
    return {
      pool: pool.name,
      revision: Number(row.revision),
      updatedAt: Number(row.updated_at),
      updatedBy: row.updated_by,
      policy: parsed.success ? parsed.data : EMPTY_POLICY,
    };
  }

  /** What an agent of the pool receives. */
  async wireFor(pool: Pick<Pool, 'id' | 'name'>): Promise<WirePolicy> {
    const record = await this.forPool(pool);
    return { pool: record.pool, revision: record.revision, policy: record.policy };
  }

  /** Replace the pool's policy (already validated by the operation's schema) and tell every replica. */
  async set(idOrName: string, policy: PoolPolicy, userId: string | null): Promise<PoolPolicyRecord> {
    const pool = await this.#pools.get(idOrName);
    const now = Date.now();
    const json = JSON.stringify(policy);
    // The revision grows in the database itself, so two changes at once on two replicas still get two revisions.
    const bump = () =>
      this.#db
        .updateTable('pool_policies')
        .set((eb) => ({ revision: eb('revision', '+', 1), policy: json, updated_at: now, updated_by: userId }))
        .where('pool_id', '=', pool.id)
        .executeTakeFirst();
    if (Number((await bump()).numUpdatedRows) === 0) {
      try {
        await this.#db
          .insertInto('pool_policies')
          .values({ pool_id: pool.id, revision: 1, policy: json, updated_at: now, updated_by: userId })
          .execute();
      } catch (err) {
        if (!isUniqueViolation(err)) throw err;
        await bump();
      }
    }
    await this.#bus.publish(POLICY_TOPICS.changed, { poolId: pool.id });
    return this.forPool(pool);
  }
}

import {
  DEFAULT_ACTION_TTL_MS,
  DEFAULT_MAX_HITS,
  MAX_ACTION_TTL_MS,
  SpyglassError,
  type Action,
  type ActionQuery,
  type CreateActionBody,
  type ErrorIssue,
  type Page,
} from '@spyglass/protocol';
import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import { newId } from '../auth/secrets.js';
import type { AgentStore } from '../agents/store.js';
import type { Bus } from '../bus/bus.js';
import { LIVE_TOPICS, type ActionEvent } from '../gateway/topics.js';
import type { PoolService } from '../pools/service.js';
import type { DialectName } from '../storage/db.js';
import type { Database } from '../storage/schema.js';
import { inChunks } from '../hits/cursor.js';
import { keysetPage } from '../storage/paging.js';
import { AgentStatusStore } from './agent-statuses.js';
import { toAction, toRecord, type ActionRecord } from './records.js';

export { actionMatches, toAction, toAgentAction } from './records.js';
export type { ActionRecord } from './records.js';
export type { StatusRow } from './agent-statuses.js';

const AGENTS_IN_GET = 100;

/**
 * Actions: create, read, delete and lifecycle (expire, complete); the per-agent statuses agents report are in
 * `statuses`. Every change
 * of an action's life is announced on the bus (`live.actions`) by this service itself, so agents on every replica get
 * their new sets at once whoever made the change: a REST call, an MCP tool, a trace-based test or a timer.
 */
export class ActionService {
  readonly #db: Kysely<Database>;
  readonly #pools: PoolService;
  readonly #agents: AgentStore;
  readonly #bus: Bus;
  /** What each agent reported about each action. */
  readonly statuses: AgentStatusStore;

  constructor(deps: {
    db: Kysely<Database>;
    dialect: DialectName;
    pools: PoolService;
    agents: AgentStore;
    bus: Bus;
    log: Logger;
  }) {
    this.#db = deps.db;
    this.#pools = deps.pools;
    this.#agents = deps.agents;
    this.#bus = deps.bus;
    this.statuses = new AgentStatusStore(deps.db, deps.dialect, deps.log);
  }

  /** Tells every replica an action changed (its agents' sets are recomputed; live streams are told). */
  async #announce(action: ActionRecord, event: ActionEvent): Promise<void> {
    await this.#bus.publish(LIVE_TOPICS.actions, {
      poolId: action.poolId,
      actionId: action.id,
      event,
      service: action.target.service ?? null,
    });
  }

  /** Validates and stores a new action, then announces it: matching agents receive it at once. */
  async create(body: CreateActionBody, createdBy: string | null, now: number): Promise<ActionRecord> {
    const { target, maxHits, expiresAt, ...spec } = body;
    const issues: ErrorIssue[] = [];
    const pool = await this.#pools.get(target.pool).catch((err: unknown) => {
      if (err instanceof SpyglassError && err.code === 'NOT_FOUND') return null;
      throw err;
    });
    if (pool === null) issues.push({ path: 'body.target.pool', message: `unknown pool ${target.pool}` });
    if (pool !== null && target.agentIds !== undefined && target.agentIds.length > 0) {
      const found = await this.#agents.existingInPool(pool.id, target.agentIds);
      target.agentIds.forEach((id, i) => {
        if (!found.has(id))
          issues.push({ path: `body.target.agentIds.${i}`, message: `unknown agent ${id} in pool ${target.pool}` });
      });
    }
    const expires = expiresAt ?? now + DEFAULT_ACTION_TTL_MS;
    if (expires <= now) issues.push({ path: 'body.expiresAt', message: 'must be in the future' });
    else if (expires > now + MAX_ACTION_TTL_MS)
      issues.push({ path: 'body.expiresAt', message: 'must be at most 7 days ahead' });
    if (issues.length > 0 || pool === null) {
      throw new SpyglassError('INVALID_INPUT', issues.map((i) => `${i.path}: ${i.message}`).join('; '), { issues });
    }
    const record: ActionRecord = {
      id: newId(),
      poolId: pool.id,
      kind: spec.kind,
      spec: spec,
      target: { ...target, pool: pool.name },
      maxHits: maxHits ?? DEFAULT_MAX_HITS[spec.kind],
      hitCount: 0,
      expiresAt: expires,
      state: 'active',
      createdAt: now,
      createdBy,
      endedAt: null,
    };
    await this.#db
      .insertInto('actions')
      .values({
        id: record.id,
        pool_id: record.poolId,
        kind: record.kind,
        spec: JSON.stringify(record.spec),
        target_agent_ids: target.agentIds === undefined ? null : JSON.stringify(target.agentIds),
        target_tags: target.tags === undefined ? null : JSON.stringify(target.tags),
        target_service: target.service ?? null,
        max_hits: record.maxHits,
        expires_at: record.expiresAt,
        state: 'active',
        created_at: now,
        created_by: createdBy,
        ended_at: null,
      })
      .execute();
    await this.#announce(record, 'created');
    return record;
  }

  #base() {
    return this.#db
      .selectFrom('actions')
      .innerJoin('pools', 'pools.id', 'actions.pool_id')
      .selectAll('actions')
      .select('pools.name as pool_name');
  }

  async record(id: string): Promise<ActionRecord> {
    const row = await this.#base().where('actions.id', '=', id).executeTakeFirst();
    if (row === undefined) throw new SpyglassError('NOT_FOUND', `action ${id} not found`);
    return toRecord(row);
  }

  async get(id: string): Promise<Action> {
    const record = await this.record(id);
    const [counts, agents] = await Promise.all([this.statuses.counts([id]), this.statuses.page(id, AGENTS_IN_GET)]);
    return { ...toAction(record, counts.get(id) ?? {}), agents: agents.items };
  }

  /**
   * Actions matching the query, newest first. `visiblePools`: only actions of these pools (the caller's memberships),
   * filtered in the query so pages stay full; `null` for every pool.
   */
  async list(query: ActionQuery, visiblePools: readonly string[] | null = null): Promise<Page<Action>> {
    if (visiblePools !== null && visiblePools.length === 0) return { items: [], nextCursor: null };
    let q = this.#base();
    if (visiblePools !== null) q = q.where('actions.pool_id', 'in', [...visiblePools]);
    if (query.state !== undefined) q = q.where('actions.state', '=', query.state);
    if (query.kind !== undefined) q = q.where('actions.kind', '=', query.kind);
    if (query.service !== undefined) q = q.where('actions.target_service', '=', query.service);
    if (query.pool !== undefined) {
      const pool = query.pool;
      q = q.where((eb) => eb.or([eb('pools.id', '=', pool), eb('pools.name', '=', pool)]));
    }
    const order = [
      ['actions.created_at', 'desc', 'number'],
      ['actions.id', 'desc', 'string'],
    ] as const;
    const page = await keysetPage(q, order, query.cursor, query.limit);
    const records = page.items.map(toRecord);
    const counts = await this.statuses.counts(records.map((r) => r.id));
    return { items: records.map((r) => toAction(r, counts.get(r.id) ?? {})), nextCursor: page.nextCursor };
  }

  /** Removes an action with its hits and announces it: agents drop the probe at once. */
  async delete(id: string): Promise<ActionRecord> {
    const record = await this.record(id);
    await this.#db.deleteFrom('actions').where('id', '=', id).execute();
    await this.#announce(record, 'deleted');
    return record;
  }

  /** The actions among these ids that still exist, by id. */
  async recordsByIds(ids: readonly string[]): Promise<Map<string, ActionRecord>> {
    const out = new Map<string, ActionRecord>();
    await inChunks(ids, 200, async (chunk) => {
      for (const row of await this.#base().where('actions.id', 'in', chunk).execute()) out.set(row.id, toRecord(row));
    });
    return out;
  }

  /** Active, unexpired actions of these pools. */
  async activeForPools(poolIds: readonly string[], now: number): Promise<ActionRecord[]> {
    if (poolIds.length === 0) return [];
    const out: ActionRecord[] = [];
    await inChunks(poolIds, 200, async (chunk) => {
      const rows = await this.#base()
        .where('actions.state', '=', 'active')
        .where('actions.expires_at', '>', now)
        .where('actions.pool_id', 'in', chunk)
        .orderBy('actions.created_at', 'desc')
        .execute();
      out.push(...rows.map(toRecord));
    });
    return out;
  }

  /** Moves active actions past their expiry to `expired` and announces each. Returns those this call moved. */
  async expireDue(now: number): Promise<ActionRecord[]> {
    const due = await this.#base()
      .where('actions.state', '=', 'active')
      .where('actions.expires_at', '<=', now)
      .limit(1000)
      .execute();
    const moved: ActionRecord[] = [];
    for (const row of due) {
      const r = await this.#db
        .updateTable('actions')
        .set({ state: 'expired', ended_at: now })
        .where('id', '=', row.id)
        .where('state', '=', 'active')
        .executeTakeFirst();
      if (Number(r.numUpdatedRows) > 0) moved.push({ ...toRecord(row), state: 'expired', endedAt: now });
    }
    for (const a of moved) await this.#announce(a, 'expired');
    return moved;
  }

  /**
   * Counts hits against each action's `maxHits` (atomically, so replicas share one count) and says how many of each
   * batch may be stored. Actions that reach their limit move to `completed` and are announced; those this call moved
   * are returned.
   */
  async reserveHits(
    counts: ReadonlyMap<string, number>,
    now: number,
  ): Promise<{ accepted: Map<string, number>; completed: ActionRecord[] }> {
    const accepted = new Map<string, number>();
    const completed: ActionRecord[] = [];
    const touched: string[] = [];
    for (const [id, n] of counts) {
      const r = await this.#db
        .updateTable('actions')
        .set((eb) => ({ hit_count: eb('hit_count', '+', n) }))
        .where('id', '=', id)
        .where('state', '=', 'active')
        .executeTakeFirst();
      if (Number(r.numUpdatedRows) > 0) touched.push(id);
      else accepted.set(id, 0);
    }
    if (touched.length === 0) return { accepted, completed };
    const rows = await this.#base().where('actions.id', 'in', touched).execute();
    for (const row of rows) {
      const n = counts.get(row.id) ?? 0;
      const total = Number(row.hit_count);
      const max = Number(row.max_hits);
      accepted.set(row.id, Math.max(0, Math.min(n, max - (total - n))));
      if (total >= max) {
        const r = await this.#db
          .updateTable('actions')
          .set({ state: 'completed', ended_at: now })
          .where('id', '=', row.id)
          .where('state', '=', 'active')
          .executeTakeFirst();
        if (Number(r.numUpdatedRows) > 0) completed.push({ ...toRecord(row), state: 'completed', endedAt: now });
      }
    }
    // Announced without waiting: a slow bus must not hold back the hits being stored.
    for (const a of completed) void this.#announce(a, 'completed');
    return { accepted, completed };
  }

  /** Removes actions (and, by cascade, their hits) that ended before `before`. */
  async removeEnded(before: number): Promise<number> {
    const r = await this.#db
      .deleteFrom('actions')
      .where('state', '!=', 'active')
      .where('ended_at', '<', before)
      .executeTakeFirst();
    return Number(r.numDeletedRows);
  }
}

import {
  SpyglassError,
  type Agent,
  type AgentHealth,
  type AgentQuery,
  type HelloFrame,
  type Page,
  type Pool,
} from '@spyglass/protocol';
import { sql, type Kysely, type Selectable } from 'kysely';
import { hashSecret, newId, newSecret, secretMatches } from '../auth/secrets.js';
import type { Bus } from '../bus/bus.js';
import { LIVE_TOPICS } from '../gateway/topics.js';
import type { AgentsTable, Database } from '../storage/schema.js';
import { isUniqueViolation } from '../users/service.js';
import { inChunks, parseJson } from '../hits/cursor.js';
import { keysetPage } from '../storage/paging.js';

/** What the hub keeps in memory about a connected agent: enough to match actions. */
export interface AgentIdentity {
  id: string;
  poolId: string;
  service: string;
  tags: Record<string, string>;
}

export interface HitCounts {
  logs: number;
  snapshots: number;
  metrics: number;
  dropped: number;
}

/** What a hello registers: the agent and its session credential, or a refusal (see `AgentStore.register`). */
export type Registration =
  | { identity: AgentIdentity; created: boolean; session: string; refused?: undefined; limit?: undefined }
  | { refused: string; agentId: string; limit?: undefined }
  /** The pool is full (`maxAgentsPerPool`). */
  | { refused: string; limit: true };

type AgentRow = Selectable<AgentsTable> & { pool_name: string };

const HEALTH_COUNTERS = ['cpuMs', 'hits', 'hookErrors', 'throttles', 'dropped', 'actions'] as const;

/** The counters of an agent's heartbeat `stats` the hub keeps (absent or invalid ones read as 0). */
export function healthFrom(stats: Readonly<Record<string, number>>, at: number): AgentHealth {
  const h = { at } as AgentHealth;
  for (const k of HEALTH_COUNTERS) {
    const v = stats[k];
    // Any finite number passes the frame schema; what is kept must be a safe, answerable integer (1e300 made every
    // agents list a 500).
    const n = typeof v === 'number' && Number.isFinite(v) && v >= 0 ? Math.min(v, Number.MAX_SAFE_INTEGER) : 0;
    h[k] = k === 'cpuMs' ? Math.round(n * 1000) / 1000 : Math.floor(n);
  }
  return h;
}

function toHealth(json: string | null, at: number | null): AgentHealth | null {
  if (json === null || at === null) return null;
  return healthFrom(parseJson<Record<string, number>>(json, {}), Number(at));
}

/**
 * Registered agents. A row is created on an agent's first `hello` (keyed by pool + instance id) and updated on every
 * reconnect. `status` is `connected` while a hub replica holds its socket; because a replica can die without
 * saying so, readers also treat a row as disconnected when `last_seen_at` is older than `staleAfterMs`.
 */
export class AgentStore {
  readonly #db: Kysely<Database>;
  readonly #staleAfterMs: number;
  readonly #bus: Bus;
  readonly #maxAgentsPerPool: number;
  /** New registrations of each pool, one at a time on this replica, so a burst cannot count past the limit. */
  readonly #joining = new Map<string, Promise<unknown>>();

  constructor(db: Kysely<Database>, staleAfterMs: number, bus: Bus, options: { maxAgentsPerPool?: number } = {}) {
    this.#db = db;
    this.#staleAfterMs = staleAfterMs;
    this.#bus = bus;
    this.#maxAgentsPerPool = options.maxAgentsPerPool ?? Number.MAX_SAFE_INTEGER;
  }

  /** Runs `fn` after the pool's earlier new registrations on this replica. */
  async #oneAtATime<T>(poolId: string, fn: () => Promise<T>): Promise<T> {
    const before = this.#joining.get(poolId) ?? Promise.resolve();
    const run = before.then(fn, fn);
    const tail = run.catch(() => undefined);
    this.#joining.set(poolId, tail);
    try {
      return await run;
    } finally {
      if (this.#joining.get(poolId) === tail) this.#joining.delete(poolId);
    }
  }

  /** Agents registered in the pool. */
  async countInPool(poolId: string): Promise<number> {
    const r = await this.#db
      .selectFrom('agents')
      .select((eb) => eb.fn.countAll<number | string | bigint>().as('n'))
      .where('pool_id', '=', poolId)
      .executeTakeFirstOrThrow();
    return Number(r.n);
  }

  /**
   * Registers the agent of a `hello`, or updates it on a reconnect. An instance id the pool already knows is that
   * agent only when the hello presents its session credential: without it (or with another one) nothing is written
   * and the answer is `refused` with the reason. A new agent, and one registered before credentials existed, gets a
   * new credential (`session`, to send in its welcome); a reconnect keeps the one it presented.
   */
  async register(
    pool: Pool,
    hello: HelloFrame,
    at: { connectionId: string; replicaId: string; now: number },
  ): Promise<Registration> {
    const fields = {
      service_name: hello.service.name,
      service_version: hello.service.version ?? null,
      service_environment: hello.service.environment ?? null,
      tags: JSON.stringify(hello.tags),
      hostname: hello.hostname,
      pid: hello.pid,
      thread_id: hello.threadId ?? 0,
      runtime_name: hello.runtime.name,
      runtime_version: hello.runtime.version,
      agent_version: hello.agentVersion,
      address: hello.address ?? null,
      status: 'connected' as const,
      connection_id: at.connectionId,
      replica_id: at.replicaId,
      connected_at: at.now,
      last_seen_at: at.now,
      disconnected_at: null,
    };
    const existing = () =>
      this.#db
        .selectFrom('agents')
        .select(['id', 'session_hash'])
        .where('pool_id', '=', pool.id)
        .where('instance_id', '=', hello.instanceId)
        .executeTakeFirst();
    const identity = (id: string): AgentIdentity => ({
      id,
      poolId: pool.id,
      service: hello.service.name,
      tags: hello.tags,
    });

    let row = await existing();
    if (row === undefined) {
      const joined = await this.#oneAtATime(pool.id, async () => {
        // A burst over several replicas may pass the limit by what they register at the same moment.
        if ((await this.countInPool(pool.id)) >= this.#maxAgentsPerPool) return 'full' as const;
        const id = newId();
        const session = newSecret('sga');
        try {
          await this.#db
            .insertInto('agents')
            .values({
              id,
              pool_id: pool.id,
              instance_id: hello.instanceId,
              first_seen_at: at.now,
              session_hash: hashSecret(session),
              ...fields,
            })
            .execute();
        } catch (err) {
          if (!isUniqueViolation(err)) throw err;
          return undefined; // the same instance registered on another replica at the same moment
        }
        await this.#replaceTags(id, hello.tags, false);
        return { identity: identity(id), created: true, session };
      });
      if (joined === 'full')
        return { refused: `the pool has ${this.#maxAgentsPerPool} agents, the most it may have`, limit: true };
      if (joined !== undefined) return joined;
      row = await existing();
      if (row === undefined) throw new Error(`agent ${hello.instanceId} was registered and is gone`);
    }
    let session = hello.session;
    if (row.session_hash !== null) {
      if (session === undefined) return { refused: 'missing session credential', agentId: row.id };
      if (!secretMatches(session, row.session_hash)) return { refused: 'wrong session credential', agentId: row.id };
      await this.#db.updateTable('agents').set(fields).where('id', '=', row.id).execute();
    } else {
      // An agent registered before credentials existed gets one now, unless another connection got it first.
      session = newSecret('sga');
      const claimed = await this.#db
        .updateTable('agents')
        .set({ ...fields, session_hash: hashSecret(session) })
        .where('id', '=', row.id)
        .where('session_hash', 'is', null)
        .executeTakeFirst();
      if (Number(claimed.numUpdatedRows) === 0)
        return { refused: 'session credential issued to another connection', agentId: row.id };
    }
    await this.#replaceTags(row.id, hello.tags, true);
    return { identity: identity(row.id), created: false, session };
  }

  async #replaceTags(agentId: string, tags: Record<string, string>, clear: boolean): Promise<void> {
    if (clear) await this.#db.deleteFrom('agent_tags').where('agent_id', '=', agentId).execute();
    const rows = Object.entries(tags).map(([tag_key, tag_value]) => ({ agent_id: agentId, tag_key, tag_value }));
    if (rows.length > 0) await this.#db.insertInto('agent_tags').values(rows).execute();
  }

  /** Marks the agent disconnected, unless a newer connection already took it over. */
  async markDisconnected(agentId: string, connectionId: string, lastSeenAt: number, now: number): Promise<void> {
    await this.#db
      .updateTable('agents')
      .set({ status: 'disconnected', disconnected_at: now, last_seen_at: lastSeenAt, connection_id: null })
      .where('id', '=', agentId)
      .where('connection_id', '=', connectionId)
      .execute();
  }

  /** Marks every agent connected through this replica disconnected (shutdown). */
  async markReplicaDisconnected(replicaId: string, now: number): Promise<void> {
    await this.#db
      .updateTable('agents')
      .set({ status: 'disconnected', disconnected_at: now, connection_id: null })
      .where('replica_id', '=', replicaId)
      .where('status', '=', 'connected')
      .execute();
  }

  /** Records that these agents are alive. Returns the ids that no longer exist (deleted agent or pool). */
  async touch(agentIds: readonly string[], now: number): Promise<string[]> {
    const missing: string[] = [];
    await inChunks(agentIds, 500, async (chunk) => {
      const result = await this.#db
        .updateTable('agents')
        .set({ last_seen_at: now })
        .where('id', 'in', chunk)
        .executeTakeFirst();
      if (Number(result.numUpdatedRows) >= chunk.length) return;
      const found = new Set(
        (await this.#db.selectFrom('agents').select('id').where('id', 'in', chunk).execute()).map((r) => r.id),
      );
      for (const id of chunk) if (!found.has(id)) missing.push(id);
    });
    return missing;
  }

  async addCounts(deltas: ReadonlyMap<string, HitCounts>): Promise<void> {
    for (const [agentId, d] of deltas) {
      await this.#db
        .updateTable('agents')
        .set((eb) => ({
          log_hits: eb('log_hits', '+', d.logs),
          snapshot_hits: eb('snapshot_hits', '+', d.snapshots),
          metric_hits: eb('metric_hits', '+', d.metrics),
          dropped_hits: eb('dropped_hits', '+', d.dropped),
        }))
        .where('id', '=', agentId)
        .execute();
    }
  }

  /** Stores the health counters of the latest heartbeat of each agent (one update per agent, in one transaction). */
  async setHealth(reports: ReadonlyMap<string, AgentHealth>): Promise<void> {
    if (reports.size === 0) return;
    await this.#db.transaction().execute(async (trx) => {
      for (const [agentId, { at, ...counters }] of reports) {
        await trx
          .updateTable('agents')
          .set({ health: JSON.stringify(counters), health_at: at })
          .where('id', '=', agentId)
          .execute();
      }
    });
  }

  #base() {
    return this.#db
      .selectFrom('agents')
      .innerJoin('pools', 'pools.id', 'agents.pool_id')
      .selectAll('agents')
      .select('pools.name as pool_name');
  }

  /**
   * Agents matching the query. `visiblePools`: only agents of these pools (the caller's memberships), filtered in the
   * query so pages stay full; `null` for every pool.
   */
  async list(query: AgentQuery, now: number, visiblePools: readonly string[] | null = null): Promise<Page<Agent>> {
    const cutoff = now - this.#staleAfterMs;
    if (visiblePools !== null && visiblePools.length === 0) return { items: [], nextCursor: null };
    let q = this.#base();
    if (visiblePools !== null) q = q.where('agents.pool_id', 'in', [...visiblePools]);
    if (query.pool !== undefined) {
      const pool = query.pool;
      q = q.where((eb) => eb.or([eb('pools.id', '=', pool), eb('pools.name', '=', pool)]));
    }
    if (query.service !== undefined) q = q.where('agents.service_name', '=', query.service);
    if (query.status === 'connected')
      q = q.where('agents.status', '=', 'connected').where('agents.last_seen_at', '>=', cutoff);
    if (query.status === 'disconnected') {
      q = q.where((eb) => eb.or([eb('agents.status', '=', 'disconnected'), eb('agents.last_seen_at', '<', cutoff)]));
    }
    const tags = query.tag === undefined ? [] : Array.isArray(query.tag) ? query.tag : [query.tag];
    for (const tag of tags) {
      const eq = tag.indexOf('=');
      const key = tag.slice(0, eq);
      const value = tag.slice(eq + 1);
      q = q.where((eb) =>
        eb.exists(
          eb
            .selectFrom('agent_tags')
            .select(sql<number>`1`.as('one'))
            .whereRef('agent_tags.agent_id', '=', 'agents.id')
            .where('agent_tags.tag_key', '=', key)
            .where('agent_tags.tag_value', '=', value),
        ),
      );
    }
    const order = [
      ['agents.service_name', 'asc', 'string'],
      ['agents.id', 'asc', 'string'],
    ] as const;
    const page = await keysetPage(q, order, query.cursor, query.limit);
    return { items: page.items.map((r) => this.#toAgent(r, cutoff)), nextCursor: page.nextCursor };
  }

  async get(id: string, now: number): Promise<Agent> {
    const row = await this.#base().where('agents.id', '=', id).executeTakeFirst();
    if (row === undefined) throw new SpyglassError('NOT_FOUND', `agent ${id} not found`);
    return this.#toAgent(row, now - this.#staleAfterMs);
  }

  /** Ids of the given agents that belong to the pool. */
  async existingInPool(poolId: string, ids: readonly string[]): Promise<Set<string>> {
    const found = new Set<string>();
    await inChunks(ids, 500, async (chunk) => {
      const rows = await this.#db
        .selectFrom('agents')
        .select('id')
        .where('pool_id', '=', poolId)
        .where('id', 'in', chunk)
        .execute();
      for (const r of rows) found.add(r.id);
    });
    return found;
  }

  /**
   * Deletes the agents not seen since `before` (disconnected that long: a connected agent's `last_seen_at` is written
   * every heartbeat interval), in batches so no statement holds a long lock. Returns how many went.
   */
  async pruneNotSeenSince(before: number, batch = 1000): Promise<number> {
    let deleted = 0;
    for (;;) {
      const ids = (
        await this.#db.selectFrom('agents').select('id').where('last_seen_at', '<', before).limit(batch).execute()
      ).map((r) => r.id);
      if (ids.length === 0) return deleted;
      const r = await this.#db
        .deleteFrom('agents')
        .where('id', 'in', ids)
        .where('last_seen_at', '<', before)
        .executeTakeFirst();
      deleted += Number(r.numDeletedRows);
      if (ids.length < batch) return deleted;
    }
  }

  /** Forgets an agent; the replica holding its socket closes it (4005). */
  async delete(id: string, now: number): Promise<Agent> {
    const agent = await this.get(id, now);
    await this.#db.deleteFrom('agents').where('id', '=', id).execute();
    await this.#bus.publish(LIVE_TOPICS.agents, { type: 'revoked', agentId: agent.id });
    return agent;
  }

  #toAgent(r: AgentRow, cutoff: number): Agent {
    return {
      id: r.id,
      poolId: r.pool_id,
      poolName: r.pool_name,
      instanceId: r.instance_id,
      service: { name: r.service_name, version: r.service_version, environment: r.service_environment },
      tags: parseJson<Record<string, string>>(r.tags, {}),
      hostname: r.hostname,
      pid: Number(r.pid),
      threadId: Number(r.thread_id),
      runtime: { name: r.runtime_name, version: r.runtime_version },
      agentVersion: r.agent_version,
      address: r.address,
      status: r.status === 'connected' && Number(r.last_seen_at) >= cutoff ? 'connected' : 'disconnected',
      firstSeenAt: Number(r.first_seen_at),
      connectedAt: Number(r.connected_at),
      lastSeenAt: Number(r.last_seen_at),
      disconnectedAt: r.disconnected_at === null ? null : Number(r.disconnected_at),
      hits: {
        logs: Number(r.log_hits),
        snapshots: Number(r.snapshot_hits),
        metrics: Number(r.metric_hits),
        dropped: Number(r.dropped_hits),
      },
      health: toHealth(r.health, r.health_at),
    };
  }
}

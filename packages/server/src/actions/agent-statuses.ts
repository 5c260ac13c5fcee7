import type { ActionStatus, AgentActionStatus, Page } from '@spyglass/protocol';
import { sql, type Insertable, type Kysely, type Selectable } from 'kysely';
import type { Logger } from 'pino';
import { inChunks, parseJson } from '../hits/cursor.js';
import type { DialectName } from '../storage/db.js';
import { keysetPage } from '../storage/paging.js';
import type { ActionAgentsTable, Database } from '../storage/schema.js';
import { upsert } from '../storage/upsert.js';

/** Status rows written by agents, latest wins. */
export interface StatusRow {
  actionId: string;
  agentId: string;
  status: ActionStatus;
}

/** What each agent reported about each action (`action_agents`): state, method, reason, location and hits. */
export class AgentStatusStore {
  readonly #db: Kysely<Database>;
  readonly #dialect: DialectName;
  readonly #log: Logger;

  constructor(db: Kysely<Database>, dialect: DialectName, log: Logger) {
    this.#db = db;
    this.#dialect = dialect;
    this.#log = log;
  }

  /** How many agents report each state, per action. */
  async counts(ids: readonly string[]): Promise<Map<string, Record<string, number>>> {
    const out = new Map<string, Record<string, number>>();
    if (ids.length === 0) return out;
    const rows = await this.#db
      .selectFrom('action_agents')
      .select(['action_id', 'state', (eb) => eb.fn.countAll<number>().as('n')])
      .where('action_id', 'in', ids)
      .groupBy(['action_id', 'state'])
      .execute();
    for (const r of rows) {
      const c = out.get(r.action_id) ?? {};
      c[r.state] = Number(r.n);
      out.set(r.action_id, c);
    }
    return out;
  }

  /** A page of one action's per-agent statuses, by agent id. */
  async page(actionId: string, limit: number, cursor?: string): Promise<Page<AgentActionStatus>> {
    const q = this.#db.selectFrom('action_agents').selectAll().where('action_id', '=', actionId);
    const page = await keysetPage(q, [['agent_id', 'asc', 'string']], cursor, limit);
    return { items: page.items.map(toAgentStatus), nextCursor: page.nextCursor };
  }

  /** Upserts agent-reported statuses (one statement per chunk; on a failed chunk, row by row). */
  async upsertStatuses(rows: readonly StatusRow[]): Promise<void> {
    await inChunks(rows, 200, async (chunk) => {
      try {
        await this.#upsert(chunk.map(statusValues));
      } catch {
        for (const row of chunk) {
          // The action or agent was deleted meanwhile: its status has nowhere to go.
          await this.#upsert([statusValues(row)]).catch((err: unknown) => this.#log.debug({ err }, 'status dropped'));
        }
      }
    });
  }

  #upsert(values: ReturnType<typeof statusValues>[]) {
    return upsert(this.#db, this.#dialect, 'action_agents', values, {
      key: ['action_id', 'agent_id'],
      set: { state: 'inserted', method: 'inserted', reason: 'inserted', location: 'inserted', at: 'inserted' },
    });
  }

  /** Adds hits per (action, agent); creates the status row (`active`) when the agent never sent one. */
  async addAgentHits(
    deltas: ReadonlyMap<string, { actionId: string; agentId: string; hits: number }>,
    now: number,
  ): Promise<void> {
    for (const d of deltas.values()) {
      const values = {
        action_id: d.actionId,
        agent_id: d.agentId,
        state: 'active',
        method: null,
        reason: null,
        location: null,
        at: now,
        hits: d.hits,
      };
      await upsert(this.#db, this.#dialect, 'action_agents', values, {
        key: ['action_id', 'agent_id'],
        set: { hits: ({ current, inserted }) => sql`${current('hits')} + ${inserted('hits')}` },
      }).catch((err: unknown) => this.#log.debug({ err }, 'per-agent hit count dropped'));
    }
  }
}

function statusValues(row: StatusRow): Insertable<ActionAgentsTable> {
  const s = row.status;
  return {
    action_id: row.actionId,
    agent_id: row.agentId,
    state: s.state,
    method: s.method ?? null,
    reason: s.reason ?? null,
    location: s.location === undefined ? null : JSON.stringify(s.location),
    at: s.at,
    hits: 0,
  };
}

function toAgentStatus(row: Selectable<ActionAgentsTable>): AgentActionStatus {
  return {
    agentId: row.agent_id,
    state: row.state as AgentActionStatus['state'],
    method: row.method as AgentActionStatus['method'],
    reason: row.reason,
    location: parseJson<AgentActionStatus['location']>(row.location, null),
    at: Number(row.at),
    hits: Number(row.hits),
  };
}

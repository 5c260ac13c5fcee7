import type { HitQuery, LogHit, Page, StoredLog } from '@spyglass/protocol';
import { sql, type Insertable, type Kysely, type Selectable } from 'kysely';
import type { DialectName } from '../storage/db.js';
import { keysetPage } from '../storage/paging.js';
import type { Database, LogHitsTable } from '../storage/schema.js';
import { inChunks } from './cursor.js';
import { hitFilter } from './hit-filter.js';

type LogRow = Omit<Insertable<LogHitsTable>, 'id'>;

/** Log lines of actions, written in batches and read a page at a time, newest first. */
export class LogStore {
  readonly #db: Kysely<Database>;
  readonly #dialect: DialectName;
  readonly #logsPerAction: number;
  readonly #written: (actionId: string) => void;

  /** `written` hears of every action whose lines were written (retention trims them later). */
  constructor(db: Kysely<Database>, dialect: DialectName, logsPerAction: number, written: (actionId: string) => void) {
    this.#db = db;
    this.#dialect = dialect;
    this.#logsPerAction = logsPerAction;
    this.#written = written;
  }

  /**
   * Stores log lines of any number of agents and actions, oldest first, in as few statements as possible. Lines that
   * retention would remove at once (more than `logsPerAction` newer lines of the same action are in this batch) are
   * not written at all: every line written later gets a higher id, so they could never be among the newest.
   */
  async insertBatch(batch: readonly { agentId: string; log: LogHit }[]): Promise<void> {
    if (batch.length === 0) return;
    const keep = this.#logsPerAction;
    const perAction = new Map<string, number>();
    for (const { log } of batch) perAction.set(log.actionId, (perAction.get(log.actionId) ?? 0) + 1);
    const rows: LogRow[] = [];
    for (const { agentId, log: l } of batch) {
      const left = perAction.get(l.actionId)!;
      perAction.set(l.actionId, left - 1);
      if (left > keep) continue; // `keep` newer lines of this action follow in the same batch
      rows.push({
        action_id: l.actionId,
        agent_id: agentId,
        at: l.at,
        level: l.level,
        message: l.message,
        trace_id: l.traceId ?? null,
        span_id: l.spanId ?? null,
      });
    }
    await this.#insertRows(rows);
    for (const actionId of perAction.keys()) this.#written(actionId);
  }

  /** All rows or none: several statements run in one transaction. */
  async #insertRows(rows: readonly LogRow[]): Promise<void> {
    const size = this.#dialect === 'mysql' ? 250 : 2000;
    if (rows.length <= size) return this.#insertChunk(this.#db, rows);
    await this.#db.transaction().execute((trx) => inChunks(rows, size, (chunk) => this.#insertChunk(trx, chunk)));
  }

  async #insertChunk(db: Kysely<Database>, rows: readonly LogRow[]): Promise<void> {
    if (rows.length === 0) return;
    if (this.#dialect === 'mysql') {
      await db.insertInto('log_hits').values(rows).execute();
      return;
    }
    // One short statement with the batch as a JSON parameter: far cheaper to prepare than a 250-row VALUES list.
    const json = JSON.stringify(rows);
    const source =
      this.#dialect === 'postgres'
        ? sql`select * from json_to_recordset(${json}::json) as r(action_id text, agent_id text, at bigint, level text, message text, trace_id text, span_id text)`
        : sql`select value ->> '$.action_id', value ->> '$.agent_id', value ->> '$.at', value ->> '$.level', value ->> '$.message', value ->> '$.trace_id', value ->> '$.span_id' from json_each(${json})`;
    await sql`insert into log_hits (action_id, agent_id, at, level, message, trace_id, span_id) ${source}`.execute(db);
  }

  async page(actionId: string, q: HitQuery): Promise<Page<StoredLog>> {
    const query = this.#db.selectFrom('log_hits').selectAll().where(hitFilter(actionId, q));
    const page = await keysetPage(query, [['id', 'desc', 'number']], q.cursor, q.limit);
    return { items: page.items.map(toStoredLog), nextCursor: page.nextCursor };
  }

  /** Log lines recorded inside a trace, oldest first, at most `limit`. */
  async byTrace(traceId: string, limit: number, pools: readonly string[] | null = null): Promise<StoredLog[]> {
    let query = this.#db.selectFrom('log_hits').selectAll().where('trace_id', '=', traceId);
    if (pools !== null)
      query = query.where('action_id', 'in', (eb) =>
        eb
          .selectFrom('actions')
          .select('actions.id')
          .where('actions.pool_id', 'in', [...pools]),
      );
    const rows = await query.orderBy('at').orderBy('id').limit(limit).execute();
    return rows.map(toStoredLog);
  }
}

function toStoredLog(r: Selectable<LogHitsTable>): StoredLog {
  return {
    id: String(r.id),
    actionId: r.action_id,
    agentId: r.agent_id,
    at: Number(r.at),
    level: r.level as StoredLog['level'],
    message: r.message,
    traceId: r.trace_id,
    spanId: r.span_id,
  };
}

import {
  SpyglassError,
  type HitQuery,
  type Page,
  type SnapshotHit,
  type SnapshotSummary,
  type StoredSnapshot,
} from '@spyglass/protocol';
import type { Kysely, Selectable } from 'kysely';
import type { DialectName } from '../storage/db.js';
import { keysetPage } from '../storage/paging.js';
import type { Database, SnapshotHitsTable } from '../storage/schema.js';
import { parseJson } from './cursor.js';
import { hitFilter } from './hit-filter.js';

/** Captured snapshots: a summary for lists (top frame, frame count) and the frames and watches for one at a time. */
export class SnapshotStore {
  readonly #db: Kysely<Database>;
  readonly #dialect: DialectName;
  readonly #written: (actionId: string) => void;

  /** `written` hears of every action a snapshot was stored for (retention trims them later). */
  constructor(db: Kysely<Database>, dialect: DialectName, written: (actionId: string) => void) {
    this.#db = db;
    this.#dialect = dialect;
    this.#written = written;
  }

  /** Stores snapshots one by one (each needs its id back) and returns their summaries. */
  async insert(agentId: string, snapshots: readonly SnapshotHit[]): Promise<SnapshotSummary[]> {
    const out: SnapshotSummary[] = [];
    for (const s of snapshots) {
      const summary = snapshotSummary(s, '', agentId);
      const values = {
        action_id: s.actionId,
        agent_id: agentId,
        at: s.at,
        summary: JSON.stringify({ top: summary.top, frameCount: summary.frameCount }),
        data: JSON.stringify({ frames: s.frames, watches: s.watches }),
        truncated: s.truncated ? 1 : 0,
        trace_id: s.traceId ?? null,
        span_id: s.spanId ?? null,
      };
      let id: number;
      if (this.#dialect === 'postgres') {
        id = (await this.#db.insertInto('snapshot_hits').values(values).returning('id').executeTakeFirstOrThrow()).id;
      } else {
        id = Number((await this.#db.insertInto('snapshot_hits').values(values).executeTakeFirstOrThrow()).insertId);
      }
      out.push({ ...summary, id: String(id) });
      this.#written(s.actionId);
    }
    return out;
  }

  async page(actionId: string, q: HitQuery): Promise<Page<SnapshotSummary>> {
    const query = this.#db
      .selectFrom('snapshot_hits')
      .select(['id', 'action_id', 'agent_id', 'at', 'summary', 'truncated', 'trace_id', 'span_id'])
      .where(hitFilter(actionId, q));
    const page = await keysetPage(query, [['id', 'desc', 'number']], q.cursor, q.limit);
    return { items: page.items.map(toSummary), nextCursor: page.nextCursor };
  }

  /** Snapshots taken inside a trace, oldest first, at most `limit`. */
  async byTrace(traceId: string, limit: number, pools: readonly string[] | null = null): Promise<SnapshotSummary[]> {
    let query = this.#db
      .selectFrom('snapshot_hits')
      .select(['id', 'action_id', 'agent_id', 'at', 'summary', 'truncated', 'trace_id', 'span_id'])
      .where('trace_id', '=', traceId);
    if (pools !== null)
      query = query.where('action_id', 'in', (eb) =>
        eb
          .selectFrom('actions')
          .select('actions.id')
          .where('actions.pool_id', 'in', [...pools]),
      );
    const rows = await query.orderBy('at').orderBy('id').limit(limit).execute();
    return rows.map(toSummary);
  }

  async get(actionId: string, hitId: string): Promise<StoredSnapshot> {
    const id = Number(hitId);
    const row = Number.isSafeInteger(id)
      ? await this.#db
          .selectFrom('snapshot_hits')
          .selectAll()
          .where('action_id', '=', actionId)
          .where('id', '=', id)
          .executeTakeFirst()
      : undefined;
    if (row === undefined) throw new SpyglassError('NOT_FOUND', `snapshot ${hitId} of action ${actionId} not found`);
    const data = parseJson<Pick<StoredSnapshot, 'frames' | 'watches'>>(row.data, { frames: [], watches: [] });
    return { ...toSummary(row), frames: data.frames, watches: data.watches };
  }
}

function snapshotSummary(hit: SnapshotHit, id: string, agentId: string): SnapshotSummary {
  const top = hit.frames[0];
  return {
    id,
    actionId: hit.actionId,
    agentId,
    at: hit.at,
    top: top === undefined ? null : { functionName: top.functionName, file: top.file, line: top.line },
    frameCount: hit.frames.length,
    truncated: hit.truncated,
    traceId: hit.traceId ?? null,
    spanId: hit.spanId ?? null,
  };
}

function toSummary(
  r: Pick<
    Selectable<SnapshotHitsTable>,
    'id' | 'action_id' | 'agent_id' | 'at' | 'summary' | 'truncated' | 'trace_id' | 'span_id'
  >,
): SnapshotSummary {
  const s = parseJson<{ top: SnapshotSummary['top']; frameCount: number }>(r.summary, { top: null, frameCount: 0 });
  return {
    id: String(r.id),
    actionId: r.action_id,
    agentId: r.agent_id,
    at: Number(r.at),
    top: s.top,
    frameCount: s.frameCount,
    truncated: Number(r.truncated) === 1,
    traceId: r.trace_id,
    spanId: r.span_id,
  };
}

import type { AuditEvent, AuditOutcome, AuditQuery, Page } from '@spyglass/protocol';
import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import { keysetPage } from '../storage/paging.js';
import type { Database } from '../storage/schema.js';

export interface AuditRecord {
  actorType: AuditEvent['actorType'];
  actorId?: string | null;
  actorEmail?: string | null;
  action: string;
  targetType?: string | null;
  targetId?: string | null;
  outcome: AuditOutcome;
  status?: number | null;
  ip?: string | null;
  userAgent?: string | null;
  requestId?: string | null;
  details?: Record<string, unknown> | null;
}

export type AuditSink = (event: AuditEvent) => void;

/** Audit events a retention pass is about to delete (id order). */
export type SweptEvents = readonly { id: number; action: string; outcome: string }[];
/** Told before each batch of a retention pass is deleted (audit streaming counts what its sinks never got). */
export type SweepObserver = (events: SweptEvents) => Promise<void> | void;

const clip = (s: string | null | undefined, max: number): string | null => (s == null ? null : s.slice(0, max));

/** Anonymous denials are counted into one row per source address, action and status in each period this long. */
export const DENIAL_PERIOD_MS = 60_000;
/** Distinct (address, action, status) keys counted at once; past it each new key gets its own row, uncounted. */
const MAX_DENIAL_KEYS = 10_000;
/** Emails a counted row lists (anonymous sign-in attempts name the account they tried). */
const MAX_DENIAL_EMAILS = 20;
/** Rows a retention pass deletes per statement, so a first sweep over a large table never holds a long lock. */
const SWEEP_BATCH = 5000;

type AuditRow = Omit<Database['audit_events'], 'id'>;

/** The row of anonymous denials from one source, action and status in one period, and what it has counted. */
interface DenialCount {
  period: number;
  row: AuditRow;
  details: Record<string, unknown>;
  /** Settles with the row's id once inserted (null when the insert failed). */
  id: Promise<number | null>;
  count: number;
  /** The count the stored row says. */
  stored: number;
  lastAt: number;
  emails: Set<string>;
  /** The count write in progress (they are chained). */
  writing: Promise<void>;
}

/**
 * Writes and reads the audit log. Writing never throws into the caller: a failed write is logged loudly instead.
 *
 * Anonymous denials (401, 403, 429 without a signed-in caller) are counted, not written one row each: the first from a
 * source address, action and status in a minute is a row, and the ones after it in that minute add to its
 * `details.count` (with `lastAt`, and the emails tried), written by `flushDenials()` every few seconds. One client
 * hammering the hub adds a row a minute, not a row a request. Sinks still receive every event.
 */
export class AuditService {
  readonly #db: Kysely<Database>;
  readonly #log: Logger;
  readonly #sinks = new Set<AuditSink>();
  readonly #sweepObservers = new Set<SweepObserver>();
  readonly #onWriteFailure: () => void;
  readonly #denials = new Map<string, DenialCount>();
  readonly #now: () => number;

  constructor(
    db: Kysely<Database>,
    log: Logger,
    onWriteFailure: () => void = () => {},
    options: { now?: () => number } = {},
  ) {
    this.#db = db;
    this.#log = log;
    this.#onWriteFailure = onWriteFailure;
    this.#now = options.now ?? Date.now;
  }

  /** Streams every written event to `sink` (e.g. a SIEM forwarder). Returns an unsubscribe function. */
  addSink(sink: AuditSink): () => void {
    this.#sinks.add(sink);
    return () => this.#sinks.delete(sink);
  }

  /** Calls `observer` with the events each retention batch deletes, before deleting them. Returns a remover. */
  addSweepObserver(observer: SweepObserver): () => void {
    this.#sweepObservers.add(observer);
    return () => this.#sweepObservers.delete(observer);
  }

  #row(rec: AuditRecord, details: Record<string, unknown> | null | undefined): AuditRow {
    return {
      at: this.#now(),
      actor_type: rec.actorType,
      actor_id: clip(rec.actorId, 64),
      actor_email: clip(rec.actorEmail, 254),
      action: rec.action.slice(0, 100),
      target_type: clip(rec.targetType, 50),
      target_id: clip(rec.targetId, 64),
      outcome: rec.outcome,
      status: rec.status ?? null,
      ip: clip(rec.ip, 64),
      user_agent: clip(rec.userAgent, 512),
      request_id: clip(rec.requestId, 64),
      details: details == null ? null : JSON.stringify(details).slice(0, 8192),
    };
  }

  /** Inserts the row and answers its id (null when the write failed, which is logged and counted). */
  async #insert(row: AuditRow): Promise<number | null> {
    try {
      const insert = this.#db.insertInto('audit_events').values(row);
      if (this.#db.getExecutor().adapter.supportsReturning) {
        const r = await insert.returning('id').executeTakeFirstOrThrow();
        return Number(r.id);
      }
      return Number((await insert.executeTakeFirst()).insertId ?? 0);
    } catch (err) {
      this.#onWriteFailure();
      this.#log.error({ err, action: row.action, outcome: row.outcome }, 'failed to write audit event');
      return null;
    }
  }

  #emit(row: AuditRow, id: number): void {
    if (this.#sinks.size === 0) return;
    const event = toAuditEvent({ ...row, id });
    for (const sink of this.#sinks) {
      try {
        sink(event);
      } catch (err) {
        this.#log.warn({ err }, 'audit sink failed');
      }
    }
  }

  async record(rec: AuditRecord): Promise<void> {
    const row = this.#row(rec, rec.details);
    const id = await this.#insert(row);
    if (id !== null) this.#emit(row, id);
  }

  /**
   * Records a denial of an anonymous caller, counted per source address, action and status and minute (see the
   * class). Resolves once the period's row exists, so the first denial's answer leaves after its audit event.
   * `kind` splits the count further where one action has distinct denials (an agent's missing key, a wrong key).
   */
  async recordAnonymousDenial(rec: AuditRecord, kind = ''): Promise<void> {
    const now = this.#now();
    const period = Math.floor(now / DENIAL_PERIOD_MS);
    const key = `${rec.ip ?? ''}\u0000${rec.action}\u0000${rec.status ?? ''}\u0000${kind}`;
    const seen = this.#denials.get(key);
    if (seen !== undefined && seen.period === period) {
      seen.count++;
      seen.lastAt = now;
      if (rec.actorEmail != null && seen.emails.size < MAX_DENIAL_EMAILS) seen.emails.add(rec.actorEmail.slice(0, 254));
      const id = await seen.id;
      if (id !== null) this.#emit(this.#row(rec, { ...rec.details, countedIn: id }), id);
      return;
    }
    // The previous period's row gets its final count in the background; this period starts a row of its own.
    if (seen !== undefined) void this.#writeCount(seen);
    if (seen === undefined && this.#denials.size >= MAX_DENIAL_KEYS) return this.record(rec);
    const details = { ...rec.details };
    const row = this.#row(rec, { ...details, count: 1 });
    const counted: DenialCount = {
      period,
      row,
      details,
      id: this.#insert(row),
      count: 1,
      stored: 1,
      lastAt: now,
      emails: new Set(rec.actorEmail == null ? [] : [rec.actorEmail.slice(0, 254)]),
      writing: Promise.resolve(),
    };
    this.#denials.set(key, counted);
    const id = await counted.id;
    if (id !== null) this.#emit(row, id);
  }

  /** Writes a row's count if it changed; one write at a time per row, each with the count as it is then. */
  #writeCount(c: DenialCount): Promise<void> {
    c.writing = c.writing.then(async () => {
      if (c.count === c.stored) return;
      const id = await c.id;
      if (id === null) return;
      const count = c.count;
      const details: Record<string, unknown> = { ...c.details, count, lastAt: c.lastAt };
      if (c.emails.size > 1) details.emails = [...c.emails];
      try {
        await this.#db
          .updateTable('audit_events')
          .set({ details: JSON.stringify(details).slice(0, 8192) })
          .where('id', '=', id)
          .execute();
        c.stored = count;
      } catch (err) {
        this.#onWriteFailure();
        this.#log.error({ err, action: c.row.action }, 'failed to write the count of an audit event');
      }
    });
    return c.writing;
  }

  /**
   * Writes the counts of anonymous denials into their rows, and forgets the periods that ended (called every few
   * seconds, and when the hub stops).
   */
  async flushDenials(): Promise<void> {
    const period = Math.floor(this.#now() / DENIAL_PERIOD_MS);
    const writes: Promise<void>[] = [];
    for (const [key, c] of this.#denials) {
      if (c.period < period) this.#denials.delete(key);
      writes.push(this.#writeCount(c));
    }
    await Promise.all(writes);
  }

  /** Deletes audit events older than `retentionMs` (in batches); answers how many. 0 keeps everything. */
  async sweep(retentionMs: number): Promise<number> {
    if (retentionMs <= 0) return 0;
    const cutoff = this.#now() - retentionMs;
    let deleted = 0;
    for (;;) {
      const ids = await this.#db
        .selectFrom('audit_events')
        .select(['id', 'action', 'outcome'])
        .where('at', '<', cutoff)
        .orderBy('at')
        .limit(SWEEP_BATCH)
        .execute();
      if (ids.length === 0) return deleted;
      const swept = ids
        .map((r) => ({ id: Number(r.id), action: r.action, outcome: r.outcome }))
        .sort((a, b) => a.id - b.id);
      for (const observe of this.#sweepObservers) {
        try {
          await observe(swept);
        } catch (err) {
          this.#log.warn({ err }, 'audit sweep observer failed');
        }
      }
      const r = await this.#db
        .deleteFrom('audit_events')
        .where(
          'id',
          'in',
          ids.map((i) => i.id),
        )
        .executeTakeFirst();
      deleted += Number(r.numDeletedRows);
      if (ids.length < SWEEP_BATCH) return deleted;
    }
  }

  async list(query: AuditQuery): Promise<Page<AuditEvent>> {
    let q = this.#db.selectFrom('audit_events').selectAll();
    if (query.actorId !== undefined) q = q.where('actor_id', '=', query.actorId);
    if (query.action !== undefined) q = q.where('action', '=', query.action);
    if (query.targetType !== undefined) q = q.where('target_type', '=', query.targetType);
    if (query.targetId !== undefined) q = q.where('target_id', '=', query.targetId);
    if (query.outcome !== undefined) q = q.where('outcome', '=', query.outcome);
    if (query.since !== undefined) q = q.where('at', '>=', query.since);
    if (query.until !== undefined) q = q.where('at', '<', query.until);
    const page = await keysetPage(q, [['id', 'desc', 'number']], query.cursor, query.limit);
    return { items: page.items.map(toAuditEvent), nextCursor: page.nextCursor };
  }
}

/** An `audit_events` row as the API shows it. */
export function toAuditEvent(row: Omit<Database['audit_events'], 'id'> & { id: number }): AuditEvent {
  let details: Record<string, unknown> | null = null;
  if (row.details !== null) {
    try {
      details = JSON.parse(row.details) as Record<string, unknown>;
    } catch {
      details = { raw: row.details };
    }
  }
  return {
    id: String(row.id),
    at: Number(row.at),
    actorType: row.actor_type as AuditEvent['actorType'],
    actorId: row.actor_id,
    actorEmail: row.actor_email,
    action: row.action,
    targetType: row.target_type,
    targetId: row.target_id,
    outcome: row.outcome as AuditOutcome,
    status: row.status,
    ip: row.ip,
    userAgent: row.user_agent,
    requestId: row.request_id,
    details,
  };
}

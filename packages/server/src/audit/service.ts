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

const clip = (s: string | null | undefined, max: number): string | null => (s == null ? null : s.slice(0, max));

/** Writes and reads the audit log. Writing never throws into the caller: a failed write is logged loudly instead. */
export class AuditService {
  readonly #db: Kysely<Database>;
  readonly #log: Logger;
  readonly #sinks = new Set<AuditSink>();
  readonly #onWriteFailure: () => void;

  constructor(db: Kysely<Database>, log: Logger, onWriteFailure: () => void = () => {}) {
    this.#db = db;
    this.#log = log;
    this.#onWriteFailure = onWriteFailure;
  }

  /** Streams every written event to `sink` (e.g. a SIEM forwarder). Returns an unsubscribe function. */
  addSink(sink: AuditSink): () => void {
    this.#sinks.add(sink);
    return () => this.#sinks.delete(sink);
  }

  async record(rec: AuditRecord): Promise<void> {
    const row = {
      at: Date.now(),
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
      details: rec.details == null ? null : JSON.stringify(rec.details).slice(0, 8192),
    };
    try {
      const result = await this.#db.insertInto('audit_events').values(row).executeTakeFirst();
      if (this.#sinks.size > 0) {
        const event = toEvent({ ...row, id: Number(result.insertId ?? 0) });
        for (const sink of this.#sinks) {
          try {
            sink(event);
          } catch (err) {
            this.#log.warn({ err }, 'audit sink failed');
          }
        }
      }
    } catch (err) {
      this.#onWriteFailure();
      this.#log.error({ err, action: rec.action, outcome: rec.outcome }, 'failed to write audit event');
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
    return { items: page.items.map(toEvent), nextCursor: page.nextCursor };
  }
}

function toEvent(row: Omit<Database['audit_events'], 'id'> & { id: number }): AuditEvent {
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

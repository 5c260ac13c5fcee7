import type { AuditEvent, AuditSinkStatus } from '@spyglass/protocol';
import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import { Counter, Gauge, type Registry } from 'prom-client';
import { toAuditEvent, type SweptEvents } from '../audit/service.js';
import type { Database } from '../storage/schema.js';
import { sinkFilter, type SinkConfig } from './config.js';
import { createTransport, type Transport } from './transports.js';

/** Batches one sink sends in one run at most, so one busy sink cannot hold the job for long. */
const MAX_BATCHES_PER_RUN = 50;

interface SinkState {
  readonly config: SinkConfig;
  readonly matches: (e: { action: string; outcome: string }) => boolean;
  /** Where it sends (no credentials). */
  readonly target: string;
  transport: Transport | null;
  failures: number;
  nextAttemptAt: number;
  lastError: string | null;
  /** The first missing id after the cursor and when this replica first saw it missing (ADR 0011). */
  gap: { from: number; since: number } | null;
}

export interface StreamerOptions {
  db: Kysely<Database>;
  sinks: readonly SinkConfig[];
  log: Logger;
  registry: Registry;
  gapSettleMs: number;
  /** Transports per sink (default: the real ones). */
  createTransport?: (sink: SinkConfig) => Transport;
}

/**
 * Sends the audit log to the configured sinks, at least once and in `audit_events.id` order: each sink has a cursor
 * row (the id of the last event it acknowledged), events after it are read in id order, sent in batches, and the
 * cursor moves only once the sink acknowledged the batch. A sink that fails is retried with exponential backoff; its
 * events wait in the table (bounded by the audit retention, whose deletions of unsent events are counted and logged).
 * Runs on the replica holding the `audit.stream` lease.
 */
export class AuditStreamer {
  readonly #db: Kysely<Database>;
  readonly #log: Logger;
  readonly #gapSettleMs: number;
  readonly #sinks: SinkState[];
  readonly #create: (sink: SinkConfig) => Transport;
  #cursorsReady = false;
  readonly #lag: Gauge;
  readonly #sent: Counter;
  readonly #failed: Counter;
  readonly #skipped: Counter;
  readonly #lastSuccess: Gauge;

  constructor(o: StreamerOptions) {
    this.#db = o.db;
    this.#log = o.log;
    this.#gapSettleMs = o.gapSettleMs;
    this.#create = o.createTransport ?? createTransport;
    this.#sinks = o.sinks.map((config) => ({
      config,
      matches: sinkFilter(config.filters),
      target: createTransport(config).target,
      transport: null,
      failures: 0,
      nextAttemptAt: 0,
      lastError: null,
      gap: null,
    }));
    const registers = [o.registry];
    this.#lag = new Gauge({
      name: 'spyglass_audit_stream_lag_events',
      help: 'Audit events stored after the sink cursor (not yet sent or passed over), on the sending replica',
      labelNames: ['sink'],
      registers,
    });
    this.#sent = new Counter({
      name: 'spyglass_audit_stream_sent_total',
      help: 'Audit events a sink acknowledged',
      labelNames: ['sink'],
      registers,
    });
    this.#failed = new Counter({
      name: 'spyglass_audit_stream_failures_total',
      help: 'Batches a sink did not acknowledge (each failed attempt)',
      labelNames: ['sink'],
      registers,
    });
    this.#skipped = new Counter({
      name: 'spyglass_audit_stream_skipped_total',
      help: 'Audit events deleted by the audit retention before the sink had sent them (lost to that sink)',
      labelNames: ['sink'],
      registers,
    });
    this.#lastSuccess = new Gauge({
      name: 'spyglass_audit_stream_last_success_timestamp_seconds',
      help: 'When the sink last acknowledged a batch (Unix time)',
      labelNames: ['sink'],
      registers,
    });
    for (const s of this.#sinks) {
      for (const m of [this.#sent, this.#failed, this.#skipped]) m.inc({ sink: s.config.name }, 0);
    }
  }

  get sinkCount(): number {
    return this.#sinks.length;
  }

  /** Creates the cursor of every sink that has none: before every stored event (`oldest`) or after them (`now`). */
  async #ensureCursors(now: number): Promise<void> {
    if (this.#cursorsReady) return;
    const have = new Set(
      (await this.#db.selectFrom('audit_stream_cursors').select('sink').execute()).map((r) => r.sink),
    );
    for (const s of this.#sinks) {
      if (have.has(s.config.name)) continue;
      const b = await this.#db
        .selectFrom('audit_events')
        .select((eb) => [eb.fn.min('id').as('min'), eb.fn.max('id').as('max')])
        .executeTakeFirst();
      const lastId = s.config.start === 'now' ? Number(b?.max ?? 0) : Math.max(0, Number(b?.min ?? 1) - 1);
      try {
        await this.#db
          .insertInto('audit_stream_cursors')
          .values({
            sink: s.config.name,
            last_id: lastId,
            sent: 0,
            skipped: 0,
            failures: 0,
            last_success_at: null,
            last_error: null,
            last_error_at: null,
            updated_at: now,
          })
          .execute();
        this.#log.info({ sink: s.config.name, start: s.config.start, cursor: lastId }, 'audit sink cursor created');
      } catch (err) {
        // Another replica created it first (a lease hand-over at start-up): keep theirs.
        const exists = await this.#db
          .selectFrom('audit_stream_cursors')
          .select('sink')
          .where('sink', '=', s.config.name)
          .executeTakeFirst();
        if (exists === undefined) throw err;
      }
    }
    this.#cursorsReady = true;
  }

  async #cursor(sink: string): Promise<number> {
    const row = await this.#db
      .selectFrom('audit_stream_cursors')
      .select('last_id')
      .where('sink', '=', sink)
      .executeTakeFirstOrThrow();
    return Number(row.last_id);
  }

  async #lagOf(cursor: number): Promise<number> {
    const r = await this.#db
      .selectFrom('audit_events')
      .select((eb) => eb.fn.countAll().as('n'))
      .where('id', '>', cursor)
      .executeTakeFirst();
    return Number(r?.n ?? 0);
  }

  /** One pass of the job: every sink that is due sends what it can (sinks do not wait for each other). */
  async run(now: number): Promise<void> {
    if (this.#sinks.length === 0) return;
    await this.#ensureCursors(now);
    await Promise.all(this.#sinks.map((s) => this.#deliver(s, now)));
  }

  async #deliver(s: SinkState, now: number): Promise<void> {
    const name = s.config.name;
    if (now < s.nextAttemptAt) {
      this.#lag.set({ sink: name }, await this.#lagOf(await this.#cursor(name)));
      return;
    }
    let cursor = await this.#cursor(name);
    for (let round = 0; round < MAX_BATCHES_PER_RUN; round++) {
      const next = await this.#next(s, cursor, Date.now());
      if (next.upTo === cursor) break;
      if (next.events.length > 0) {
        try {
          s.transport ??= this.#create(s.config);
          await s.transport.send(next.events);
        } catch (err) {
          await this.#failed_(s, err, Date.now());
          break;
        }
      }
      const at = Date.now();
      const moved = await this.#db
        .updateTable('audit_stream_cursors')
        .set((eb) => ({
          last_id: next.upTo,
          sent: eb('sent', '+', next.events.length),
          failures: 0,
          updated_at: at,
          ...(next.events.length > 0 ? { last_success_at: at } : {}),
        }))
        .where('sink', '=', name)
        .where('last_id', '=', cursor)
        .executeTakeFirst();
      if (Number(moved.numUpdatedRows) !== 1) {
        // Another replica moved it (a lease hand-over): go on from where it is.
        cursor = await this.#cursor(name);
        continue;
      }
      cursor = next.upTo;
      if (next.events.length > 0) {
        this.#sent.inc({ sink: name }, next.events.length);
        this.#lastSuccess.set({ sink: name }, at / 1000);
        if (s.failures > 0) {
          this.#log.info({ sink: name, target: s.target, failures: s.failures }, 'audit sink recovered');
        }
      }
      s.failures = 0;
      s.lastError = null;
      if (!next.more) break;
    }
    this.#lag.set({ sink: name }, await this.#lagOf(cursor));
  }

  /**
   * The next batch after `cursor`: up to `batchSize` events the sink's filters take, in id order, and the id the
   * cursor moves to once they are acknowledged (past the events the filters skip). Stops before a missing id until
   * it has been missing for `gapSettleMs` (an insert on another replica may not be committed yet).
   */
  async #next(
    s: SinkState,
    cursor: number,
    now: number,
  ): Promise<{ events: AuditEvent[]; upTo: number; more: boolean }> {
    const limit = Math.max(s.config.batchSize, 200);
    const rows = await this.#db
      .selectFrom('audit_events')
      .selectAll()
      .where('id', '>', cursor)
      .orderBy('id')
      .limit(limit)
      .execute();
    const events: AuditEvent[] = [];
    let upTo = cursor;
    let expected = cursor + 1;
    let blocked = false;
    for (const row of rows) {
      const id = Number(row.id);
      if (id > expected) {
        if (s.gap?.from !== expected) s.gap = { from: expected, since: now };
        if (now - s.gap.since < this.#gapSettleMs) {
          blocked = true;
          break;
        }
        this.#log.debug({ sink: s.config.name, from: expected, to: id - 1 }, 'audit ids missing; passed over');
        s.gap = null;
      }
      expected = id + 1;
      upTo = id;
      const event = toAuditEvent({ ...row, id });
      if (s.matches(event)) events.push(event);
      if (events.length === s.config.batchSize) break;
    }
    const more = !blocked && (events.length === s.config.batchSize || rows.length === limit);
    return { events, upTo, more };
  }

  async #failed_(s: SinkState, err: unknown, now: number): Promise<void> {
    const name = s.config.name;
    const message = (err instanceof Error ? err.message : String(err)).slice(0, 1000);
    s.transport?.close();
    s.transport = null;
    s.failures++;
    const backoffMs = Math.min(s.config.maxBackoffMs, s.config.minBackoffMs * 2 ** Math.min(s.failures - 1, 30));
    s.nextAttemptAt = now + backoffMs;
    this.#failed.inc({ sink: name });
    const target = s.target;
    if (s.failures === 1 || message !== s.lastError || s.failures % 10 === 0) {
      this.#log.warn(
        { sink: name, type: s.config.type, target, failures: s.failures, retryInMs: backoffMs, error: message },
        `audit sink ${name} failed: ${message}; its events wait in the audit log and are retried`,
      );
    }
    s.lastError = message;
    await this.#db
      .updateTable('audit_stream_cursors')
      .set({ failures: s.failures, last_error: message, last_error_at: now, updated_at: now })
      .where('sink', '=', name)
      .execute();
  }

  /**
   * Told by the audit retention before it deletes events: those after a sink's cursor (and taken by its filters)
   * will never reach it. Counted (metric and cursor row) and logged as a warning.
   */
  async onSweep(events: SweptEvents): Promise<void> {
    if (this.#sinks.length === 0 || events.length === 0) return;
    const rows = await this.#db.selectFrom('audit_stream_cursors').select(['sink', 'last_id']).execute();
    const cursors = new Map(rows.map((r) => [r.sink, Number(r.last_id)]));
    for (const s of this.#sinks) {
      const cursor = cursors.get(s.config.name);
      if (cursor === undefined) continue;
      const lost = events.filter((e) => e.id > cursor && s.matches(e));
      if (lost.length === 0) continue;
      this.#skipped.inc({ sink: s.config.name }, lost.length);
      await this.#db
        .updateTable('audit_stream_cursors')
        .set((eb) => ({ skipped: eb('skipped', '+', lost.length) }))
        .where('sink', '=', s.config.name)
        .execute();
      this.#log.warn(
        {
          sink: s.config.name,
          skipped: lost.length,
          firstId: lost[0]!.id,
          lastId: lost[lost.length - 1]!.id,
          cursor,
        },
        `audit sink ${s.config.name} is so far behind that the audit retention deletes ${lost.length} events it has not sent; they will never reach it (raise audit.retentionMs or fix the sink)`,
      );
    }
  }

  /** The status of every sink, from the cursor rows (any replica answers the same). */
  async status(): Promise<AuditSinkStatus[]> {
    const rows = await this.#db.selectFrom('audit_stream_cursors').selectAll().execute();
    const byName = new Map(rows.map((r) => [r.sink, r]));
    const out: AuditSinkStatus[] = [];
    for (const s of this.#sinks) {
      const row = byName.get(s.config.name);
      const cursor = row === undefined ? 0 : Number(row.last_id);
      const n = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));
      const behind =
        row === undefined
          ? undefined
          : await this.#db
              .selectFrom('audit_events')
              .select((eb) => [eb.fn.countAll().as('n'), eb.fn.min('at').as('since')])
              .where('id', '>', cursor)
              .executeTakeFirst();
      out.push({
        name: s.config.name,
        type: s.config.type,
        target: s.target,
        cursor: String(cursor),
        lag: Number(behind?.n ?? 0),
        lagSince: n(behind?.since),
        sent: Number(row?.sent ?? 0),
        skipped: Number(row?.skipped ?? 0),
        failures: Number(row?.failures ?? 0),
        lastSuccessAt: n(row?.last_success_at),
        lastError: row?.last_error ?? null,
        lastErrorAt: n(row?.last_error_at),
      });
    }
    return out;
  }

  /** Closes the sinks' connections (the hub stops, or this replica no longer sends). */
  closeTransports(): void {
    for (const s of this.#sinks) {
      s.transport?.close();
      s.transport = null;
    }
  }

  get hasOpenTransports(): boolean {
    return this.#sinks.some((s) => s.transport !== null);
  }
}

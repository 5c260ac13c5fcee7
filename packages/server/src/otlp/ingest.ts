import type { Pool } from '@spyglass/protocol';
import type { Logger } from 'pino';
import type { AuditService } from '../audit/service.js';
import type { PoolService } from '../pools/service.js';
import type { Traces } from '../traces/module.js';
import { SpanWriterClosedError } from '../traces/span-writer.js';
import { OtlpInputError, convertExportRequest, type DecodedSpans } from './convert.js';
import { decodeExportRequest } from './decode-proto.js';

export type OtlpTransport = 'http' | 'grpc';
export type OtlpFormat = 'protobuf' | 'json';

/** What one export request came to, whatever carried it. */
export type IngestOutcome =
  | { kind: 'ok'; accepted: number; rejected: number; message: string }
  | { kind: 'unauthenticated'; message: string }
  | { kind: 'invalid'; message: string }
  | { kind: 'busy'; message: string; retryAfterS: number }
  | { kind: 'unavailable'; message: string; retryAfterS: number };

export interface IngestRequest {
  transport: OtlpTransport;
  format: OtlpFormat;
  body: Buffer;
  /** The `Authorization` header (or gRPC metadata) as sent. */
  authorization: string | undefined;
  ip: string;
  userAgent?: string | undefined;
}

/** How long a pool key's lookup is reused (a rotated key stops working within this). */
const KEY_CACHE_MS = 5_000;
const KEY_CACHE_MAX = 1000;
/** A refused source is audited at most once per this period. */
const AUDIT_EVERY_MS = 60_000;

const KEY_HINT =
  'send the pool key as "Authorization: Bearer sgp_…" (OTEL_EXPORTER_OTLP_HEADERS="Authorization=Bearer sgp_…")';

/**
 * OTLP trace ingest shared by the HTTP and gRPC receivers: authenticates the pool key, decodes (the fast protobuf
 * path or OTLP/JSON), hands the spans to the traces writer and waits until they are stored. Refusals of a bad key are
 * audited once per source address and minute, with how many were refused since.
 */
export class OtlpIngest {
  readonly #pools: PoolService;
  readonly #traces: Traces;
  readonly #audit: AuditService;
  readonly #log: Logger;
  readonly #keys = new Map<string, { pool: Pool | null; at: number }>();
  readonly #audited = new Map<string, { at: number; refused: number }>();

  constructor(deps: { pools: PoolService; traces: Traces; audit: AuditService; log: Logger }) {
    this.#pools = deps.pools;
    this.#traces = deps.traces;
    this.#audit = deps.audit;
    this.#log = deps.log;
  }

  async ingest(req: IngestRequest): Promise<IngestOutcome> {
    const pool = await this.#authenticate(req);
    if (pool === null) {
      return {
        kind: 'unauthenticated',
        message: `${req.authorization === undefined ? 'no pool key' : 'the pool key is not valid'}: ${KEY_HINT}`,
      };
    }
    let decoded: DecodedSpans;
    try {
      decoded =
        req.format === 'protobuf'
          ? decodeExportRequest(req.body, this.#traces.limits, pool.id)
          : convertExportRequest(parseJson(req.body), this.#traces.limits, pool.id);
    } catch (err) {
      if (!(err instanceof OtlpInputError)) throw err;
      this.#traces.countRefused(1, 'malformed');
      return { kind: 'invalid', message: `could not read the export request: ${err.message}` };
    }
    if (decoded.rejected > 0) this.#traces.countRefused(decoded.rejected, 'invalid');
    if (decoded.truncated > 0) this.#traces.countTruncated(decoded.truncated);
    if (decoded.rows.length > 0) {
      const written = this.#traces.writer.offer(decoded.rows);
      if (written === 'busy') {
        this.#traces.countRefused(decoded.rows.length, 'busy');
        return { kind: 'busy', message: 'the span store is behind; retry later', retryAfterS: 1 };
      }
      try {
        await written;
      } catch (err) {
        if (!(err instanceof SpanWriterClosedError)) this.#log.debug({ err }, 'span write failed');
        return { kind: 'unavailable', message: 'the spans could not be stored; retry later', retryAfterS: 2 };
      }
    }
    const notes: string[] = [];
    if (decoded.rejected > 0) notes.push(`${decoded.rejected} spans rejected: ${decoded.reasons.join('; ')}`);
    if (decoded.truncated > 0)
      notes.push(`${decoded.truncated} spans stored cut to the hub's limits (attributes, events, links, value length)`);
    return { kind: 'ok', accepted: decoded.rows.length, rejected: decoded.rejected, message: notes.join('; ') };
  }

  async #authenticate(req: IngestRequest): Promise<Pool | null> {
    const m = req.authorization === undefined ? null : /^Bearer\s+(\S+)\s*$/i.exec(req.authorization);
    const key = m?.[1];
    let pool: Pool | null = null;
    if (key !== undefined) {
      const now = Date.now();
      const cached = this.#keys.get(key);
      if (cached !== undefined && now - cached.at < KEY_CACHE_MS) pool = cached.pool;
      else {
        pool = await this.#pools.poolForKey(key);
        if (this.#keys.size >= KEY_CACHE_MAX) this.#keys.clear();
        this.#keys.set(key, { pool, at: now });
      }
    }
    if (pool === null) this.#auditRefusal(req, key === undefined ? 'missing pool key' : 'invalid pool key');
    return pool;
  }

  #auditRefusal(req: IngestRequest, reason: string): void {
    const source = `${req.ip}\u0000${req.transport}`;
    const now = Date.now();
    const seen = this.#audited.get(source);
    if (seen !== undefined && now - seen.at < AUDIT_EVERY_MS) {
      seen.refused++;
      return;
    }
    if (this.#audited.size >= 10_000) this.#audited.clear();
    this.#audited.set(source, { at: now, refused: 0 });
    void this.#audit
      .record({
        actorType: 'anonymous',
        actorId: null,
        actorEmail: null,
        action: 'otlp.export',
        targetType: 'traces',
        targetId: null,
        outcome: 'denied',
        status: 401,
        ip: req.ip,
        userAgent: req.userAgent ?? null,
        requestId: null,
        details: { transport: req.transport, reason, refusedSinceLastEvent: seen?.refused ?? 0 },
      })
      .catch((err: unknown) => this.#log.warn({ err }, 'could not audit a refused OTLP export'));
  }
}

function parseJson(body: Buffer): unknown {
  try {
    return JSON.parse(body.toString('utf8'));
  } catch (err) {
    throw new OtlpInputError(`body is not JSON (${(err as Error).message})`);
  }
}

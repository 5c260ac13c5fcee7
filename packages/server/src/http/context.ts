import type { Role, User } from '@spyglass/protocol';
import type { Logger } from 'pino';
import type { AuditService } from '../audit/service.js';
import type { Bus } from '../bus/bus.js';
import type { Config } from '../config/config.js';
import type { HubMetrics } from '../metrics/metrics.js';
import type { Storage } from '../storage/db.js';

/** Who may call a route. Every route declares one in `config.access`; a route without one fails at start-up. */
export type Access =
  /** Anyone, no credentials. */
  | 'public'
  /** Any signed-in user (viewer and up). */
  | 'user'
  /** At least this role. */
  | Role
  /** Authenticated by the route itself (agent pool key on the agent WebSocket). */
  | 'self';

/** The authenticated caller of a request. */
export interface Principal {
  user: User;
  via: 'session' | 'token';
  /** Hash of the session cookie or id of the API token used. */
  credentialId: string;
  /**
   * The user's roles per pool (pool id → role), loaded with the principal. Absent: not loaded (the operation layer
   * loads them before it checks a pool-scoped operation).
   */
  pools?: ReadonlyMap<string, Role>;
}

/** What the audit hook records about a request; handlers fill in the target and details. */
export interface RequestAudit {
  targetType?: string;
  targetId?: string;
  details?: Record<string, unknown>;
  /** For unauthenticated requests that still name an account (login). */
  actorEmail?: string;
}

/** Everything the hub's domains share. Built once by buildApp and passed down, never global. */
export interface HubContext {
  readonly config: Config;
  readonly storage: Storage;
  readonly bus: Bus;
  readonly log: Logger;
  readonly audit: AuditService;
  readonly metrics: HubMetrics;
}

declare module 'fastify' {
  interface FastifyContextConfig {
    access?: Access;
    /** Audit action name, e.g. `user.create`. Required on state-changing routes. */
    audit?: string;
    /** Audit this read too (GET), with its outcome. */
    auditReads?: boolean;
    /**
     * The route audits itself instead of once per request: ingest endpoints (OTLP) that take thousands of requests a
     * second and record refusals once per source and minute.
     */
    auditSelf?: boolean;
    /** The operation the route serves (routes generated from operation contracts). */
    operation?: string;
    /**
     * The least role is met by the caller's role in any pool (global or a membership); the handler checks the pool
     * it touches (pool-scoped operations, the live stream).
     */
    poolScoped?: boolean;
  }
  interface FastifyRequest {
    principal: Principal | null;
    audit: RequestAudit;
  }
  interface FastifyInstance {
    hub: HubContext;
  }
}

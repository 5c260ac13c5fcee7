import {
  CLOSE_CODES,
  PROTOCOL_VERSION,
  WIRE_LIMITS,
  actionStatusFrameSchema,
  heartbeatFrameSchema,
  helloFrameSchema,
  hitsFrameSchema,
  sourceResponseFrameSchema,
  type ActionStatus,
  type AgentHealth,
  type AgentSettings,
  type HelloFrame,
  type HitsFrame,
  type Pool,
  type SourceResponseFrame,
} from '@spyglass/protocol';
import type { FastifyRequest } from 'fastify';
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { RawData, WebSocket } from 'ws';
import type { z } from 'zod';
import {
  actionMatches,
  toAgentAction,
  type ActionRecord,
  type ActionService,
  type StatusRow,
} from '../actions/service.js';
import { healthFrom, type AgentIdentity, type AgentStore, type HitCounts } from '../agents/store.js';
import type { HubContext } from '../http/context.js';
import type { HitStore } from '../hits/store.js';
import type { PoolService } from '../pools/service.js';
import { parseLogHitsFrame } from './fast-hits.js';
import { HitBatcher } from './hit-batch.js';
import { TOPICS, type ActionsChangedMessage, type AgentControlMessage, type LiveEventMessage } from './topics.js';

export interface GatewayOptions {
  /** The hub pings every agent each half interval; no answer for 1.5 intervals closes the socket (4004). */
  heartbeatIntervalMs: number;
  /** A connection must send `hello` within this time. */
  helloTimeoutMs: number;
  /** Sent to agents: how often to flush hits and metric aggregates. */
  flushIntervalMs: number;
  metricIntervalMs: number;
  /** Action changes arriving within this window are dispatched together. */
  dispatchDelayMs: number;
  /** Agent statuses are written in batches this often. */
  statusFlushMs: number;
  /** Invalid frames tolerated per connection before it is closed (4007). */
  maxInvalidFrames: number;
}

/** Frames queued per connection before its socket stops being read (backpressure toward the agent). */
const MAX_PENDING_FRAMES = 8;
/** Action ids remembered per connection for accepting late hits of actions that left the set. */
const MAX_KNOWN_ACTIONS = 5000;
/** Everything but the id that decides whether an action's target matches an agent (`actionMatches`). */
const matchProfile = (agent: AgentIdentity): string =>
  JSON.stringify([
    agent.poolId,
    agent.service,
    Object.entries(agent.tags).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
  ]);
/** WebSocket close reasons are limited to 123 bytes. */
const reason = (text: string): string =>
  Buffer.from(text)
    .subarray(0, 123)
    .toString()
    .replace(/\uFFFD$/, '');

function zodSummary(error: z.ZodError): string {
  return error.issues
    .slice(0, 5)
    .map((i) => `${i.path.join('.') || '(frame)'}: ${i.message}`)
    .join('; ');
}

class Connection {
  readonly id = randomUUID();
  readonly openedAt = Date.now();
  lastSeenAt = this.openedAt;
  pool: Pool | null = null;
  agent: AgentIdentity | null = null;
  revision = 0;
  sentSig: string | null = null;
  /** What action targets can tell apart about this agent besides its id (see `matchProfile`). */
  profile = '';
  readonly known = new Set<string>();
  chain: Promise<void> = Promise.resolve();
  pending = 0;
  paused = false;
  invalidFrames = 0;
  closingAt: number | null = null;

  constructor(
    readonly ws: WebSocket,
    readonly ip: string,
    readonly userAgent: string | null,
    readonly requestId: string,
  ) {}

  send(text: string): void {
    if (this.ws.readyState === this.ws.OPEN) this.ws.send(text);
  }

  /** Sends a JSON text frame already encoded as UTF-8 (shared between connections, never modified). */
  sendFrame(utf8: Buffer): void {
    if (this.ws.readyState === this.ws.OPEN) this.ws.send(utf8, { binary: false });
  }

  remember(ids: Iterable<string>): void {
    for (const id of ids) {
      this.known.delete(id);
      this.known.add(id);
    }
    while (this.known.size > MAX_KNOWN_ACTIONS) this.known.delete(this.known.values().next().value as string);
  }
}

/**
 * The agent side of the hub: authenticates agent sockets with the pool key, registers agents, sends each one its
 * desired action set, and ingests statuses and hits. One timer (`tick`) drives heartbeats for every connection.
 * Action changes arrive through the bus, so a change made on any replica reaches agents connected to this one.
 */
export class AgentGateway {
  readonly #hub: HubContext;
  readonly #pools: PoolService;
  readonly #agents: AgentStore;
  readonly #actions: ActionService;
  readonly #batch: HitBatcher;
  readonly #replicaId: string;
  readonly #opt: GatewayOptions;
  readonly #log: Logger;

  readonly #conns = new Set<Connection>();
  readonly #byAgent = new Map<string, Connection>();
  readonly #byPool = new Map<string, Set<Connection>>();

  /** Active actions per pool, with a generation so a load racing an invalidation is not cached. */
  readonly #poolCache = new Map<string, ActionRecord[]>();
  readonly #poolGen = new Map<string, number>();
  readonly #dirtyPools = new Set<string>();
  #dispatchTimer: NodeJS.Timeout | null = null;
  #dispatching = false;
  #revision = 0;

  readonly #statusBuffer = new Map<string, StatusRow>();
  #statusTimer: NodeJS.Timeout | null = null;
  readonly #agentCounts = new Map<string, HitCounts>();
  /** The latest heartbeat counters of each agent, stored by the next flush. */
  readonly #health = new Map<string, AgentHealth>();
  readonly #actionAgentHits = new Map<string, { actionId: string; agentId: string; hits: number }>();

  #lastPingAt = 0;
  #lastTouchAt = Date.now();
  #stopping = false;
  readonly #unsubscribe: (() => void)[] = [];

  /** Dispatch latency (change seen on this replica → frames written), for metrics. */
  onDispatch: ((agents: number, ms: number) => void) | null = null;
  /** Receives the `source_response` frames agents send (source browsing, `src/sources/`). */
  onSourceResponse: ((agentId: string, frame: SourceResponseFrame) => void) | null = null;

  constructor(deps: {
    hub: HubContext;
    pools: PoolService;
    agents: AgentStore;
    actions: ActionService;
    hits: HitStore;
    replicaId: string;
    options: GatewayOptions;
  }) {
    this.#hub = deps.hub;
    this.#pools = deps.pools;
    this.#agents = deps.agents;
    this.#actions = deps.actions;
    this.#batch = new HitBatcher({
      actions: deps.actions,
      hits: deps.hits,
      onCompleted: (a) => void this.publishChange(a, 'completed'),
    });
    this.#replicaId = deps.replicaId;
    this.#opt = deps.options;
    this.#log = deps.hub.log.child({ component: 'agent-gateway' });
    this.#unsubscribe.push(
      this.#hub.bus.subscribe(TOPICS.actions, (m) => this.#onActionsChanged(m as ActionsChangedMessage)),
      this.#hub.bus.subscribe(TOPICS.agents, (m) => this.#onAgentControl(m as AgentControlMessage)),
    );
  }

  get settings(): AgentSettings {
    return {
      heartbeatIntervalMs: this.#opt.heartbeatIntervalMs,
      flushIntervalMs: this.#opt.flushIntervalMs,
      metricIntervalMs: this.#opt.metricIntervalMs,
      maxFrameBytes: WIRE_LIMITS.maxFrameBytes,
      maxBatchItems: WIRE_LIMITS.maxBatchItems,
    };
  }

  get connectionCount(): number {
    return this.#conns.size;
  }

  get agentCount(): number {
    return this.#byAgent.size;
  }

  /** Sends a frame to an agent connected to this replica; false when it is not connected here. */
  sendToAgent(agentId: string, frame: object): boolean {
    const conn = this.#byAgent.get(agentId);
    if (conn === undefined || conn.closingAt !== null || conn.ws.readyState !== conn.ws.OPEN) return false;
    conn.send(JSON.stringify(frame));
    return true;
  }

  // ---- connections ---------------------------------------------------------------------------------------------------

  /** Route handler of `GET /api/v1/agents/connect` after the upgrade. Handlers are attached synchronously. */
  handle(ws: WebSocket, request: FastifyRequest): void {
    const conn = new Connection(ws, request.ip, request.headers['user-agent'] ?? null, request.id);
    if (this.#stopping) {
      ws.close(CLOSE_CODES.GOING_AWAY, 'the hub is shutting down');
      return;
    }
    this.#conns.add(conn);
    ws.on('message', (data, isBinary) => {
      conn.lastSeenAt = Date.now();
      this.#enqueue(conn, () => this.#frame(conn, data, isBinary));
    });
    ws.on('pong', () => {
      conn.lastSeenAt = Date.now();
    });
    ws.on('close', () => this.#onClose(conn));
    const header = request.headers.authorization;
    const key = header === undefined ? undefined : /^Bearer\s+(\S+)\s*$/i.exec(header)?.[1];
    this.#enqueue(conn, () => this.#authenticate(conn, key));
  }

  #enqueue(conn: Connection, task: () => Promise<void>): void {
    if (conn.closingAt !== null) return;
    conn.pending++;
    if (conn.pending > MAX_PENDING_FRAMES && !conn.paused) {
      conn.paused = true;
      conn.ws.pause();
    }
    conn.chain = conn.chain
      .then(task)
      .catch((err: unknown) => {
        this.#log.error({ err, agentId: conn.agent?.id }, 'agent frame handling failed');
        conn.send(
          JSON.stringify({
            type: 'error',
            v: PROTOCOL_VERSION,
            code: 'INTERNAL',
            message: 'the hub could not process the frame',
          }),
        );
      })
      .finally(() => {
        conn.pending--;
        if (conn.paused && conn.pending <= 1) {
          conn.paused = false;
          conn.ws.resume();
        }
      });
  }

  async #authenticate(conn: Connection, key: string | undefined): Promise<void> {
    const pool = key === undefined ? null : await this.#pools.poolForKey(key);
    if (pool !== null) {
      conn.pool = pool;
      return;
    }
    const why = key === undefined ? 'missing pool key' : 'invalid pool key';
    await this.#hub.audit.record({
      actorType: 'agent',
      action: 'agent.connect',
      outcome: 'denied',
      status: 401,
      ip: conn.ip,
      userAgent: conn.userAgent,
      requestId: conn.requestId,
      details: { reason: why, ...(key === undefined ? {} : { keyPrefix: key.slice(0, 10) }) },
    });
    this.#close(conn, CLOSE_CODES.UNAUTHENTICATED, `unauthenticated: ${why} (send Authorization: Bearer <pool key>)`);
  }

  #close(conn: Connection, code: number, text: string): void {
    if (conn.closingAt !== null) return;
    conn.closingAt = Date.now();
    conn.ws.close(code, reason(text));
  }

  #onClose(conn: Connection): void {
    conn.closingAt ??= Date.now();
    this.#conns.delete(conn);
    const agent = conn.agent;
    if (agent === null) return;
    if (this.#byAgent.get(agent.id) === conn) this.#byAgent.delete(agent.id);
    const set = this.#byPool.get(agent.poolId);
    set?.delete(conn);
    if (set?.size === 0) this.#byPool.delete(agent.poolId);
    if (this.#stopping) return;
    // After the frames already received are handled, so nothing the agent sent is lost.
    void conn.chain.then(() =>
      this.#agents
        .markDisconnected(agent.id, conn.id, conn.lastSeenAt, Date.now())
        .catch((err: unknown) => this.#log.warn({ err, agentId: agent.id }, 'could not mark agent disconnected')),
    );
  }

  // ---- frames ------------------------------------------------------------------------------------------------------

  async #frame(conn: Connection, data: RawData, isBinary: boolean): Promise<void> {
    if (conn.closingAt !== null || conn.pool === null) return;
    if (isBinary) return this.#invalid(conn, 'frames must be JSON text, not binary');
    let value: unknown;
    try {
      value = JSON.parse((Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as Buffer)).toString('utf8'));
    } catch (err) {
      return this.#invalid(conn, `invalid JSON: ${(err as Error).message}`);
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value))
      return this.#invalid(conn, 'a frame must be a JSON object');
    const { type, v } = value as { type?: unknown; v?: unknown };
    if (v === undefined) return this.#invalid(conn, 'the frame has no protocol version "v"');
    if (v !== PROTOCOL_VERSION) {
      return this.#close(
        conn,
        CLOSE_CODES.UNSUPPORTED_VERSION,
        `protocol version ${JSON.stringify(v)} is not supported; this hub speaks ${PROTOCOL_VERSION}`,
      );
    }
    if (conn.agent === null) {
      if (type !== 'hello')
        return this.#close(
          conn,
          CLOSE_CODES.INVALID_FRAME,
          `the first frame must be hello, not ${JSON.stringify(type)}`,
        );
      const hello = helloFrameSchema.safeParse(value);
      if (!hello.success)
        return this.#close(conn, CLOSE_CODES.INVALID_FRAME, `invalid hello: ${zodSummary(hello.error)}`);
      return this.#hello(conn, hello.data);
    }
    switch (type) {
      case 'hello':
        return this.#invalid(conn, 'hello was already received on this connection');
      case 'heartbeat': {
        const hb = heartbeatFrameSchema.safeParse(value);
        if (!hb.success) return this.#invalid(conn, `invalid heartbeat: ${zodSummary(hb.error)}`);
        // Stamped with the hub's clock, like lastSeenAt: an agent's clock may be off.
        if (hb.data.stats) this.#health.set(conn.agent.id, healthFrom(hb.data.stats, Date.now()));
        return;
      }
      case 'action_status': {
        const f = actionStatusFrameSchema.safeParse(value);
        if (!f.success) return this.#invalid(conn, `invalid action_status: ${zodSummary(f.error)}`);
        return this.#statuses(conn, conn.agent, f.data.statuses);
      }
      case 'hits': {
        // Log lines only (the common frame): checked without zod, by the same rules; anything else goes to zod.
        const fast = parseLogHitsFrame(value as Record<string, unknown>);
        if (fast !== null) return this.#ingest(conn, conn.agent, fast);
        const f = hitsFrameSchema.safeParse(value);
        if (!f.success) return this.#invalid(conn, `invalid hits (nothing of it was stored): ${zodSummary(f.error)}`);
        return this.#ingest(conn, conn.agent, f.data);
      }
      case 'source_response': {
        const f = sourceResponseFrameSchema.safeParse(value);
        if (!f.success) return this.#invalid(conn, `invalid source_response: ${zodSummary(f.error)}`);
        this.onSourceResponse?.(conn.agent.id, f.data);
        return;
      }
      default:
        return this.#invalid(conn, `unknown frame type ${JSON.stringify(type)}`);
    }
  }

  /** A bad frame: fatal before `hello`, an error frame after it (and fatal when they keep coming). */
  #invalid(conn: Connection, message: string): void {
    if (conn.agent === null)
      return this.#close(conn, CLOSE_CODES.INVALID_FRAME, `the first frame must be a valid hello: ${message}`);
    conn.invalidFrames++;
    if (conn.invalidFrames > this.#opt.maxInvalidFrames) {
      return this.#close(conn, CLOSE_CODES.TOO_MANY_ERRORS, `more than ${this.#opt.maxInvalidFrames} invalid frames`);
    }
    conn.send(
      JSON.stringify({ type: 'error', v: PROTOCOL_VERSION, code: 'INVALID_INPUT', message: message.slice(0, 2048) }),
    );
  }

  async #hello(conn: Connection, hello: HelloFrame): Promise<void> {
    const pool = conn.pool!;
    const now = Date.now();
    const { identity, created } = await this.#agents.register(pool, hello, {
      connectionId: conn.id,
      replicaId: this.#replicaId,
      now,
    });
    if (conn.closingAt !== null) {
      await this.#agents.markDisconnected(identity.id, conn.id, conn.lastSeenAt, Date.now());
      return;
    }
    const previous = this.#byAgent.get(identity.id);
    if (previous !== undefined && previous !== conn) {
      this.#close(previous, CLOSE_CODES.REPLACED, 'a newer connection of this agent took over');
    }
    conn.agent = identity;
    conn.profile = matchProfile(identity);
    this.#byAgent.set(identity.id, conn);
    let set = this.#byPool.get(pool.id);
    if (set === undefined) this.#byPool.set(pool.id, (set = new Set()));
    set.add(conn);
    void this.#hub.bus.publish(TOPICS.agents, {
      type: 'connected',
      agentId: identity.id,
      connectionId: conn.id,
    } satisfies AgentControlMessage);
    if (created) {
      void this.#hub.audit.record({
        actorType: 'agent',
        actorId: identity.id,
        action: 'agent.register',
        targetType: 'agent',
        targetId: identity.id,
        outcome: 'success',
        ip: conn.ip,
        userAgent: conn.userAgent,
        requestId: conn.requestId,
        details: {
          pool: pool.name,
          service: hello.service.name,
          instanceId: hello.instanceId,
          hostname: hello.hostname,
        },
      });
    }
    const actions = await this.#poolActions(pool.id);
    const items = this.#matching(identity, actions);
    conn.revision = this.#nextRevision();
    conn.sentSig = items.map((a) => a.id).join(',');
    conn.remember(items.map((a) => a.id));
    conn.send(
      JSON.stringify({
        type: 'welcome',
        v: PROTOCOL_VERSION,
        agentId: identity.id,
        settings: this.settings,
        actions: { revision: conn.revision, items: items.map(toAgentAction) },
      }),
    );
  }

  #statuses(conn: Connection, agent: AgentIdentity, statuses: readonly ActionStatus[]): void {
    const accepted = statuses.filter((s) => conn.known.has(s.actionId));
    if (accepted.length < statuses.length) {
      this.#invalid(
        conn,
        `${statuses.length - accepted.length} status(es) name actions this agent was not given; ignored`,
      );
    }
    if (accepted.length === 0) return;
    for (const status of accepted) {
      const k = `${status.actionId}|${agent.id}`;
      const prev = this.#statusBuffer.get(k);
      if (prev === undefined || prev.status.at <= status.at)
        this.#statusBuffer.set(k, { actionId: status.actionId, agentId: agent.id, status });
    }
    this.#statusTimer ??= setTimeout(() => void this.flushStatuses(), this.#opt.statusFlushMs);
    const event: LiveEventMessage = {
      kind: 'status',
      poolId: agent.poolId,
      service: agent.service,
      agentId: agent.id,
      statuses: accepted,
    };
    void this.#hub.bus.publish(TOPICS.events, event);
  }

  async flushStatuses(): Promise<void> {
    if (this.#statusTimer !== null) clearTimeout(this.#statusTimer);
    this.#statusTimer = null;
    if (this.#statusBuffer.size === 0) return;
    const rows = [...this.#statusBuffer.values()];
    this.#statusBuffer.clear();
    await this.#actions
      .upsertStatuses(rows)
      .catch((err: unknown) => this.#log.error({ err }, 'could not store agent statuses'));
  }

  async #ingest(conn: Connection, agent: AgentIdentity, frame: HitsFrame): Promise<void> {
    const counts = new Map<string, number>();
    let unknown = 0;
    const add = (actionId: string, n: number): boolean => {
      if (!conn.known.has(actionId)) {
        unknown++;
        return false;
      }
      counts.set(actionId, (counts.get(actionId) ?? 0) + n);
      return true;
    };
    const logs = frame.logs.filter((l) => add(l.actionId, 1));
    const snapshots = frame.snapshots.filter((s) => add(s.actionId, 1));
    const metrics = frame.metrics.filter((m) => add(m.actionId, Math.max(1, m.count)));
    if (unknown > 0) this.#invalid(conn, `${unknown} hit(s) name actions this agent was not given; dropped`);

    const {
      accepted,
      budget,
      logs: keptLogs,
      snapshots: summaries,
      metrics: keptMetrics,
    } = await this.#batch.submit({ agentId: agent.id, counts, logs, snapshots, metrics });

    const rejected =
      logs.length + snapshots.length + metrics.length - keptLogs.length - summaries.length - keptMetrics.length;
    const c = this.#agentCounts.get(agent.id) ?? { logs: 0, snapshots: 0, metrics: 0, dropped: 0 };
    c.logs += keptLogs.length;
    c.snapshots += summaries.length;
    c.metrics += keptMetrics.reduce((n, m) => n + m.count, 0);
    c.dropped += frame.dropped;
    this.#agentCounts.set(agent.id, c);
    for (const [actionId, n] of accepted) {
      const used = Math.min(n, (counts.get(actionId) ?? 0) - Math.max(0, budget.get(actionId) ?? 0));
      if (used <= 0) continue;
      const k = `${actionId}|${agent.id}`;
      const e = this.#actionAgentHits.get(k) ?? { actionId, agentId: agent.id, hits: 0 };
      e.hits += used;
      this.#actionAgentHits.set(k, e);
    }
    if (rejected > 0)
      this.#hub.log.debug({ agentId: agent.id, rejected }, 'hits beyond maxHits or for ended actions dropped');

    if (keptLogs.length + summaries.length + keptMetrics.length > 0) {
      const event: LiveEventMessage = {
        kind: 'hits',
        poolId: agent.poolId,
        service: agent.service,
        agentId: agent.id,
        logs: keptLogs.map((l) => ({
          actionId: l.actionId,
          at: l.at,
          level: l.level,
          message: l.message,
          traceId: l.traceId ?? null,
          spanId: l.spanId ?? null,
        })),
        snapshots: summaries,
        metrics: keptMetrics.map((m) => ({
          actionId: m.actionId,
          start: m.start,
          end: m.end,
          count: m.count,
          sum: m.sum,
          min: m.min,
          max: m.max,
        })),
      };
      void this.#hub.bus.publish(TOPICS.events, event);
    }
  }

  // ---- dispatch ----------------------------------------------------------------------------------------------------

  /** Tells every replica an action changed. */
  async publishChange(action: ActionRecord, event: ActionsChangedMessage['event']): Promise<void> {
    const message: ActionsChangedMessage = {
      poolId: action.poolId,
      actionId: action.id,
      event,
      service: action.target.service ?? null,
    };
    await this.#hub.bus.publish(TOPICS.actions, message);
  }

  #onActionsChanged(m: ActionsChangedMessage): void {
    this.#poolGen.set(m.poolId, (this.#poolGen.get(m.poolId) ?? 0) + 1);
    this.#poolCache.delete(m.poolId);
    if (!this.#byPool.has(m.poolId)) return;
    this.#dirtyPools.add(m.poolId);
    this.#scheduleDispatch();
  }

  #onAgentControl(m: AgentControlMessage): void {
    const conn = this.#byAgent.get(m.agentId);
    if (conn === undefined) return;
    if (m.type === 'revoked') this.#close(conn, CLOSE_CODES.REVOKED, 'this agent was deleted by an admin');
    else if (m.connectionId !== conn.id)
      this.#close(conn, CLOSE_CODES.REPLACED, 'a newer connection of this agent took over');
  }

  #scheduleDispatch(): void {
    if (this.#dispatchTimer !== null || this.#dispatching || this.#stopping) return;
    this.#dispatchTimer = setTimeout(() => {
      this.#dispatchTimer = null;
      void this.#dispatch();
    }, this.#opt.dispatchDelayMs);
  }

  /**
   * Sends every connected agent of the dirty pools its new set, if it changed. The set is computed once per distinct
   * answer to "which actions match" (agents with the same service and tags, and not named by id, get the same one),
   * and each distinct frame is serialised and encoded once per pass: every frame of a pass carries the same revision.
   * The frames are written in one go: yielding between slices of them was measured to let the agents' acknowledgements
   * in between and made the last agent wait twice as long (bench/hub/README.md).
   */
  async #dispatch(): Promise<void> {
    this.#dispatching = true;
    const started = Date.now();
    let sent = 0;
    try {
      const pools = [...this.#dirtyPools].filter((p) => this.#byPool.has(p));
      this.#dirtyPools.clear();
      for (const poolId of pools) {
        const actions = await this.#poolActions(poolId, true);
        const byId = actions.some((a) => a.target.agentIds !== undefined);
        const revision = this.#nextRevision();
        const sets = new Map<string, { sig: string; ids: string[]; frame: Buffer | null; items: ActionRecord[] }>();
        for (const conn of this.#byPool.get(poolId) ?? []) {
          if (conn.agent === null || conn.closingAt !== null) continue;
          const profile = byId ? `${conn.agent.id}\u0000${conn.profile}` : conn.profile;
          let set = sets.get(profile);
          if (set === undefined) {
            const items = this.#matching(conn.agent, actions);
            const ids = items.map((a) => a.id);
            sets.set(profile, (set = { sig: ids.join(','), ids, frame: null, items }));
          }
          if (set.sig === conn.sentSig) continue;
          set.frame ??= Buffer.from(
            JSON.stringify({ type: 'actions', v: PROTOCOL_VERSION, revision, items: set.items.map(toAgentAction) }),
          );
          conn.revision = revision;
          conn.sentSig = set.sig;
          conn.remember(set.ids);
          conn.sendFrame(set.frame);
          sent++;
        }
      }
    } catch (err) {
      this.#log.error({ err }, 'action dispatch failed; retrying');
      setTimeout(() => {
        for (const p of this.#byPool.keys()) this.#dirtyPools.add(p);
        this.#scheduleDispatch();
      }, 1000).unref();
    } finally {
      this.#dispatching = false;
      if (sent > 0) this.onDispatch?.(sent, Date.now() - started);
      if (this.#dirtyPools.size > 0) this.#scheduleDispatch();
    }
  }

  /** Revisions grow on this replica across every connection, so one frame can carry one revision to many agents. */
  #nextRevision(): number {
    this.#revision = Math.max(this.#revision + 1, Date.now());
    return this.#revision;
  }

  async #poolActions(poolId: string, fresh = false): Promise<ActionRecord[]> {
    if (!fresh) {
      const cached = this.#poolCache.get(poolId);
      if (cached !== undefined) return cached;
    }
    const gen = this.#poolGen.get(poolId) ?? 0;
    const actions = await this.#actions.activeForPools([poolId], Date.now());
    if ((this.#poolGen.get(poolId) ?? 0) === gen) this.#poolCache.set(poolId, actions);
    return actions;
  }

  #matching(agent: AgentIdentity, actions: readonly ActionRecord[]): ActionRecord[] {
    const now = Date.now();
    const out: ActionRecord[] = [];
    for (const a of actions) {
      if (a.expiresAt <= now || !actionMatches(a, agent)) continue;
      out.push(a);
      if (out.length >= WIRE_LIMITS.maxActionsPerAgent) break;
    }
    return out;
  }

  // ---- timer-driven work ---------------------------------------------------------------------------------------------

  /** Heartbeats over every connection, liveness in the DB, and counter flushes. Called by the one live timer. */
  async tick(now: number): Promise<void> {
    const interval = this.#opt.heartbeatIntervalMs;
    if (now - this.#lastPingAt >= interval / 2) {
      this.#lastPingAt = now;
      for (const conn of this.#conns) {
        if (conn.closingAt !== null) {
          if (now - conn.closingAt > interval) conn.ws.terminate();
          continue;
        }
        if (conn.agent === null) {
          if (now - conn.openedAt > this.#opt.helloTimeoutMs) {
            this.#close(conn, CLOSE_CODES.INVALID_FRAME, `no hello within ${this.#opt.helloTimeoutMs} ms`);
          }
          continue;
        }
        // A paused socket is waiting for this hub, not for the agent: its pongs are not being read.
        if (!conn.paused && now - conn.lastSeenAt > interval * 1.5) {
          this.#close(conn, CLOSE_CODES.HEARTBEAT_TIMEOUT, `no heartbeat or pong for ${now - conn.lastSeenAt} ms`);
          continue;
        }
        conn.ws.ping();
      }
    }
    if (now - this.#lastTouchAt >= interval) {
      this.#lastTouchAt = now;
      const missing = await this.#agents.touch([...this.#byAgent.keys()], now);
      for (const id of missing) {
        const conn = this.#byAgent.get(id);
        if (conn !== undefined) this.#close(conn, CLOSE_CODES.REVOKED, 'this agent or its pool was deleted');
      }
    }
    await this.flushCounts(now);
  }

  async flushCounts(now: number): Promise<void> {
    if (this.#agentCounts.size > 0) {
      const counts = new Map(this.#agentCounts);
      this.#agentCounts.clear();
      await this.#agents.addCounts(counts);
    }
    if (this.#health.size > 0) {
      const reports = new Map(this.#health);
      this.#health.clear();
      await this.#agents.setHealth(reports);
    }
    if (this.#actionAgentHits.size > 0) {
      const hits = new Map(this.#actionAgentHits);
      this.#actionAgentHits.clear();
      await this.#actions.addAgentHits(hits, now);
    }
  }

  /** Marks every dirty-able pool for a fresh look (heals a lost bus message). */
  resync(): void {
    for (const p of this.#byPool.keys()) {
      this.#poolCache.delete(p);
      this.#dirtyPools.add(p);
    }
    if (this.#dirtyPools.size > 0) this.#scheduleDispatch();
  }

  /** Stops accepting work, writes what is buffered and closes every agent socket with 1001 (reconnect). */
  async stop(): Promise<void> {
    this.#stopping = true;
    for (const u of this.#unsubscribe) u();
    if (this.#dispatchTimer !== null) clearTimeout(this.#dispatchTimer);
    for (const conn of this.#conns) this.#close(conn, CLOSE_CODES.GOING_AWAY, 'the hub is shutting down; reconnect');
    await Promise.allSettled([...this.#conns].map((c) => c.chain));
    await this.flushStatuses();
    await this.flushCounts(Date.now()).catch((err: unknown) => this.#log.warn({ err }, 'could not write hit counts'));
    await this.#agents
      .markReplicaDisconnected(this.#replicaId, Date.now())
      .catch((err: unknown) => this.#log.warn({ err }, 'could not mark agents disconnected'));
  }
}

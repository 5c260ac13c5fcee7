import {
  CLOSE_CODES,
  PROTOCOL_VERSION,
  WIRE_LIMITS,
  helloFrameSchema,
  type AgentSettings,
  type HelloFrame,
  type Pool,
  type WirePolicy,
} from '@spyglass/protocol';
import type { FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import type { RawData, WebSocket } from 'ws';
import type { AgentStore } from '../agents/store.js';
import type { HubContext } from '../http/context.js';
import { zodSummary, type FrameConnection, type FrameRouter } from '../platform/frames.js';
import type { PoolService } from '../pools/service.js';
import { Connection, closeReason, matchProfile } from './connection.js';
import type { ActionSetDispatcher, ConnectionIndex } from './dispatch.js';
import { LIVE_TOPICS, type AgentControlMessage } from './topics.js';

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
  /** Open connections of one pool on this replica (counted from the key check); one more is closed with 4009. */
  maxConnectionsPerPool: number;
}

/** Frames queued per connection before its socket stops being read (backpressure toward the agent). */
const MAX_PENDING_FRAMES = 8;

/**
 * The agent side of the hub: authenticates agent sockets with the pool key, registers agents on `hello` and answers
 * with their action set, then hands every later frame to the handlers modules registered on the frame router. One
 * timer (`tick`) drives heartbeats for every connection. Action sets are kept current by the dispatcher.
 */
export class AgentGateway {
  readonly #hub: HubContext;
  readonly #pools: PoolService;
  readonly #agents: AgentStore;
  readonly #frames: FrameRouter;
  readonly #replicaId: string;
  readonly #opt: GatewayOptions;
  readonly #log: Logger;
  #dispatcher: ActionSetDispatcher | null = null;
  #policyFor: ((pool: Pool) => Promise<WirePolicy>) | null = null;

  readonly #conns = new Set<Connection>();
  readonly #byAgent = new Map<string, Connection>();
  readonly #byPool = new Map<string, Set<Connection>>();
  /** Open connections that passed the key check, by pool (welcomed or not yet). */
  readonly #openByPool = new Map<string, number>();

  #lastPingAt = 0;
  #lastTouchAt = Date.now();
  #stopping = false;
  readonly #unsubscribe: (() => void)[] = [];
  readonly #drains: (() => Promise<void>)[] = [];

  constructor(deps: {
    hub: HubContext;
    pools: PoolService;
    agents: AgentStore;
    frames: FrameRouter;
    replicaId: string;
    options: GatewayOptions;
  }) {
    this.#hub = deps.hub;
    this.#pools = deps.pools;
    this.#agents = deps.agents;
    this.#frames = deps.frames;
    this.#replicaId = deps.replicaId;
    this.#opt = deps.options;
    this.#log = deps.hub.log.child({ component: 'agent-gateway' });
    this.#unsubscribe.push(this.#hub.bus.subscribe(LIVE_TOPICS.agents, (m) => this.#onAgentControl(m)));
  }

  /** The connections of this replica by pool, for the dispatcher. */
  readonly connections: ConnectionIndex = {
    pools: () => this.#byPool.keys(),
    hasPool: (poolId) => this.#byPool.has(poolId),
    inPool: (poolId) => this.#byPool.get(poolId) ?? [],
  };

  /** Sets the dispatcher that gives each new agent its action set (once, before the first connection). */
  useDispatcher(dispatcher: ActionSetDispatcher): void {
    this.#dispatcher = dispatcher;
  }

  /** Sets where the pool's agent policy of each `welcome` comes from (once, before the first connection). */
  usePolicies(policyFor: (pool: Pool) => Promise<WirePolicy>): void {
    this.#policyFor = policyFor;
  }

  /** Sends a frame to every agent of a pool connected to this replica; returns how many it went to. */
  sendToPool(poolId: string, frame: object): number {
    const text = JSON.stringify(frame);
    let sent = 0;
    for (const conn of this.#byPool.get(poolId) ?? []) {
      if (!conn.open) continue;
      conn.send(text);
      sent++;
    }
    return sent;
  }

  /** Runs after every socket closed and its frames were handled, before the agents are marked disconnected. */
  onDrain(fn: () => Promise<void>): void {
    this.#drains.push(fn);
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
    if (conn === undefined || !conn.open) return false;
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
      if (conn.closingAt !== null) return;
      const open = this.#openByPool.get(pool.id) ?? 0;
      if (open >= this.#opt.maxConnectionsPerPool) {
        this.#close(
          conn,
          CLOSE_CODES.LIMIT_REACHED,
          `limit reached: pool ${pool.name} has ${open} connections here, the most allowed; retry later`,
        );
        return this.#hub.audit.recordAnonymousDenial({
          actorType: 'agent',
          action: 'agent.connect',
          outcome: 'denied',
          status: 429,
          ip: conn.ip,
          userAgent: conn.userAgent,
          requestId: conn.requestId,
          details: { reason: 'pool connection limit', pool: pool.name, limit: this.#opt.maxConnectionsPerPool },
        });
      }
      this.#openByPool.set(pool.id, open + 1);
      conn.pool = pool;
      return;
    }
    const why = key === undefined ? 'missing pool key' : 'invalid pool key';
    // Counted like the API's anonymous denials (a row per source address a minute, with a count), so an agent retrying
    // with a wrong key, or someone guessing keys, cannot flood the audit log.
    await this.#hub.audit.recordAnonymousDenial(
      {
        actorType: 'agent',
        action: 'agent.connect',
        outcome: 'denied',
        status: 401,
        ip: conn.ip,
        userAgent: conn.userAgent,
        requestId: conn.requestId,
        details: { reason: why, ...(key === undefined ? {} : { keyPrefix: key.slice(0, 10) }) },
      },
      why,
    );
    this.#close(conn, CLOSE_CODES.UNAUTHENTICATED, `unauthenticated: ${why} (send Authorization: Bearer <pool key>)`);
  }

  #close(conn: Connection, code: number, text: string): void {
    if (conn.closingAt !== null) return;
    conn.closingAt = Date.now();
    conn.ws.close(code, closeReason(text));
  }

  #onClose(conn: Connection): void {
    conn.closingAt ??= Date.now();
    this.#conns.delete(conn);
    if (conn.pool !== null) {
      const open = (this.#openByPool.get(conn.pool.id) ?? 1) - 1;
      if (open > 0) this.#openByPool.set(conn.pool.id, open);
      else this.#openByPool.delete(conn.pool.id);
    }
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
    if (type === 'hello') return this.#invalid(conn, 'hello was already received on this connection');
    const outcome =
      typeof type === 'string'
        ? await this.#frames.dispatch(type, value as Record<string, unknown>, this.#view(conn))
        : 'unknown';
    if (outcome === 'unknown') this.#invalid(conn, `unknown frame type ${JSON.stringify(type)}`);
  }

  /** How frame handlers see a connection after hello. */
  #view(conn: Connection): FrameConnection {
    return {
      id: conn.id,
      agent: conn.agent!,
      knows: (actionId) => conn.known.has(actionId),
      reject: (message) => this.#invalid(conn, message),
    };
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
    const registration = await this.#agents.register(pool, hello, {
      connectionId: conn.id,
      replicaId: this.#replicaId,
      now,
    });
    if (registration.limit === true) {
      this.#close(conn, CLOSE_CODES.LIMIT_REACHED, `limit reached: ${registration.refused}; retry later`);
      return this.#hub.audit.recordAnonymousDenial({
        actorType: 'agent',
        action: 'agent.connect',
        outcome: 'denied',
        status: 429,
        ip: conn.ip,
        userAgent: conn.userAgent,
        requestId: conn.requestId,
        details: { reason: 'pool agent limit', pool: pool.name, instanceId: hello.instanceId },
      });
    }
    if (registration.refused !== undefined) return this.#refuseIdentity(conn, hello, registration);
    const { identity, created, session } = registration;
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
    void this.#hub.bus.publish(LIVE_TOPICS.agents, { type: 'connected', agentId: identity.id, connectionId: conn.id });
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
    const actions =
      this.#dispatcher === null ? { revision: 0, items: [] } : await this.#dispatcher.welcomeSet(conn, identity);
    // The policy travels in the welcome, so the agent applies it before any of these actions runs.
    const policy = this.#policyFor === null ? undefined : await this.#policyFor(pool);
    conn.send(
      JSON.stringify({
        type: 'welcome',
        v: PROTOCOL_VERSION,
        agentId: identity.id,
        pool: pool.name,
        session,
        settings: this.settings,
        ...(policy === undefined ? {} : { policy }),
        actions,
      }),
    );
  }

  /**
   * A hello for a registered instance id without that agent's session credential: someone holding the pool key is
   * claiming to be an agent it is not (or an agent whose record was reset). Nothing was written; the connected agent,
   * if any, keeps its socket.
   */
  async #refuseIdentity(conn: Connection, hello: HelloFrame, refusal: { refused: string; agentId: string }) {
    const pool = conn.pool!;
    this.#close(
      conn,
      CLOSE_CODES.IDENTITY_REFUSED,
      `identity refused: ${refusal.refused}; this instance id is a registered agent's`,
    );
    // Counted like anonymous denials (a row per source address a minute), so retrying impostors cannot flood the log.
    await this.#hub.audit.recordAnonymousDenial({
      actorType: 'agent',
      action: 'agent.connect',
      targetType: 'agent',
      targetId: refusal.agentId,
      outcome: 'denied',
      status: 403,
      ip: conn.ip,
      userAgent: conn.userAgent,
      requestId: conn.requestId,
      details: {
        reason: refusal.refused,
        pool: pool.name,
        instanceId: hello.instanceId,
        service: hello.service.name,
        hostname: hello.hostname,
      },
    });
  }

  #onAgentControl(m: AgentControlMessage): void {
    const conn = this.#byAgent.get(m.agentId);
    if (conn === undefined) return;
    if (m.type === 'revoked') this.#close(conn, CLOSE_CODES.REVOKED, 'this agent was deleted by an admin');
    else if (m.connectionId !== conn.id)
      this.#close(conn, CLOSE_CODES.REPLACED, 'a newer connection of this agent took over');
  }

  // ---- timer-driven work ---------------------------------------------------------------------------------------------

  /** Heartbeats over every connection and liveness in the DB. Called by the live heartbeat job. */
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
  }

  /** Stops accepting work, closes every agent socket with 1001 (reconnect) and writes what is buffered. */
  async stop(): Promise<void> {
    this.#stopping = true;
    for (const u of this.#unsubscribe) u();
    for (const conn of this.#conns) this.#close(conn, CLOSE_CODES.GOING_AWAY, 'the hub is shutting down; reconnect');
    await Promise.allSettled([...this.#conns].map((c) => c.chain));
    for (const drain of this.#drains) await drain().catch((err: unknown) => this.#log.warn({ err }, 'drain failed'));
    await this.#agents
      .markReplicaDisconnected(this.#replicaId, Date.now())
      .catch((err: unknown) => this.#log.warn({ err }, 'could not mark agents disconnected'));
  }
}

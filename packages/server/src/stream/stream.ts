import {
  CLOSE_CODES,
  PROTOCOL_VERSION,
  STREAM_LIMITS,
  SpyglassError,
  streamClientMessageSchema,
  type ServiceSelector,
  type StreamServerMessage,
} from '@spyglass/protocol';
import type { FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import type { RawData, WebSocket } from 'ws';
import type { Bus } from '../bus/bus.js';
import type { PoolService } from '../pools/service.js';
import { TOPICS, type ActionsChangedMessage, type LiveEventMessage } from '../gateway/topics.js';

export interface StreamOptions {
  /** Messages queued per client while its socket is backed up; beyond this the oldest are dropped. */
  maxQueuedMessages: number;
  /** Bytes the socket may hold unsent before new messages wait in the queue. */
  maxBufferedBytes: number;
  /** Clients are pinged this often; no pong for two intervals closes the stream. */
  heartbeatIntervalMs: number;
}

const key = (poolId: string, service: string): string => `${poolId}\u0000${service}`;

class StreamClient {
  readonly actionIds = new Set<string>();
  /** `poolId NUL service` → the selector as the client wrote it. */
  readonly services = new Map<string, ServiceSelector>();
  readonly servicePools = new Map<string, number>();
  readonly queue: string[] = [];
  dropped = 0;
  lastSeenAt = Date.now();
  chain: Promise<void> = Promise.resolve();

  constructor(
    readonly ws: WebSocket,
    readonly userId: string,
    readonly opt: StreamOptions,
  ) {}

  get subscriptionCount(): number {
    return this.actionIds.size + this.services.size;
  }

  follows(actionId: string, poolId: string, service: string): boolean {
    return this.actionIds.has(actionId) || this.services.has(key(poolId, service));
  }

  /** Sends now, or queues (dropping the oldest when full) while the socket is backed up. */
  push(message: StreamServerMessage | string): void {
    if (this.ws.readyState !== this.ws.OPEN) return;
    const text = typeof message === 'string' ? message : JSON.stringify(message);
    if (this.queue.length === 0 && this.dropped === 0 && this.ws.bufferedAmount < this.opt.maxBufferedBytes) {
      this.ws.send(text, () => this.pump());
      return;
    }
    this.queue.push(text);
    if (this.queue.length > this.opt.maxQueuedMessages) {
      this.queue.shift();
      this.dropped++;
    }
    this.pump();
  }

  pump(): void {
    while (this.ws.readyState === this.ws.OPEN && this.ws.bufferedAmount < this.opt.maxBufferedBytes) {
      if (this.dropped > 0) {
        const notice: StreamServerMessage = { type: 'dropped', v: PROTOCOL_VERSION, count: this.dropped };
        this.dropped = 0;
        this.ws.send(JSON.stringify(notice), () => this.pump());
        continue;
      }
      const next = this.queue.shift();
      if (next === undefined) return;
      this.ws.send(next, () => this.pump());
    }
  }
}

/**
 * Live streams for the console, CLI and tools: `GET /api/v1/stream`. A client follows actions (by id) or whole
 * services; hits and statuses arrive through the bus from whichever replica holds the agent. Each client has a
 * bounded queue: a slow reader loses the oldest messages and is told how many with a `dropped` message.
 */
export class StreamHub {
  readonly #bus: Bus;
  readonly #pools: PoolService;
  readonly #opt: StreamOptions;
  readonly #log: Logger;
  readonly #clients = new Set<StreamClient>();
  #unsubscribe: (() => void)[] = [];
  #lastPingAt = 0;
  #stopping = false;

  constructor(deps: { bus: Bus; pools: PoolService; log: Logger; options: StreamOptions }) {
    this.#bus = deps.bus;
    this.#pools = deps.pools;
    this.#opt = deps.options;
    this.#log = deps.log.child({ component: 'stream' });
  }

  get clientCount(): number {
    return this.#clients.size;
  }

  handle(ws: WebSocket, request: FastifyRequest): void {
    if (this.#stopping) {
      ws.close(CLOSE_CODES.GOING_AWAY, 'the hub is shutting down');
      return;
    }
    const client = new StreamClient(ws, request.principal?.user.id ?? '', this.#opt);
    this.#clients.add(client);
    // Subscribe to the bus only while someone listens, so an idle hub pays nothing for hits it would not send.
    if (this.#clients.size === 1) {
      this.#unsubscribe = [
        this.#bus.subscribe(TOPICS.events, (m) => this.#onEvent(m as LiveEventMessage)),
        this.#bus.subscribe(TOPICS.actions, (m) => this.#onAction(m as ActionsChangedMessage)),
      ];
    }
    ws.on('message', (data, isBinary) => {
      client.lastSeenAt = Date.now();
      client.chain = client.chain
        .then(() => this.#message(client, data, isBinary))
        .catch((err: unknown) => {
          this.#log.error({ err }, 'stream message failed');
          client.push({
            type: 'error',
            v: PROTOCOL_VERSION,
            code: 'INTERNAL',
            message: 'the hub could not process the message',
          });
        });
    });
    ws.on('pong', () => {
      client.lastSeenAt = Date.now();
    });
    ws.on('close', () => {
      this.#clients.delete(client);
      if (this.#clients.size === 0) {
        for (const u of this.#unsubscribe) u();
        this.#unsubscribe = [];
      }
    });
  }

  async #message(client: StreamClient, data: RawData, isBinary: boolean): Promise<void> {
    const error = (code: string, message: string): void =>
      client.push({ type: 'error', v: PROTOCOL_VERSION, code, message });
    const buf = Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as Buffer);
    if (isBinary) return error('INVALID_INPUT', 'messages must be JSON text');
    if (buf.length > STREAM_LIMITS.maxMessageBytes)
      return error('PAYLOAD_TOO_LARGE', `messages are at most ${STREAM_LIMITS.maxMessageBytes} bytes`);
    let value: unknown;
    try {
      value = JSON.parse(buf.toString('utf8'));
    } catch (err) {
      return error('INVALID_INPUT', `invalid JSON: ${(err as Error).message}`);
    }
    const parsed = streamClientMessageSchema.safeParse(value);
    if (!parsed.success) {
      const msg = parsed.error.issues
        .slice(0, 5)
        .map((i) => `${i.path.join('.') || '(message)'}: ${i.message}`)
        .join('; ');
      return error('INVALID_INPUT', msg);
    }
    const m = parsed.data;
    if (m.type === 'ping')
      return client.push({ type: 'pong', v: PROTOCOL_VERSION, ...(m.id === undefined ? {} : { id: m.id }) });
    const services: { key: string; poolId: string; selector: ServiceSelector }[] = [];
    for (const selector of m.services) {
      try {
        const pool = await this.#pools.get(selector.pool);
        services.push({ key: key(pool.id, selector.service), poolId: pool.id, selector });
      } catch (err) {
        if (err instanceof SpyglassError && err.code === 'NOT_FOUND')
          return error('NOT_FOUND', `pool ${selector.pool} not found`);
        throw err;
      }
    }
    if (m.type === 'subscribe') {
      const added =
        new Set([...m.actionIds.filter((id) => !client.actionIds.has(id))]).size +
        services.filter((s) => !client.services.has(s.key)).length;
      if (client.subscriptionCount + added > STREAM_LIMITS.maxSubscriptions) {
        return error(
          'INVALID_INPUT',
          `a stream follows at most ${STREAM_LIMITS.maxSubscriptions} actions and services`,
        );
      }
      for (const id of m.actionIds) client.actionIds.add(id);
      for (const s of services) {
        if (client.services.has(s.key)) continue;
        client.services.set(s.key, s.selector);
        client.servicePools.set(s.poolId, (client.servicePools.get(s.poolId) ?? 0) + 1);
      }
    } else {
      for (const id of m.actionIds) client.actionIds.delete(id);
      for (const s of services) {
        if (!client.services.delete(s.key)) continue;
        const n = (client.servicePools.get(s.poolId) ?? 1) - 1;
        if (n <= 0) client.servicePools.delete(s.poolId);
        else client.servicePools.set(s.poolId, n);
      }
    }
    client.push({
      type: 'subscribed',
      v: PROTOCOL_VERSION,
      actionIds: [...client.actionIds],
      services: [...client.services.values()],
    });
  }

  #onEvent(e: LiveEventMessage): void {
    const v = PROTOCOL_VERSION;
    for (const client of this.#clients) {
      const follows = (actionId: string): boolean => client.follows(actionId, e.poolId, e.service);
      if (e.kind === 'status') {
        for (const s of e.statuses) {
          if (!follows(s.actionId)) continue;
          client.push({
            type: 'status',
            v,
            actionId: s.actionId,
            agentId: e.agentId,
            status: {
              state: s.state,
              method: s.method ?? null,
              reason: s.reason ?? null,
              location: s.location ?? null,
              at: s.at,
            },
          });
        }
        continue;
      }
      for (const l of e.logs) {
        if (!follows(l.actionId)) continue;
        const { actionId, ...log } = l;
        client.push({ type: 'log', v, actionId, agentId: e.agentId, log });
      }
      for (const s of e.snapshots) {
        if (follows(s.actionId))
          client.push({ type: 'snapshot', v, actionId: s.actionId, agentId: e.agentId, snapshot: s });
      }
      for (const m of e.metrics) {
        if (!follows(m.actionId)) continue;
        const { actionId, ...sample } = m;
        client.push({ type: 'metric', v, actionId, agentId: e.agentId, sample });
      }
    }
  }

  #onAction(m: ActionsChangedMessage): void {
    for (const client of this.#clients) {
      const byService =
        client.servicePools.has(m.poolId) && (m.service === null || client.services.has(key(m.poolId, m.service)));
      if (client.actionIds.has(m.actionId) || byService) {
        client.push({ type: 'action', v: PROTOCOL_VERSION, actionId: m.actionId, event: m.event });
      }
    }
  }

  /** Pings every client; closes those silent for two intervals. Called by the live timer. */
  tick(now: number): void {
    const interval = this.#opt.heartbeatIntervalMs;
    if (now - this.#lastPingAt < interval) return;
    this.#lastPingAt = now;
    for (const client of this.#clients) {
      if (now - client.lastSeenAt > interval * 2) client.ws.terminate();
      else client.ws.ping();
    }
  }

  stop(): void {
    this.#stopping = true;
    for (const client of this.#clients) client.ws.close(CLOSE_CODES.GOING_AWAY, 'the hub is shutting down; reconnect');
    for (const u of this.#unsubscribe) u();
    this.#unsubscribe = [];
  }
}

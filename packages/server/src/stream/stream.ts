import {
  CLOSE_CODES,
  PROTOCOL_VERSION,
  STREAM_LIMITS,
  SpyglassError,
  type Role,
  type StreamServerMessage,
} from '@spyglass/protocol';
import type { FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import type { RawData, WebSocket } from 'ws';
import { z } from 'zod';
import { scopeOf, type PoolScope } from '../pools/scope.js';

export interface StreamOptions {
  /** Messages queued per client while its socket is backed up; beyond this the oldest are dropped. */
  maxQueuedMessages: number;
  /** Bytes the socket may hold unsent before new messages wait in the queue. */
  maxBufferedBytes: number;
  /** Clients are pinged this often; no pong for two intervals closes the stream. */
  heartbeatIntervalMs: number;
}

/** A stream client as a channel sees it. */
export interface StreamClientHandle {
  readonly userId: string;
  /**
   * The subscriber's roles (global and per pool) as they were when the stream opened. Channels deliver only events of
   * pools the subscriber may see (`roleInPool(scope, poolId)` at least viewer).
   */
  readonly scope: PoolScope;
  /** Sends now, or queues (dropping the oldest when full) while the socket is backed up. */
  push(message: object | string): void;
}

/**
 * A kind of live feed clients can follow on `/api/v1/stream` (live debugging's hits and statuses; traces, test runs
 * and Kubernetes objects as their modules add them). A client subscribes with `{"type":"subscribe","channel":NAME,…}`
 * and the channel parses the rest of the message as its filter. The hub owns sockets, queues, heartbeats and limits;
 * a channel owns its filters and what it sends.
 */
export interface StreamChannel<F = unknown, S = unknown> {
  readonly name: string;
  /** The filter fields of a subscribe/unsubscribe message. */
  readonly filter: z.ZodType<F>;
  /** Per-client state, created at the client's first subscription to this channel. */
  create(): S;
  /** How many subscriptions the state holds (the hub caps the total per client). */
  size(state: S): number;
  /** Adds a filter (may throw a coded error, e.g. NOT_FOUND for an unknown pool); returns how many it adds. */
  subscribe(state: S, filter: F, client: StreamClientHandle): Promise<void> | void;
  /** Counts what `subscribe` would add, before it is applied (for the limit). */
  added(state: S, filter: F): Promise<number> | number;
  unsubscribe(state: S, filter: F): Promise<void> | void;
  /** The `subscribed` answer after a change. */
  describe(state: S): StreamServerMessage | Record<string, unknown>;
  /**
   * Starts delivering while at least one client follows this channel (so an idle hub pays nothing); `each` visits the
   * clients that follow it with their state. Returns the function that stops.
   */
  start(each: (visit: (client: StreamClientHandle, state: S) => void) => void): () => void;
}

/** Default channel of a message that names none (the wire format before channels existed). */
const DEFAULT_CHANNEL = 'live';

const envelopeSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('ping'), v: z.literal(PROTOCOL_VERSION), id: z.string().max(64).optional() }),
  z.object({
    type: z.enum(['subscribe', 'unsubscribe']),
    v: z.literal(PROTOCOL_VERSION),
    channel: z.string().min(1).max(64).default(DEFAULT_CHANNEL),
  }),
]);

class StreamClient implements StreamClientHandle {
  /** Channel name → this client's state in it. */
  readonly channels = new Map<string, unknown>();
  readonly queue: string[] = [];
  dropped = 0;
  lastSeenAt = Date.now();
  chain: Promise<void> = Promise.resolve();

  constructor(
    readonly ws: WebSocket,
    readonly userId: string,
    /** Replaced when the user's memberships change (`StreamHub.updatePools`). */
    public scope: PoolScope,
    readonly opt: StreamOptions,
  ) {}

  push(message: object | string): void {
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

function issuesText(error: z.ZodError): string {
  return error.issues
    .slice(0, 5)
    .map((i) => `${i.path.join('.') || '(message)'}: ${i.message}`)
    .join('; ');
}

/**
 * Live streams for the console, CLI and tools: `GET /api/v1/stream`. Modules add channels (`addChannel`); a client
 * follows any of them with filters, and messages arrive through the bus from whichever replica produced them. Each
 * client has a bounded queue: a slow reader loses the oldest messages and is told how many with a `dropped` message.
 */
export class StreamHub {
  readonly #opt: StreamOptions;
  readonly #log: Logger;
  readonly #clients = new Set<StreamClient>();
  readonly #channels = new Map<string, StreamChannel>();
  /** Channel name → its stop function while it delivers. */
  readonly #running = new Map<string, () => void>();
  #lastPingAt = 0;
  #stopping = false;

  constructor(deps: { log: Logger; options: StreamOptions }) {
    this.#opt = deps.options;
    this.#log = deps.log.child({ component: 'stream' });
  }

  addChannel<F, S>(channel: StreamChannel<F, S>): void {
    if (this.#channels.has(channel.name)) throw new Error(`stream channel ${channel.name} is added twice`);
    this.#channels.set(channel.name, channel as unknown as StreamChannel);
  }

  get channelNames(): string[] {
    return [...this.#channels.keys()];
  }

  get clientCount(): number {
    return this.#clients.size;
  }

  /**
   * Gives the open streams of a user their new roles per pool (after a grant or revocation): from the next event on,
   * they receive what the new roles let them see. The global role is left as the stream opened with it (changing it
   * ends the user's sessions).
   */
  updatePools(userId: string, pools: ReadonlyMap<string, Role>): void {
    for (const c of this.#clients) if (c.userId === userId) c.scope = { global: c.scope.global, pools };
  }

  handle(ws: WebSocket, request: FastifyRequest): void {
    if (this.#stopping) {
      ws.close(CLOSE_CODES.GOING_AWAY, 'the hub is shutting down');
      return;
    }
    const client = new StreamClient(ws, request.principal?.user.id ?? '', scopeOf(request.principal), this.#opt);
    this.#clients.add(client);
    ws.on('message', (data, isBinary) => {
      client.lastSeenAt = Date.now();
      client.chain = client.chain
        .then(() => this.#message(client, data, isBinary))
        .catch((err: unknown) => {
          if (err instanceof SpyglassError && err.status < 500) {
            client.push({ type: 'error', v: PROTOCOL_VERSION, code: err.code, message: err.message });
            return;
          }
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
      for (const name of client.channels.keys()) this.#stopIfIdle(name);
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
    const envelope = envelopeSchema.safeParse(value);
    if (!envelope.success) return error('INVALID_INPUT', issuesText(envelope.error));
    const m = envelope.data;
    if (m.type === 'ping')
      return client.push({ type: 'pong', v: PROTOCOL_VERSION, ...(m.id === undefined ? {} : { id: m.id }) });
    const channel = this.#channels.get(m.channel);
    if (channel === undefined) {
      return error(
        'INVALID_INPUT',
        `channel: unknown stream channel ${JSON.stringify(m.channel)}; this hub has ${this.channelNames.join(', ')}`,
      );
    }
    const filter = channel.filter.safeParse(value);
    if (!filter.success) return error('INVALID_INPUT', issuesText(filter.error));
    let state = client.channels.get(channel.name);
    if (m.type === 'subscribe') {
      state ??= channel.create();
      const total = [...client.channels].reduce((n, [name, s]) => n + (this.#channels.get(name)?.size(s) ?? 0), 0);
      const added = await channel.added(state, filter.data);
      if (total + added > STREAM_LIMITS.maxSubscriptions) {
        return error(
          'INVALID_INPUT',
          `a stream follows at most ${STREAM_LIMITS.maxSubscriptions} actions and services`,
        );
      }
      await channel.subscribe(state, filter.data, client);
      // The client may have gone while the channel resolved its filter: nothing to follow for it then.
      if (!this.#clients.has(client)) return;
      if (!client.channels.has(channel.name)) client.channels.set(channel.name, state);
      this.#startIfNeeded(channel);
    } else if (state !== undefined) {
      await channel.unsubscribe(state, filter.data);
    }
    client.push(channel.describe(state ?? channel.create()));
  }

  #startIfNeeded(channel: StreamChannel): void {
    if (this.#running.has(channel.name) || this.#stopping) return;
    const stop = channel.start((visit) => {
      for (const client of this.#clients) {
        const state = client.channels.get(channel.name);
        if (state !== undefined) visit(client, state);
      }
    });
    this.#running.set(channel.name, stop);
  }

  #stopIfIdle(name: string): void {
    for (const c of this.#clients) if (c.channels.has(name)) return;
    this.#running.get(name)?.();
    this.#running.delete(name);
  }

  /** Pings every client; closes those silent for two intervals. Called by the stream heartbeat job. */
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
    for (const stop of this.#running.values()) stop();
    this.#running.clear();
  }
}

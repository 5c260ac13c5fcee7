import { randomUUID } from 'node:crypto';
import { Redis, type RedisOptions } from 'ioredis';
import type { Logger } from 'pino';
import { Counter, Gauge, type Registry } from 'prom-client';
import { redactUrl } from '../storage/redact-url.js';
import { topicName, type Bus, type BusHandler, type TopicRef } from './bus.js';

export interface RedisBusOptions {
  /** `redis://` or `rediss://` (TLS) URL, with credentials and database if needed. */
  url: string;
  /**
   * Prefix of every channel name. Redis pub/sub ignores the database number, so installations sharing one Redis
   * server must use different prefixes.
   */
  channelPrefix?: string;
  log: Logger;
  /** Where the bus's Prometheus metrics are registered. */
  registry?: Registry;
  onHandlerError?: (err: unknown, topic: string) => void;
  /** Longest wait between two reconnection attempts. */
  maxReconnectDelayMs?: number;
  /** A publish that Redis has not acknowledged after this long counts as failed. */
  publishTimeoutMs?: number;
}

/** What travels on a channel: the publishing bus instance and the message. */
interface Envelope {
  o: string;
  m: unknown;
}

function isEnvelope(value: unknown): value is Envelope {
  return (
    typeof value === 'object' && value !== null && typeof (value as { o?: unknown }).o === 'string' && 'm' in value
  );
}

/** `redis://user:***@host:6379/0`, for logs. */
export function redactRedisUrl(url: string): string {
  return redactUrl(url, 'Redis');
}

/** Exponential backoff with jitter, capped. `attempt` starts at 1. */
export function reconnectDelayMs(attempt: number, maxMs: number, random: () => number = Math.random): number {
  const base = Math.min(maxMs, 100 * 2 ** Math.min(attempt - 1, 16));
  return Math.round(base / 2 + (random() * base) / 2);
}

const METRIC_NAMES = [
  'spyglass_bus_connected',
  'spyglass_bus_messages_published_total',
  'spyglass_bus_publish_failures_total',
  'spyglass_bus_messages_received_total',
  'spyglass_bus_invalid_messages_total',
  'spyglass_bus_reconnects_total',
] as const;

interface BusMetrics {
  connected: Gauge;
  published: Counter;
  publishFailures: Counter;
  received: Counter;
  invalid: Counter;
  reconnects: Counter;
}

function createBusMetrics(registry: Registry | undefined): BusMetrics {
  const registers = registry === undefined ? [] : [registry];
  return {
    connected: new Gauge({
      name: 'spyglass_bus_connected',
      help: '1 while both Redis bus connections are ready, else 0',
      registers,
    }),
    published: new Counter({
      name: 'spyglass_bus_messages_published_total',
      help: 'Messages published to Redis',
      registers,
    }),
    publishFailures: new Counter({
      name: 'spyglass_bus_publish_failures_total',
      help: 'Messages that could not be published to Redis (the database still holds the change)',
      registers,
    }),
    received: new Counter({
      name: 'spyglass_bus_messages_received_total',
      help: 'Messages received from other hub replicas',
      registers,
    }),
    invalid: new Counter({
      name: 'spyglass_bus_invalid_messages_total',
      help: 'Messages on a bus channel that were not valid JSON envelopes',
      registers,
    }),
    reconnects: new Counter({
      name: 'spyglass_bus_reconnects_total',
      help: 'Times the bus subscriptions were re-established after a lost connection',
      registers,
    }),
  };
}

/**
 * The bus between hub replicas over Redis pub/sub: one connection publishes, one subscribes.
 *
 * - Local subscribers get local messages directly (as with `MemoryBus`), so one replica keeps working while Redis is
 *   down; Redis carries messages to the other replicas, and each replica ignores its own echo.
 * - Both connections reconnect with capped exponential backoff. After the subscriber connection is back, every topic
 *   is subscribed again and `onReconnect` handlers run: messages sent meanwhile are gone, so they reload from the
 *   database.
 * - `publish` never rejects: while Redis is unreachable it counts and logs the failure and resolves.
 */
export class RedisBus implements Bus {
  readonly kind = 'redis' as const;
  readonly #id = randomUUID();
  readonly #prefix: string;
  readonly #log: Logger;
  readonly #onHandlerError: (err: unknown, topic: string) => void;
  readonly #publishTimeoutMs: number;
  readonly #pub: Redis;
  readonly #sub: Redis;
  readonly #handlers = new Map<string, Set<BusHandler>>();
  readonly #reconnectHandlers = new Set<() => void>();
  readonly #metrics: BusMetrics;
  readonly #registry: Registry | undefined;
  #closed = false;
  /** True once the subscriber connection has been ready; later readies are reconnections. */
  #everSubscribed = false;
  /** Set while Redis is unreachable, so an outage is logged once, not once per message. */
  #outageLogged = false;

  constructor(options: RedisBusOptions) {
    this.#prefix = options.channelPrefix ?? 'spyglass';
    this.#log = options.log;
    this.#onHandlerError = options.onHandlerError ?? (() => {});
    this.#publishTimeoutMs = options.publishTimeoutMs ?? 2000;
    this.#registry = options.registry;
    this.#metrics = createBusMetrics(options.registry);
    const maxDelayMs = options.maxReconnectDelayMs ?? 5000;
    const common: RedisOptions = {
      retryStrategy: (attempt) => reconnectDelayMs(attempt, maxDelayMs),
      // Fail fast while disconnected instead of queueing: the database is the source of truth, and a queue of stale
      // signals replayed after an outage helps nobody.
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      connectTimeout: 5000,
      autoResubscribe: false,
      autoResendUnfulfilledCommands: false,
      lazyConnect: true,
    };
    this.#pub = new Redis(options.url, {
      ...common,
      connectionName: 'spyglass-bus-pub',
      commandTimeout: this.#publishTimeoutMs,
    });
    this.#sub = new Redis(options.url, { ...common, connectionName: 'spyglass-bus-sub' });

    for (const [role, conn] of [
      ['publisher', this.#pub],
      ['subscriber', this.#sub],
    ] as const) {
      conn.on('error', (err: Error) => this.#outage(role, err));
      conn.on('close', () => this.#outage(role, new Error('connection closed')));
      conn.on('ready', () => {
        this.#updateConnected();
        if (role === 'subscriber') void this.#resubscribe();
        else this.#recovered();
      });
    }
    this.#sub.on('messageBuffer', (channel: Buffer, message: Buffer) =>
      this.#receive(channel.toString('utf8'), message),
    );

    this.#log.info({ redis: redactRedisUrl(options.url), channelPrefix: this.#prefix }, 'connecting the Redis bus');
    this.#pub.connect().catch(() => {});
    this.#sub.connect().catch(() => {});
  }

  /** True while both connections are ready. */
  get connected(): boolean {
    return !this.#closed && this.#pub.status === 'ready' && this.#sub.status === 'ready';
  }

  /** Resolves true once both connections are ready, false after `timeoutMs`. */
  async waitUntilConnected(timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (!this.connected && !this.#closed) {
      if (Date.now() >= deadline) return false;
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    return this.connected;
  }

  publish<T>(ref: TopicRef<T>, message: T): Promise<void> {
    const topic = topicName(ref);
    const text = JSON.stringify({ o: this.#id, m: message } satisfies Envelope);
    this.#deliver(topic, message);
    if (this.#closed) return Promise.resolve();
    return this.#pub.publish(this.#channel(topic), text).then(
      () => {
        this.#metrics.published.inc();
        if (this.#outageLogged) this.#recovered();
      },
      (err: unknown) => {
        this.#metrics.publishFailures.inc();
        this.#outage('publisher', err);
      },
    );
  }

  subscribe<T>(ref: TopicRef<T>, typed: BusHandler<T>): () => void {
    const topic = topicName(ref);
    const handler = typed as BusHandler;
    let set = this.#handlers.get(topic);
    if (set === undefined) {
      set = new Set();
      this.#handlers.set(topic, set);
      if (this.#sub.status === 'ready') {
        this.#sub.subscribe(this.#channel(topic)).catch((err: unknown) => this.#outage('subscriber', err));
      }
    }
    set.add(handler);
    return () => {
      if (!set.delete(handler) || set.size > 0 || this.#handlers.get(topic) !== set) return;
      this.#handlers.delete(topic);
      if (this.#sub.status === 'ready') this.#sub.unsubscribe(this.#channel(topic)).catch(() => {});
    };
  }

  onReconnect(handler: () => void): () => void {
    this.#reconnectHandlers.add(handler);
    return () => {
      this.#reconnectHandlers.delete(handler);
    };
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#handlers.clear();
    this.#reconnectHandlers.clear();
    await Promise.all([this.#pub, this.#sub].map((conn) => quit(conn)));
    this.#metrics.connected.set(0);
    // The registry may outlive this bus (tests build several apps); a new bus registers the names again.
    for (const name of METRIC_NAMES) this.#registry?.removeSingleMetric(name);
  }

  #channel(topic: string): string {
    return `${this.#prefix}:${topic}`;
  }

  #deliver(topic: string, message: unknown): void {
    const handlers = this.#handlers.get(topic);
    if (handlers === undefined || handlers.size === 0) return;
    // Each handler gets its own copy, as it would from the network.
    const text = JSON.stringify(message);
    for (const handler of [...handlers]) {
      setImmediate(() => {
        try {
          handler(text === undefined ? undefined : JSON.parse(text));
        } catch (err) {
          this.#onHandlerError(err, topic);
        }
      });
    }
  }

  #receive(channel: string, raw: Buffer): void {
    const head = `${this.#prefix}:`;
    if (!channel.startsWith(head)) return;
    let envelope: unknown;
    try {
      envelope = JSON.parse(raw.toString('utf8'));
    } catch {
      envelope = undefined;
    }
    if (!isEnvelope(envelope)) {
      this.#metrics.invalid.inc();
      this.#log.warn({ channel }, 'ignored a bus message that is not a Spyglass envelope');
      return;
    }
    if (envelope.o === this.#id) return; // our own message, already delivered locally
    this.#metrics.received.inc();
    const topic = channel.slice(head.length);
    const handlers = this.#handlers.get(topic);
    if (handlers === undefined) return;
    for (const handler of [...handlers]) {
      try {
        // Handlers may keep or change what they get: parse once per handler when there are several.
        handler(handlers.size === 1 ? envelope.m : JSON.parse(JSON.stringify(envelope.m)));
      } catch (err) {
        this.#onHandlerError(err, topic);
      }
    }
  }

  async #resubscribe(): Promise<void> {
    const channels = [...this.#handlers.keys()].map((t) => this.#channel(t));
    try {
      if (channels.length > 0) await this.#sub.subscribe(...channels);
    } catch (err) {
      // The connection dropped again; the next ready event retries.
      this.#outage('subscriber', err);
      return;
    }
    if (this.#closed) return;
    const reconnected = this.#everSubscribed;
    this.#everSubscribed = true;
    if (reconnected) this.#metrics.reconnects.inc();
    if (!reconnected) this.#log.info({ topics: channels.length }, 'Redis bus connected');
    this.#recovered();
    // Even on the first connection: the hub may have served agents before Redis was reachable.
    for (const handler of [...this.#reconnectHandlers]) {
      try {
        handler();
      } catch (err) {
        this.#onHandlerError(err, 'reconnect');
      }
    }
  }

  /** Logs the end of an outage once both connections are back. */
  #recovered(): void {
    if (!this.#outageLogged || !this.connected) return;
    this.#outageLogged = false;
    this.#log.info('Redis bus reconnected');
  }

  #updateConnected(): void {
    this.#metrics.connected.set(this.connected ? 1 : 0);
  }

  #outage(role: 'publisher' | 'subscriber', err: unknown): void {
    this.#updateConnected();
    if (this.#closed) return;
    if (!this.#outageLogged) {
      this.#outageLogged = true;
      this.#log.warn({ err, connection: role }, 'Redis bus unavailable; replicas see changes again once it reconnects');
    } else {
      this.#log.debug({ err, connection: role }, 'Redis bus still unavailable');
    }
  }
}

async function quit(conn: Redis): Promise<void> {
  if (conn.status === 'ready') {
    const timeout = new Promise<void>((resolve) => setTimeout(resolve, 1000).unref());
    await Promise.race([
      conn.quit().then(
        () => undefined,
        () => undefined,
      ),
      timeout,
    ]);
  }
  conn.disconnect();
}

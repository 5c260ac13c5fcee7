import { PROTOCOL_VERSION, type ServiceSelector, type StreamServerMessage } from '@spyglass/protocol';
import { SpyglassClientError } from './errors.js';

/** The part of the WHATWG WebSocket API the stream uses; the browser's WebSocket and `ws` both provide it. */
interface SocketLike {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  addEventListener(type: 'open' | 'close' | 'error' | 'message', listener: (event: never) => void): void;
}

export interface StreamOpenOptions {
  /** `ws://…/api/v1/stream` */
  url: string;
  headers: Record<string, string>;
}

export interface Subscription {
  actionIds?: string[];
  services?: ServiceSelector[];
}

export type StreamListener = (message: StreamServerMessage) => void;

const isNode = typeof process !== 'undefined' && typeof process.versions?.node === 'string';

async function openSocket(options: StreamOpenOptions): Promise<SocketLike> {
  if (isNode) {
    // Node: `ws`, which can send the Authorization/Cookie headers a browser WebSocket cannot.
    const { WebSocket } = await import('ws');
    return new WebSocket(options.url, { headers: options.headers }) as unknown as SocketLike;
  }
  // Browser: the session cookie goes along by itself.
  const Ctor = (globalThis as unknown as { WebSocket: new (url: string) => SocketLike }).WebSocket;
  return new Ctor(options.url);
}

function closedBeforeConfirmed(info: { code: number; reason: string }): SpyglassClientError {
  const detail = `${info.code}${info.reason === '' ? '' : ` ${info.reason}`}`;
  return new SpyglassClientError(
    'UNAVAILABLE',
    `the live stream closed (${detail}) before the hub confirmed the subscription`,
    {
      status: 0,
    },
  );
}

/**
 * A live stream (`GET /api/v1/stream`): follow actions or services and receive their logs, snapshots, metric samples,
 * statuses and lifecycle changes as they happen. Messages go to listeners and to an async iterator.
 */
export class LiveStream implements AsyncIterable<StreamServerMessage> {
  readonly #socket: SocketLike;
  readonly #listeners = new Set<StreamListener>();
  readonly #pendingSubscribe: { resolve: () => void; reject: (e: Error) => void }[] = [];
  /** Set when the socket closed: `{ code, reason }`. */
  closeInfo: { code: number; reason: string } | null = null;
  readonly closed: Promise<{ code: number; reason: string }>;

  private constructor(socket: SocketLike) {
    this.#socket = socket;
    this.closed = new Promise((resolve) => {
      socket.addEventListener('close', (event: { code: number; reason: string }) => {
        this.closeInfo = { code: event.code, reason: event.reason };
        for (const p of this.#pendingSubscribe.splice(0)) p.reject(closedBeforeConfirmed(this.closeInfo));
        resolve(this.closeInfo);
      });
    });
    socket.addEventListener('message', (event: { data: unknown }) => {
      let message: StreamServerMessage;
      try {
        message = JSON.parse(String(event.data)) as StreamServerMessage;
      } catch {
        return;
      }
      if (message.type === 'subscribed') this.#pendingSubscribe.shift()?.resolve();
      if (message.type === 'error' && this.#pendingSubscribe.length > 0) {
        this.#pendingSubscribe.shift()?.reject(new Error(`${message.code}: ${message.message}`));
      }
      for (const listener of this.#listeners) listener(message);
    });
  }

  static async open(options: StreamOpenOptions): Promise<LiveStream> {
    const socket = await openSocket(options);
    const stream = new LiveStream(socket);
    await new Promise<void>((resolve, reject) => {
      socket.addEventListener('open', () => resolve());
      socket.addEventListener('error', (event: { message?: string }) =>
        reject(
          new SpyglassClientError(
            'UNAVAILABLE',
            `could not open the live stream: ${event.message ?? 'connection failed'}`,
            {
              status: 0,
            },
          ),
        ),
      );
    });
    return stream;
  }

  /** Adds actions and/or services to follow; resolves when the hub confirms. */
  subscribe(subscription: Subscription): Promise<void> {
    return this.#request('subscribe', subscription);
  }

  unsubscribe(subscription: Subscription): Promise<void> {
    return this.#request('unsubscribe', subscription);
  }

  /**
   * Follows another channel of the stream with that channel's filter, e.g. `subscribeChannel('traces', { services:
   * ['*'] })`; its messages come to the same listeners. Resolves when the hub confirms.
   */
  subscribeChannel(channel: string, filter: Record<string, unknown>): Promise<void> {
    return this.#send('subscribe', { channel, ...filter });
  }

  unsubscribeChannel(channel: string, filter: Record<string, unknown>): Promise<void> {
    return this.#send('unsubscribe', { channel, ...filter });
  }

  #request(type: 'subscribe' | 'unsubscribe', s: Subscription): Promise<void> {
    return this.#send(type, { actionIds: s.actionIds ?? [], services: s.services ?? [] });
  }

  #send(type: 'subscribe' | 'unsubscribe', fields: Record<string, unknown>): Promise<void> {
    return new Promise((resolve, reject) => {
      if (this.closeInfo !== null) return reject(closedBeforeConfirmed(this.closeInfo));
      this.#pendingSubscribe.push({ resolve, reject });
      this.#socket.send(JSON.stringify({ ...fields, type, v: PROTOCOL_VERSION }));
    });
  }

  /** Calls `listener` for every message; returns a function that stops it. */
  on(listener: StreamListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Resolves with the next message that passes `test` (rejects after `timeoutMs`). */
  next<T extends StreamServerMessage['type']>(
    type: T,
    test: (m: Extract<StreamServerMessage, { type: T }>) => boolean = () => true,
    timeoutMs = 10_000,
  ): Promise<Extract<StreamServerMessage, { type: T }>> {
    return new Promise((resolve, reject) => {
      const stop = this.on((m) => {
        if (m.type !== type || !test(m as Extract<StreamServerMessage, { type: T }>)) return;
        stop();
        clearTimeout(timer);
        resolve(m as Extract<StreamServerMessage, { type: T }>);
      });
      const timer = setTimeout(() => {
        stop();
        reject(new Error(`no ${type} message within ${timeoutMs} ms`));
      }, timeoutMs);
    });
  }

  close(): Promise<{ code: number; reason: string }> {
    this.#socket.close(1000, 'client closed');
    return this.closed;
  }

  async *[Symbol.asyncIterator](): AsyncIterator<StreamServerMessage> {
    const buffered: StreamServerMessage[] = [];
    let wake: (() => void) | null = null;
    const stop = this.on((m) => {
      buffered.push(m);
      if (buffered.length > 10_000) buffered.shift();
      wake?.();
    });
    void this.closed.then(() => wake?.());
    try {
      for (;;) {
        const m = buffered.shift();
        if (m !== undefined) {
          yield m;
          continue;
        }
        if (this.closeInfo !== null) return;
        await new Promise<void>((resolve) => (wake = resolve));
        wake = null;
      }
    } finally {
      stop();
    }
  }
}

/**
 * The bus carries signals between hub replicas ("actions changed", live hits, agent presence). The database stays the
 * source of truth: a lost bus message may delay an update, never lose data. Messages must be JSON-serialisable so the
 * Redis implementation can carry them unchanged.
 */
export type BusHandler<T = unknown> = (message: T) => void;

/**
 * A typed topic: its name on the wire and, as a type only, the message it carries. Modules define their topics with
 * `defineTopic` next to the code that publishes them; names are dotted and start with the module's name.
 */
export interface Topic<T> {
  readonly name: string;
  /** Type marker only; never set. */
  readonly message?: T;
}

export function defineTopic<T>(name: string): Topic<T> {
  if (!/^[a-z][a-z0-9-]*(\.[a-z][a-z0-9-]*)+$/.test(name))
    throw new Error(`topic name ${name} must be dotted lower-case`);
  return Object.freeze({ name });
}

/** A topic, or a raw channel name (transport tests). */
export type TopicRef<T> = Topic<T> | string;

export const topicName = (topic: TopicRef<unknown>): string => (typeof topic === 'string' ? topic : topic.name);

export interface Bus {
  readonly kind: 'memory' | 'redis';
  publish<T>(topic: TopicRef<T>, message: T): Promise<void>;
  /** Returns a function that removes the subscription. */
  subscribe<T>(topic: TopicRef<T>, handler: BusHandler<T>): () => void;
  /**
   * Runs `handler` each time the bus (re)connects to the other replicas. Messages published while it was away are
   * gone, so a subscriber that keeps state derived from them reloads it from the database here. Never called by the
   * in-memory bus, which cannot lose messages. Returns a function that removes the handler.
   */
  onReconnect(handler: () => void): () => void;
  close(): Promise<void>;
}

/** One hub process: delivers on a later tick, like a network bus would, and isolates handler failures. */
export class MemoryBus implements Bus {
  readonly kind = 'memory' as const;
  readonly #handlers = new Map<string, Set<BusHandler>>();
  readonly #onHandlerError: (err: unknown, topic: string) => void;

  constructor(onHandlerError: (err: unknown, topic: string) => void = () => {}) {
    this.#onHandlerError = onHandlerError;
  }

  publish<T>(ref: TopicRef<T>, message: T): Promise<void> {
    const topic = topicName(ref);
    const handlers = this.#handlers.get(topic);
    if (handlers === undefined || handlers.size === 0) return Promise.resolve();
    // Serialise like a real bus would, so no subscriber can mutate the publisher's object.
    const text = JSON.stringify(message);
    for (const handler of [...handlers]) {
      setImmediate(() => {
        try {
          handler(JSON.parse(text));
        } catch (err) {
          this.#onHandlerError(err, topic);
        }
      });
    }
    return Promise.resolve();
  }

  subscribe<T>(ref: TopicRef<T>, typed: BusHandler<T>): () => void {
    const topic = topicName(ref);
    const handler = typed as BusHandler;
    let set = this.#handlers.get(topic);
    if (set === undefined) {
      set = new Set();
      this.#handlers.set(topic, set);
    }
    set.add(handler);
    return () => {
      set.delete(handler);
      if (set.size === 0) this.#handlers.delete(topic);
    };
  }

  onReconnect(_handler: () => void): () => void {
    return () => {};
  }

  close(): Promise<void> {
    this.#handlers.clear();
    return Promise.resolve();
  }
}

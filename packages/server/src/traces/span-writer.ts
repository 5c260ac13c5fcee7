import type { SpanRow, SpanStore } from './span-store.js';

export interface SpanWriterOptions {
  /** Spans accepted but not yet stored, at most; beyond it `offer` answers `busy` (OTLP's retryable answer). */
  maxQueuedSpans: number;
  /** Spans per write at most (several requests' spans go in one write). */
  maxBatchSpans: number;
  now?: () => number;
}

export interface WriteStats {
  spans: number;
  ms: number;
}

interface Pending {
  rows: readonly SpanRow[];
  resolve: () => void;
  reject: (err: unknown) => void;
}

export class SpanWriterClosedError extends Error {
  constructor() {
    super('the hub is shutting down');
    this.name = 'SpanWriterClosedError';
  }
}

/**
 * Writes spans off the request path in batches: requests queue their spans and wait; one write at a time takes
 * everything queued (up to a batch) into one store call, so a busy hub writes larger batches rather than more of
 * them (group commit). The queue is bounded: past it, `offer` refuses at once and the sender retries later, so memory
 * never grows with a slow store. A request's promise settles when its spans are stored (or the write failed).
 */
export class SpanWriter {
  readonly #store: SpanStore;
  readonly #opt: SpanWriterOptions;
  readonly #now: () => number;
  readonly #queue: Pending[] = [];
  #queued = 0;
  #writing = false;
  #closed = false;
  #idle: (() => void)[] = [];
  readonly #listeners: ((rows: readonly SpanRow[], stats: WriteStats) => void)[] = [];
  readonly #failures: ((err: unknown, spans: number) => void)[] = [];

  constructor(store: SpanStore, options: SpanWriterOptions) {
    this.#store = store;
    this.#opt = options;
    this.#now = options.now ?? Date.now;
  }

  /** Spans waiting to be written. */
  get queuedSpans(): number {
    return this.#queued;
  }

  /** Called after each successful write with its rows. */
  onWrite(listener: (rows: readonly SpanRow[], stats: WriteStats) => void): void {
    this.#listeners.push(listener);
  }

  onFailure(listener: (err: unknown, spans: number) => void): void {
    this.#failures.push(listener);
  }

  /** Queues rows; `busy` when the queue is full (nothing queued then). The promise settles when they are stored. */
  offer(rows: readonly SpanRow[]): Promise<void> | 'busy' {
    if (this.#closed) return Promise.reject(new SpanWriterClosedError());
    if (rows.length === 0) return Promise.resolve();
    if (this.#queued > 0 && this.#queued + rows.length > this.#opt.maxQueuedSpans) return 'busy';
    return new Promise<void>((resolve, reject) => {
      this.#queue.push({ rows, resolve, reject });
      this.#queued += rows.length;
      if (!this.#writing) void this.#drain();
    });
  }

  async #drain(): Promise<void> {
    this.#writing = true;
    try {
      while (this.#queue.length > 0) {
        const batch: Pending[] = [];
        let n = 0;
        while (this.#queue.length > 0 && (n === 0 || n + this.#queue[0]!.rows.length <= this.#opt.maxBatchSpans)) {
          const p = this.#queue.shift()!;
          batch.push(p);
          n += p.rows.length;
        }
        const rows = batch.length === 1 ? batch[0]!.rows : batch.flatMap((p) => p.rows);
        const started = performance.now();
        try {
          await this.#store.insert(rows, this.#now());
          this.#queued -= n;
          for (const p of batch) p.resolve();
          const stats = { spans: n, ms: performance.now() - started };
          for (const l of this.#listeners) {
            try {
              l(rows, stats);
            } catch {
              // A listener's failure must not fail the requests whose spans are stored.
            }
          }
        } catch (err) {
          this.#queued -= n;
          for (const f of this.#failures) f(err, n);
          for (const p of batch) p.reject(err);
        }
      }
    } finally {
      this.#writing = false;
      for (const resolve of this.#idle.splice(0)) resolve();
    }
  }

  /** Resolves when everything queued so far has been written (or failed). */
  flush(): Promise<void> {
    if (!this.#writing && this.#queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idle.push(resolve));
  }

  /** Refuses new spans and waits for the queued ones. */
  async close(): Promise<void> {
    this.#closed = true;
    await this.flush();
  }
}

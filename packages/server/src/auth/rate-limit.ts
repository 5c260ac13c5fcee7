/**
 * Counts failures per key in a fixed window. Memory is bounded: at most `maxKeys` keys are tracked; the oldest
 * window is evicted first. Per hub replica (an attacker spreading over replicas gets at most N× the budget).
 */
export class FailureLimiter {
  readonly #windows = new Map<string, { start: number; count: number }>();
  readonly #max: number;
  readonly #windowMs: number;
  readonly #maxKeys: number;
  readonly #now: () => number;

  constructor(max: number, windowMs: number, options: { maxKeys?: number; now?: () => number } = {}) {
    this.#max = max;
    this.#windowMs = windowMs;
    this.#maxKeys = options.maxKeys ?? 100_000;
    this.#now = options.now ?? Date.now;
  }

  /** Seconds until `key` may try again, or 0 when it may try now. */
  retryAfterSec(key: string): number {
    const w = this.#windows.get(key);
    if (w === undefined) return 0;
    const now = this.#now();
    if (now - w.start >= this.#windowMs) {
      this.#windows.delete(key);
      return 0;
    }
    return w.count >= this.#max ? Math.max(1, Math.ceil((w.start + this.#windowMs - now) / 1000)) : 0;
  }

  fail(key: string): void {
    const now = this.#now();
    const w = this.#windows.get(key);
    if (w === undefined || now - w.start >= this.#windowMs) {
      this.#windows.delete(key);
      if (this.#windows.size >= this.#maxKeys) {
        const oldest = this.#windows.keys().next();
        if (oldest.done !== true) this.#windows.delete(oldest.value);
      }
      this.#windows.set(key, { start: now, count: 1 });
    } else {
      w.count += 1;
    }
  }

  reset(key: string): void {
    this.#windows.delete(key);
  }
}

/**
 * Leaky bucket over a cost (CPU milliseconds, log lines, bytes). The level drains at `ratePerSec`; a charge that
 * would push it above `capacity` trips the bucket, and it stays tripped until the level falls back to half.
 */
export class LeakyBucket {
  private level = 0;
  private last: number;
  private tripped = false;

  constructor(
    readonly ratePerSec: number,
    readonly capacity: number,
    private readonly now: () => number,
  ) {
    this.last = now();
  }

  private drain(at?: number): void {
    const t = at ?? this.now();
    const elapsed = t - this.last;
    if (elapsed > 0) {
      this.level = Math.max(0, this.level - (elapsed / 1000) * this.ratePerSec);
      this.last = t;
    }
    if (this.tripped && this.level <= this.capacity / 2) this.tripped = false;
  }

  /** Add a cost (optionally at a time the caller already read); returns false once the bucket is over capacity. */
  charge(cost: number, at?: number): boolean {
    this.drain(at);
    this.level += cost;
    if (this.level > this.capacity) this.tripped = true;
    return !this.tripped;
  }

  /** Whether more work may run now. */
  allows(at?: number): boolean {
    this.drain(at);
    return !this.tripped;
  }

  get current(): number {
    return this.level;
  }
}

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

  /**
   * Takes `cost` out of `credit`, a part of the bucket charged in advance, so that a caller on a hot path can count
   * down a number of its own instead of charging the bucket each time. When the credit does not cover the cost, it is
   * topped up with all the room the bucket has left (charged now); when even that is too little, the cost is charged
   * as `charge` does, which trips the bucket. Returns the credit left, or -1 once the bucket is over capacity. What
   * is not used is given back with `refund`: meanwhile the bucket counts it as spent, so what it admits stays within
   * its capacity and rate, as with `charge`.
   */
  take(credit: number, cost: number, at: number): number {
    if (credit >= cost) return credit - cost;
    this.drain(at);
    const room = this.tripped ? 0 : Math.floor(this.capacity - this.level);
    if (credit + room < cost) return this.charge(cost - credit, at) ? 0 : -1;
    this.level += room;
    return credit + room - cost;
  }

  /** Gives back a credit from `take` that was not used. */
  refund(credit: number): void {
    if (credit > 0) this.level = Math.max(0, this.level - credit);
  }

  /**
   * Adds a cost incurred while the caller may not run (work V8 does for a throttled action before its breakpoint can
   * leave V8): it keeps the bucket tripped as long as that work went on, counted up to twice the capacity, so that it
   * never keeps the bucket tripped longer than `1.5 · capacity / rate` after it stops.
   */
  chargeResting(cost: number, at?: number): void {
    this.drain(at);
    this.level = Math.min(this.level + cost, Math.max(this.level, 2 * this.capacity));
    if (this.level > this.capacity) this.tripped = true;
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

const cpuUsage = process.cpuUsage.bind(process);

/**
 * The process's CPU time in ms (`process.cpuUsage`, taken when the agent loads: user and system time of all its
 * threads), NaN if it cannot be read. Never throws. Node's clock of one thread (`process.threadCpuUsage`, in newer
 * versions) is not used: on Linux it moves by scheduler ticks and reads 0 for most spans under a millisecond.
 */
export function cpuTimeMs(): number {
  try {
    const u = cpuUsage();
    return (u.user + u.system) / 1000;
  } catch {
    return NaN;
  }
}

/**
 * What work on the app's thread costs a budget: its wall time, or the CPU the process used meanwhile when that is
 * less. A thread the OS takes the CPU from spends wall time and no CPU: on a loaded machine one snapshot's wall time
 * reached hundreds of ms, and charged as such it kept its action throttled for tens of seconds.
 */
export function chargedMs(wallMs: number, cpuMs: number): number {
  return cpuMs >= 0 && cpuMs < wallMs ? cpuMs : wallMs;
}

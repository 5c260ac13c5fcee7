import type { ActionStatus, LogHit, MetricSample, SnapshotHit } from '@spyglass/protocol/agent-base';
import { PROTOCOL_VERSION } from '@spyglass/protocol/agent-base';

export interface OutboxLimits {
  maxLogs: number;
  maxSnapshots: number;
  maxMetrics: number;
  /** Log text and snapshot JSON held at most (about); past it the oldest logs, then snapshots, are dropped. */
  maxBytes?: number;
}

/** Room a buffered log line takes: its text plus the fields around it. */
const logWeight = (hit: LogHit): number => hit.message.length + 128;

/** A `hits` frame on its way out. Its snapshots are held as their JSON text (see {@link Outbox.snapshot}). */
export interface HitsFrameOut {
  type: 'hits';
  v: typeof PROTOCOL_VERSION;
  logs: LogHit[];
  /** Each snapshot's JSON text. */
  snapshots: string[];
  metrics: MetricSample[];
  dropped: number;
}

/** The wire text of a `hits` frame: the snapshots' texts are spliced in as they are. */
export function hitsFrameText(frame: HitsFrameOut): string {
  const { type, v, logs, snapshots, metrics, dropped } = frame;
  const head = JSON.stringify({ type, v, logs });
  return `${head.slice(0, -1)},"snapshots":[${snapshots.join(',')}],"metrics":${JSON.stringify(metrics)},"dropped":${dropped}}`;
}

/** A bounded FIFO: adding to a full one overwrites the oldest item in O(1) (an array's `shift` moves them all). */
export class Ring<T> {
  private items: (T | undefined)[] = [];
  private head = 0;
  private count = 0;

  constructor(private readonly capacity: number) {}

  get length(): number {
    return this.count;
  }

  get full(): boolean {
    return this.count === this.capacity;
  }

  /** Add an item; when full the oldest is dropped and true is returned. */
  push(item: T): boolean {
    const cap = this.capacity;
    if (this.count < cap) {
      let at = this.head + this.count;
      if (at >= cap) at -= cap;
      this.items[at] = item;
      this.count++;
      return false;
    }
    this.items[this.head] = item;
    this.head = this.head + 1 === cap ? 0 : this.head + 1;
    return true;
  }

  peek(): T | undefined {
    return this.count > 0 ? this.items[this.head] : undefined;
  }

  shift(): T | undefined {
    if (this.count === 0) return undefined;
    const item = this.items[this.head];
    this.items[this.head] = undefined;
    this.head = this.head + 1 === this.capacity ? 0 : this.head + 1;
    this.count--;
    if (this.count === 0) {
      this.head = 0;
      this.items = [];
    }
    return item;
  }
}

/**
 * Bounded buffers of hits waiting for the hub. When one is full the oldest item is dropped and counted; the count
 * travels in the next `hits` frame. Statuses keep only the latest per action and are never dropped.
 */
export class Outbox {
  private readonly logs: Ring<LogHit>;
  private readonly snapshots: Ring<string>;
  private readonly metrics: Ring<MetricSample>;
  private readonly statuses = new Map<string, ActionStatus>();
  /** Dropped since the last frame was built. */
  dropped = 0;
  /** Dropped since start. */
  droppedTotal = 0;
  /** Bytes held by buffered logs and snapshots (estimated when they are added). */
  private bytes = 0;
  private readonly maxBytes: number;

  constructor(limits: OutboxLimits) {
    this.logs = new Ring(limits.maxLogs);
    this.snapshots = new Ring(limits.maxSnapshots);
    this.metrics = new Ring(limits.maxMetrics);
    this.maxBytes = limits.maxBytes ?? Infinity;
  }

  get bufferedBytes(): number {
    return this.bytes;
  }

  private countDrop(): void {
    this.dropped++;
    this.droppedTotal++;
  }

  log(hit: LogHit): void {
    if (this.logs.full) this.bytes -= logWeight(this.logs.peek()!);
    if (this.logs.push(hit)) this.countDrop();
    this.bytes += logWeight(hit);
    this.trim();
  }
  /**
   * A snapshot is held as its JSON text, made here (the text is also its weight). A captured value tree is hundreds
   * of small objects: held as such until the next flush, every scavenge of the app's heap would copy them all (with
   * 100 buffered, a scavenge took 2–4 ms against 1 ms with 5); one flat string is copied in a fraction of that, and
   * the frame splices it in without serialising the hit again.
   */
  snapshot(hit: SnapshotHit): void {
    const text = JSON.stringify(hit);
    if (this.snapshots.full) this.bytes -= this.snapshots.peek()!.length;
    if (this.snapshots.push(text)) this.countDrop();
    this.bytes += text.length;
    this.trim();
  }

  /** Over the byte cap (a hub away for long, with large log lines): drop the oldest logs, then snapshots. */
  private trim(): void {
    while (this.bytes > this.maxBytes) {
      const log = this.logs.shift();
      if (log !== undefined) this.bytes -= logWeight(log);
      else {
        const snap = this.snapshots.shift();
        if (snap === undefined) break;
        this.bytes -= snap.length;
      }
      this.countDrop();
    }
  }
  metric(sample: MetricSample): void {
    if (this.metrics.push(sample)) this.countDrop();
  }
  status(status: ActionStatus): void {
    this.statuses.set(status.actionId, status);
  }

  get hasStatuses(): boolean {
    return this.statuses.size > 0;
  }

  get size(): number {
    return this.logs.length + this.snapshots.length + this.metrics.length;
  }

  takeStatuses(max: number): ActionStatus[] {
    const out: ActionStatus[] = [];
    for (const [id, s] of this.statuses) {
      if (out.length >= max) break;
      out.push(s);
      this.statuses.delete(id);
    }
    return out;
  }

  /** Build one frame of at most `maxItems` items and about `maxBytes` of JSON; undefined when nothing is waiting. */
  takeFrame(maxItems: number, maxBytes: number): HitsFrameOut | undefined {
    if (this.size === 0 && this.dropped === 0) return undefined;
    const frame: HitsFrameOut = { type: 'hits', v: PROTOCOL_VERSION, logs: [], snapshots: [], metrics: [], dropped: 0 };
    let bytes = 200;
    let items = 0;
    const budget = maxBytes - 1024;
    /** `weigh`: what an item counts in `bufferedBytes`; `length`: the length of its text in the frame. */
    const fill = <T>(
      from: Ring<T>,
      to: T[],
      weigh: (item: T) => number,
      length = (item: T) => JSON.stringify(item).length,
    ): void => {
      while (from.length > 0 && items < maxItems) {
        const size = length(from.peek()!) + 1;
        if (size > budget) {
          this.bytes -= weigh(from.shift()!);
          this.countDrop();
          continue;
        }
        if (bytes + size > budget) return;
        const item = from.shift()!;
        this.bytes -= weigh(item);
        to.push(item);
        bytes += size;
        items++;
      }
    };
    fill(this.metrics, frame.metrics, () => 0);
    const textLength = (t: string): number => t.length;
    fill(this.snapshots, frame.snapshots, textLength, textLength);
    fill(this.logs, frame.logs, logWeight);
    frame.dropped = this.dropped;
    this.dropped = 0;
    return frame;
  }
}

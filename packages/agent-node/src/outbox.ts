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

export interface HitsFrameOut {
  type: 'hits';
  v: typeof PROTOCOL_VERSION;
  logs: LogHit[];
  snapshots: SnapshotHit[];
  metrics: MetricSample[];
  dropped: number;
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
  private readonly snapshots: Ring<SnapshotHit>;
  private readonly metrics: Ring<MetricSample>;
  private readonly statuses = new Map<string, ActionStatus>();
  /** Dropped since the last frame was built. */
  dropped = 0;
  /** Dropped since start. */
  droppedTotal = 0;
  /** Bytes held by buffered logs and snapshots (estimated when they are added). */
  private bytes = 0;
  private readonly maxBytes: number;
  private readonly snapshotWeights = new WeakMap<SnapshotHit, number>();

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
  snapshot(hit: SnapshotHit): void {
    if (this.snapshots.full) this.bytes -= this.snapshotWeight(this.snapshots.peek()!);
    if (this.snapshots.push(hit)) this.countDrop();
    const weight = JSON.stringify(hit).length;
    this.snapshotWeights.set(hit, weight);
    this.bytes += weight;
    this.trim();
  }

  private snapshotWeight(hit: SnapshotHit): number {
    return this.snapshotWeights.get(hit) ?? 0;
  }

  /** Over the byte cap (a hub away for long, with large log lines): drop the oldest logs, then snapshots. */
  private trim(): void {
    while (this.bytes > this.maxBytes) {
      const log = this.logs.shift();
      if (log !== undefined) this.bytes -= logWeight(log);
      else {
        const snap = this.snapshots.shift();
        if (snap === undefined) break;
        this.bytes -= this.snapshotWeight(snap);
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
    const fill = <T>(from: Ring<T>, to: T[], weigh: (item: T) => number): void => {
      while (from.length > 0 && items < maxItems) {
        const size = JSON.stringify(from.peek()).length + 1;
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
    fill(this.snapshots, frame.snapshots, (h) => this.snapshotWeight(h));
    fill(this.logs, frame.logs, logWeight);
    frame.dropped = this.dropped;
    this.dropped = 0;
    return frame;
  }
}

import type { ActionStatus, LogHit, MetricSample, SnapshotHit } from '@spyglass/protocol';
import { PROTOCOL_VERSION } from '@spyglass/protocol';

export interface OutboxLimits {
  maxLogs: number;
  maxSnapshots: number;
  maxMetrics: number;
}

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

  constructor(limits: OutboxLimits) {
    this.logs = new Ring(limits.maxLogs);
    this.snapshots = new Ring(limits.maxSnapshots);
    this.metrics = new Ring(limits.maxMetrics);
  }

  private countDrop(): void {
    this.dropped++;
    this.droppedTotal++;
  }

  log(hit: LogHit): void {
    if (this.logs.push(hit)) this.countDrop();
  }
  snapshot(hit: SnapshotHit): void {
    if (this.snapshots.push(hit)) this.countDrop();
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
    const fill = <T>(from: Ring<T>, to: T[]): void => {
      while (from.length > 0 && items < maxItems) {
        const size = JSON.stringify(from.peek()).length + 1;
        if (size > budget) {
          from.shift();
          this.countDrop();
          continue;
        }
        if (bytes + size > budget) return;
        to.push(from.shift()!);
        bytes += size;
        items++;
      }
    };
    fill(this.metrics, frame.metrics);
    fill(this.snapshots, frame.snapshots);
    fill(this.logs, frame.logs);
    frame.dropped = this.dropped;
    this.dropped = 0;
    return frame;
  }
}

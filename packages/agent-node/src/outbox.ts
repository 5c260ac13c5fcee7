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

/**
 * Bounded buffers of hits waiting for the hub. When one is full the oldest item is dropped and counted; the count
 * travels in the next `hits` frame. Statuses keep only the latest per action and are never dropped.
 */
export class Outbox {
  private logs: LogHit[] = [];
  private snapshots: SnapshotHit[] = [];
  private metrics: MetricSample[] = [];
  private readonly statuses = new Map<string, ActionStatus>();
  /** Dropped since the last frame was built. */
  dropped = 0;
  /** Dropped since start. */
  droppedTotal = 0;

  constructor(private readonly limits: OutboxLimits) {}

  private push<T>(list: T[], item: T, max: number): void {
    if (list.length >= max) {
      list.shift();
      this.dropped++;
      this.droppedTotal++;
    }
    list.push(item);
  }

  log(hit: LogHit): void {
    this.push(this.logs, hit, this.limits.maxLogs);
  }
  snapshot(hit: SnapshotHit): void {
    this.push(this.snapshots, hit, this.limits.maxSnapshots);
  }
  metric(sample: MetricSample): void {
    this.push(this.metrics, sample, this.limits.maxMetrics);
  }
  status(status: ActionStatus): void {
    this.statuses.set(status.actionId, status);
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
    const fill = <T>(from: T[], to: T[]): void => {
      while (from.length > 0 && items < maxItems) {
        const size = JSON.stringify(from[0]).length + 1;
        if (size > budget) {
          from.shift();
          this.dropped++;
          this.droppedTotal++;
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

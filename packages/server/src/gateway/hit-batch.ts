import type { LogHit, MetricSample, SnapshotHit, SnapshotSummary } from '@spyglass/protocol';
import type { ActionService } from '../actions/service.js';
import type { HitStore } from '../hits/store.js';

/** The hits of one frame, already checked against the actions its agent was given. */
export interface HitBatchEntry {
  agentId: string;
  /** Hits per action in this frame (a metric sample counts `max(1, count)`). */
  counts: ReadonlyMap<string, number>;
  logs: readonly LogHit[];
  snapshots: readonly SnapshotHit[];
  metrics: readonly MetricSample[];
}

/** What was kept of one frame: within every action's `maxHits`, stored, and summarised for live streams. */
export interface HitBatchResult {
  /** Hits of each action this frame may keep (0 for ended actions). */
  accepted: Map<string, number>;
  /** Budget each action had left after this frame's hits were taken (negative when a metric sample overshot). */
  budget: Map<string, number>;
  logs: LogHit[];
  snapshots: SnapshotSummary[];
  metrics: MetricSample[];
}

interface Pending {
  entry: HitBatchEntry;
  resolve: (r: HitBatchResult) => void;
  reject: (err: unknown) => void;
}

/** Items taken into one pass at most; the rest waits for the next pass. */
const MAX_ITEMS_PER_PASS = 50_000;

/**
 * Group commit for hits frames. Frames that arrive while the previous pass is being written (or in the same turn of
 * the event loop) are written together: one `maxHits` reservation per action for all of them, one insert for their log
 * lines (without the lines the per-action retention would delete at once), and each frame's promise settles only once
 * its hits are stored, so a frame handler sees exactly what it saw when every frame was written alone. Hits are
 * accepted first come, first served, in arrival order.
 */
export class HitBatcher {
  readonly #actions: ActionService;
  readonly #hits: HitStore;
  #queue: Pending[] = [];
  #scheduled = false;
  #running = false;

  constructor(deps: { actions: ActionService; hits: HitStore }) {
    this.#actions = deps.actions;
    this.#hits = deps.hits;
  }

  submit(entry: HitBatchEntry): Promise<HitBatchResult> {
    return new Promise((resolve, reject) => {
      this.#queue.push({ entry, resolve, reject });
      this.#schedule();
    });
  }

  #schedule(): void {
    if (this.#scheduled || this.#running || this.#queue.length === 0) return;
    this.#scheduled = true;
    setImmediate(() => {
      this.#scheduled = false;
      void this.#run();
    });
  }

  async #run(): Promise<void> {
    this.#running = true;
    try {
      let items = 0;
      let n = 0;
      while (n < this.#queue.length && (n === 0 || items < MAX_ITEMS_PER_PASS)) {
        const e = this.#queue[n]!.entry;
        items += e.logs.length + e.snapshots.length + e.metrics.length;
        n++;
      }
      const pass = this.#queue.splice(0, n);
      await this.#write(pass).catch((err: unknown) => {
        for (const p of pass) p.reject(err);
      });
    } finally {
      this.#running = false;
      this.#schedule();
    }
  }

  async #write(pass: Pending[]): Promise<void> {
    const now = Date.now();
    const total = new Map<string, number>();
    for (const { entry } of pass) for (const [id, n] of entry.counts) total.set(id, (total.get(id) ?? 0) + n);
    // Actions that reach their maxHits here are completed (and announced) by the action service.
    const { accepted: left } =
      total.size === 0 ? { accepted: new Map<string, number>() } : await this.#actions.reserveHits(total, now);

    const kept = pass.map(({ entry }) => {
      const accepted = new Map<string, number>();
      for (const [id, n] of entry.counts) {
        const mine = Math.max(0, Math.min(n, left.get(id) ?? 0));
        accepted.set(id, mine);
        left.set(id, (left.get(id) ?? 0) - mine);
      }
      const budget = new Map(accepted);
      const take = (actionId: string, n: number): boolean => {
        const b = budget.get(actionId) ?? 0;
        if (b <= 0) return false;
        budget.set(actionId, b - n);
        return true;
      };
      return {
        accepted,
        budget,
        logs: entry.logs.filter((l) => take(l.actionId, 1)),
        snapshots: entry.snapshots.filter((s) => take(s.actionId, 1)),
        metrics: entry.metrics.filter((m) => take(m.actionId, Math.max(1, m.count))),
      };
    });

    // Every frame's log lines in one go. When that fails (say an action was deleted meanwhile), nothing of it was
    // written; then frame by frame, so only the frames that cannot be stored fail.
    const failed = new Map<number, unknown>();
    try {
      await this.#hits.insertLogBatch(
        kept.flatMap((k, i) => k.logs.map((log) => ({ agentId: pass[i]!.entry.agentId, log }))),
      );
    } catch (err) {
      if (pass.length === 1) failed.set(0, err);
      else {
        for (const [i, k] of kept.entries()) {
          await this.#hits.insertLogs(pass[i]!.entry.agentId, k.logs).catch((e: unknown) => failed.set(i, e));
        }
      }
    }
    for (const [i, k] of kept.entries()) {
      const p = pass[i]!;
      if (failed.has(i)) {
        p.reject(failed.get(i));
        continue;
      }
      try {
        const snapshots = await this.#hits.insertSnapshots(p.entry.agentId, k.snapshots);
        this.#hits.addMetrics(k.metrics, now);
        p.resolve({ accepted: k.accepted, budget: k.budget, logs: k.logs, snapshots, metrics: k.metrics });
      } catch (err) {
        p.reject(err);
      }
    }
  }
}

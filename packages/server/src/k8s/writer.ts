import type { Logger } from 'pino';
import type { K8sConfig } from './config.js';
import { eventItem, type EventDrop } from './events.js';
import type { K8sFilters } from './filters.js';
import { bodyForDiff, metaOf, type K8sItem, type ObjectKey } from './model.js';
import type { GroupVersionResource, K8sSink, KubeObject } from './sink.js';
import type { K8sStore } from './store.js';

interface Pending {
  items: readonly K8sItem[];
  resolve: () => void;
  reject: (err: unknown) => void;
}

/** Per-cluster counts of what the watchers handed over (for diagnostics and metrics). */
export interface SinkCounts {
  events: number;
  eventsDropped: Record<EventDrop, number>;
  versions: number;
}

export interface K8sWriterOptions {
  store: K8sStore;
  filters: K8sFilters;
  config: K8sConfig;
  log: Logger;
  /** Items per store write at most. */
  maxBatch?: number;
  now?: () => number;
}

/**
 * Stores entries off the request path in batches (group commit, as the span writer does): callers queue items and a
 * single write loop takes everything queued, up to a batch, into one transaction. The queue is bounded by
 * `queueCapacity`: past it the webhook answers 429 and the watchers wait for `drained()`, so memory never grows with
 * a slow database. It is also the watchers' sink: their raw objects become items here.
 */
export class K8sWriter implements K8sSink {
  readonly #opt: K8sWriterOptions;
  readonly #capacity: number;
  readonly #maxBatch: number;
  readonly #now: () => number;
  readonly #queue: Pending[] = [];
  #queued = 0;
  #writing = false;
  #closed = false;
  #idle: (() => void)[] = [];
  #room: (() => void)[] = [];
  written = 0;
  failed = 0;
  readonly counts = new Map<string, SinkCounts>();

  constructor(options: K8sWriterOptions) {
    this.#opt = options;
    this.#capacity = options.config.queueCapacity;
    this.#maxBatch = options.maxBatch ?? 5000;
    this.#now = options.now ?? Date.now;
  }

  get depth(): number {
    return this.#queued;
  }

  get capacity(): number {
    return this.#capacity;
  }

  /** Queues items; `busy` when the queue is full (nothing queued then). Settles when they are stored. */
  offer(items: readonly K8sItem[]): Promise<void> | 'busy' {
    if (this.#closed) return Promise.reject(new Error('the hub is shutting down'));
    if (items.length === 0) return Promise.resolve();
    if (this.#queued > 0 && this.#queued + items.length > this.#capacity) return 'busy';
    return new Promise<void>((resolve, reject) => {
      this.#queue.push({ items, resolve, reject });
      this.#queued += items.length;
      if (!this.#writing) void this.#drain();
    });
  }

  async #drain(): Promise<void> {
    this.#writing = true;
    try {
      while (this.#queue.length > 0) {
        const batch: Pending[] = [];
        let n = 0;
        while (this.#queue.length > 0 && (n === 0 || n + this.#queue[0]!.items.length <= this.#maxBatch)) {
          const p = this.#queue.shift()!;
          batch.push(p);
          n += p.items.length;
        }
        const items = batch.length === 1 ? batch[0]!.items : batch.flatMap((p) => p.items);
        try {
          await this.#opt.store.write(items);
          this.written += n;
          for (const p of batch) p.resolve();
        } catch (err) {
          this.failed++;
          this.#opt.log.error({ err, items: n }, 'Kubernetes entries could not be stored');
          for (const p of batch) p.reject(err);
        } finally {
          this.#queued -= n;
          for (const r of this.#room.splice(0)) r();
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

  async close(): Promise<void> {
    this.#closed = true;
    for (const r of this.#room.splice(0)) r();
    await this.flush();
  }

  // ---- the watchers' sink -------------------------------------------------------------------------------------------

  #counts(cluster: string): SinkCounts {
    let c = this.counts.get(cluster);
    if (c === undefined) {
      c = { events: 0, eventsDropped: { malformed: 0, old: 0, excluded: 0 }, versions: 0 };
      this.counts.set(cluster, c);
    }
    return c;
  }

  /** Queues without waiting for the write; a failed write is logged (and counted) by the write loop. */
  #offerQuietly(items: K8sItem[]): boolean {
    if (items.length === 0) return true;
    const r = this.offer(items);
    if (r === 'busy') return false;
    r.catch(() => {});
    return true;
  }

  versions(
    cluster: string,
    gvr: GroupVersionResource,
    list: readonly { change: 'added' | 'modified' | 'deleted'; object: KubeObject; observedAtMs: number }[],
  ): boolean {
    if (this.#closed) return true;
    const items: K8sItem[] = [];
    const secret = gvr.group === '' && gvr.resource === 'secrets';
    for (const v of list) {
      const meta = metaOf(v.object);
      if (meta.name === undefined || meta.resourceVersion === undefined) continue;
      const key: ObjectKey = {
        cluster,
        group: gvr.group,
        resource: gvr.resource,
        namespace: meta.namespace ?? '',
        name: meta.name,
      };
      if (this.#opt.filters.excluded(key)) continue;
      const body = secret ? null : bodyForDiff(v.object);
      const fits = body !== null && JSON.stringify(body).length <= this.#opt.config.limits.maxObjectBytes;
      const { resourceVersion, name: _n, namespace: _ns, ...rest } = meta;
      items.push({
        type: 'version',
        object: key,
        meta: { ...rest, ...(v.change === 'deleted' ? { deleted: true } : { deleted: false }) },
        version: {
          resourceVersion,
          body: fits ? body : null,
          change:
            v.change === 'deleted'
              ? 'deleted'
              : v.change === 'modified'
                ? 'updated'
                : addedChange(v.object, v.observedAtMs),
          source: 'watch',
          observedUs: v.observedAtMs * 1000,
        },
      });
    }
    const ok = this.#offerQuietly(items);
    if (ok) this.#counts(cluster).versions += items.length;
    return ok;
  }

  events(cluster: string, api: 'v1' | 'events.k8s.io/v1', list: readonly KubeObject[]): boolean {
    if (this.#closed) return true;
    const oldestUs = (this.#now() - this.#opt.config.maxEventAgeMs) * 1000;
    const items: K8sItem[] = [];
    const drops: EventDrop[] = [];
    for (const raw of list) {
      const r = eventItem(cluster, api, raw, this.#opt.filters, oldestUs);
      if (typeof r === 'string') drops.push(r);
      else items.push(r);
    }
    const ok = this.#offerQuietly(items);
    if (ok) {
      const c = this.#counts(cluster);
      c.events += items.length;
      for (const d of drops) c.eventsDropped[d]++;
    }
    return ok;
  }

  checkpoint(cluster: string, watch: string, resourceVersion: string): boolean {
    if (this.#closed) return true;
    return this.#offerQuietly([{ type: 'checkpoint', cluster, watch, resourceVersion }]);
  }

  drained(): Promise<void> {
    if (this.#closed || this.#queued < this.#capacity * 0.9) return Promise.resolve();
    return new Promise((resolve) => this.#room.push(resolve));
  }

  async tracked(cluster: string, gvr: GroupVersionResource): Promise<{ namespace: string; name: string }[]> {
    await this.flush();
    return this.#opt.store.tracked(cluster, gvr.group, gvr.resource);
  }

  resumeVersion(cluster: string, watch: string): Promise<string | null> {
    return this.#opt.store.resumeVersion(cluster, watch);
  }
}

/**
 * An ADDED watch event is a creation when the object was created recently (within a minute of being seen); otherwise
 * it is an object the watch (re)listed, which only becomes the base of later diffs.
 */
function addedChange(obj: KubeObject, observedAtMs: number): 'created' | 'listed' {
  const created = Date.parse(obj.metadata?.creationTimestamp ?? '');
  return Number.isFinite(created) && observedAtMs - created < 60_000 ? 'created' : 'listed';
}

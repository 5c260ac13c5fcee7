import type { K8sWatcherStatus } from '@spyglass/protocol';
import type { Logger } from 'pino';
import type { ClusterConfig } from '../config.js';
import type { ClusterWatchers, K8sSink, KubeObject } from '../sink.js';
import { KubeError, kubeApiFor, statusError, type KubeApi } from './kube-api.js';
import { watchTargets, type WatchTarget } from './targets.js';

export interface ClusterWatchersOptions {
  cluster: ClusterConfig;
  sink: K8sSink;
  log: Logger;
  /** The API server (default: from the cluster's kubeconfig or service account). */
  api?: KubeApi;
  now?: () => number;
  /** Objects per list page (`limit`). */
  pageSize?: number;
  /** How long the API server keeps one watch open before the watcher opens the next (`timeoutSeconds`). */
  watchTimeoutSeconds?: number;
  /** A checkpoint is stored at least this often while changes arrive, and after this many changes. */
  checkpointIntervalMs?: number;
  checkpointEveryChanges?: number;
  /** Retry delays after a failure: doubling from `initialMs` to `maxMs`, with jitter. */
  backoff?: { initialMs: number; maxMs: number };
  /** Retry delay of a watch the API server forbids (RBAC rarely changes within seconds). */
  forbiddenRetryMs?: number;
  random?: () => number;
}

/** The API server says the version asked for is gone (compacted): the watch lists again. */
const isGone = (err: unknown): boolean => err instanceof KubeError && err.code === 410;
const isForbidden = (err: unknown): boolean => err instanceof KubeError && (err.code === 401 || err.code === 403);

interface WatchEvent {
  type?: unknown;
  object?: KubeObject;
}

/** Sleeps, or resolves early when the signal aborts. */
function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}

/** When an object last changed, by its own timestamps (managed fields, deletion, creation); null when it has none. */
export function changeTimeMs(obj: KubeObject, kind: WatchTarget['kind']): number | null {
  const times: string[] = [];
  if (kind === 'events') {
    for (const k of ['lastTimestamp', 'eventTime', 'deprecatedLastTimestamp'] as const) {
      const v = obj[k];
      if (typeof v === 'string') times.push(v);
    }
    const series = obj.series as { lastObservedTime?: unknown } | undefined;
    if (typeof series?.lastObservedTime === 'string') times.push(series.lastObservedTime);
  } else {
    const m = obj.metadata;
    if (Array.isArray(m?.managedFields))
      for (const f of m.managedFields as { time?: unknown }[]) if (typeof f?.time === 'string') times.push(f.time);
    if (typeof m?.deletionTimestamp === 'string') times.push(m.deletionTimestamp);
    if (typeof m?.creationTimestamp === 'string') times.push(m.creationTimestamp);
  }
  let best: number | null = null;
  for (const t of times) {
    const ms = Date.parse(t);
    if (Number.isFinite(ms) && (best === null || ms > best)) best = ms;
  }
  return best;
}

/**
 * The watchers of one cluster: one list-watch loop per target (Events in both APIs, each watched resource).
 *
 * Each loop resumes from the checkpoint its sink stored, so a restart or a takeover by another replica neither loses
 * nor repeats what was stored; without a checkpoint, or when the API server answers `410 Gone`, it lists (in pages,
 * one consistent snapshot) and watches from the list's version. Watches ask for bookmarks, which move the checkpoint
 * on quiet resources. The stream is read at the sink's pace: when its queue is full the loop stops reading until it
 * drains, so memory never grows with a slow database. A failure backs off (doubling, with jitter) and never stops the
 * other loops; a forbidden resource is retried slowly and shown as `forbidden`.
 */
export function createClusterWatchers(options: ClusterWatchersOptions): ClusterWatchers {
  const { cluster, sink, log } = options;
  const now = options.now ?? Date.now;
  const pageSize = options.pageSize ?? 500;
  const watchTimeoutSeconds = options.watchTimeoutSeconds ?? 300;
  const checkpointIntervalMs = options.checkpointIntervalMs ?? 2000;
  const checkpointEveryChanges = options.checkpointEveryChanges ?? 500;
  const backoff = options.backoff ?? { initialMs: 1000, maxMs: 60_000 };
  const forbiddenRetryMs = options.forbiddenRetryMs ?? 60_000;
  const random = options.random ?? Math.random;

  let setupError: string | null = null;
  let targets: WatchTarget[] = [];
  let api: KubeApi | undefined = options.api;
  try {
    targets = watchTargets(cluster);
    api ??= kubeApiFor(cluster);
  } catch (err) {
    setupError = err instanceof Error ? err.message : String(err);
  }

  const states = new Map<string, K8sWatcherStatus>(
    targets.map((t) => [
      t.watch,
      {
        resource: t.watch,
        state: 'stopped',
        lastResourceVersion: null,
        events: 0,
        relists: 0,
        errors: 0,
        lastError: null,
        lastEventAt: null,
        lagMs: null,
      },
    ]),
  );
  let controller: AbortController | null = null;
  let loops: Promise<void>[] = [];

  /** Offers to the sink until it takes them, waiting for room in between. False when stopped meanwhile. */
  const offer = async (signal: AbortSignal, give: () => boolean): Promise<boolean> => {
    while (!give()) {
      if (signal.aborted) return false;
      await new Promise<void>((resolve) => {
        const onAbort = (): void => resolve();
        signal.addEventListener('abort', onAbort, { once: true });
        void sink.drained().then(() => {
          signal.removeEventListener('abort', onAbort);
          resolve();
        });
      });
    }
    return true;
  };

  const handOver = (t: WatchTarget, change: 'added' | 'modified' | 'deleted', objects: KubeObject[]): boolean => {
    if (t.kind === 'events') return change === 'deleted' ? true : sink.events(cluster.name, t.api, objects);
    const observedAtMs = now();
    return sink.versions(
      cluster.name,
      t.gvr,
      objects.map((object) => ({ change, object, observedAtMs })),
    );
  };

  /** Lists the whole collection in pages and hands it over; resolves to the list's version. */
  const relist = async (t: WatchTarget, state: K8sWatcherStatus, signal: AbortSignal): Promise<string | null> => {
    state.state = 'listing';
    let cont: string | undefined;
    let listVersion: string | null = null;
    const present = new Set<string>();
    do {
      const page = (await api!.get(
        t.path,
        { limit: String(pageSize), ...(cont === undefined ? {} : { continue: cont }) },
        signal,
      )) as { metadata?: { resourceVersion?: string; continue?: string }; items?: KubeObject[] };
      if (!Array.isArray(page?.items)) throw new KubeError(0, `the list of ${t.watch} has no items`);
      listVersion ??= page.metadata?.resourceVersion ?? null;
      const items = page.items;
      for (const o of items) present.add(`${o.metadata?.namespace ?? ''}/${o.metadata?.name ?? ''}`);
      if (items.length > 0 && !(await offer(signal, () => handOver(t, 'added', items)))) return null;
      cont = page.metadata?.continue || undefined;
    } while (cont !== undefined && !signal.aborted);
    if (signal.aborted) return null;
    // Objects stored as present that the list no longer has were deleted while nobody watched.
    if (t.kind === 'versions' && sink.tracked !== undefined) {
      const gone = (await sink.tracked(cluster.name, t.gvr)).filter((o) => !present.has(`${o.namespace}/${o.name}`));
      if (gone.length > 0) {
        const objects = gone.map<KubeObject>((o) => ({
          metadata: {
            name: o.name,
            ...(o.namespace === '' ? {} : { namespace: o.namespace }),
            resourceVersion: listVersion ?? '0',
          },
        }));
        if (!(await offer(signal, () => handOver(t, 'deleted', objects)))) return null;
        log.info({ watch: t.watch, objects: gone.length }, 'objects deleted while not watched are marked deleted');
      }
    }
    if (listVersion === null) throw new KubeError(0, `the list of ${t.watch} has no resourceVersion`);
    await offer(signal, () => sink.checkpoint(cluster.name, t.watch, listVersion));
    state.lastResourceVersion = listVersion;
    return listVersion;
  };

  /**
   * One watch from `cursor.version`, which it moves past each change handed over and each bookmark, so the next watch
   * starts there whether this one ended (the API server's timeout) or failed.
   */
  const watchOnce = async (
    t: WatchTarget,
    state: K8sWatcherStatus,
    cursor: { version: string },
    signal: AbortSignal,
  ): Promise<void> => {
    const from = cursor.version;
    let version = from;
    let checkpointed = from;
    let sinceCheckpoint = 0;
    let lastCheckpointAt = now();
    const checkpoint = async (): Promise<void> => {
      if (version === checkpointed) return;
      const v = version;
      await offer(signal, () => sink.checkpoint(cluster.name, t.watch, v));
      checkpointed = v;
      sinceCheckpoint = 0;
      lastCheckpointAt = now();
    };
    // A quiet watch stores its checkpoint too, a while after its last change: a takeover then starts from there.
    const quiet = setInterval(
      () => {
        if (version === checkpointed || signal.aborted) return;
        const v = version;
        try {
          if (!sink.checkpoint(cluster.name, t.watch, v)) return; // full: the next tick or change tries again
        } catch (err) {
          log.warn({ err, watch: t.watch }, 'the watch checkpoint could not be queued');
          return;
        }
        checkpointed = v;
        sinceCheckpoint = 0;
        lastCheckpointAt = now();
      },
      Math.max(50, checkpointIntervalMs),
    );
    quiet.unref();
    const lines = api!.lines(
      t.path,
      { resourceVersion: from, allowWatchBookmarks: 'true', timeoutSeconds: String(watchTimeoutSeconds) },
      signal,
    );
    state.state = 'watching';
    try {
      for await (const line of lines) {
        let ev: WatchEvent;
        try {
          ev = JSON.parse(line) as WatchEvent;
        } catch {
          throw new KubeError(0, `the watch of ${t.watch} sent a line that is not JSON`);
        }
        const obj = ev.object;
        if (ev.type === 'ERROR') throw statusError(500, obj);
        const rv = obj?.metadata?.resourceVersion;
        if (typeof rv !== 'string' || rv === '') continue;
        state.lastEventAt = now();
        if (ev.type === 'BOOKMARK') {
          version = rv;
          cursor.version = rv;
          state.lastResourceVersion = rv;
          await checkpoint();
          continue;
        }
        const change =
          ev.type === 'ADDED'
            ? 'added'
            : ev.type === 'MODIFIED'
              ? 'modified'
              : ev.type === 'DELETED'
                ? 'deleted'
                : null;
        if (change === null || obj === undefined) continue;
        if (!(await offer(signal, () => handOver(t, change, [obj])))) break;
        state.events++;
        const at = changeTimeMs(obj, t.kind);
        state.lagMs = at === null ? null : Math.max(0, now() - at);
        version = rv;
        cursor.version = rv;
        state.lastResourceVersion = rv;
        sinceCheckpoint++;
        if (sinceCheckpoint >= checkpointEveryChanges || now() - lastCheckpointAt >= checkpointIntervalMs)
          await checkpoint();
      }
    } finally {
      clearInterval(quiet);
      // What was handed over before is queued ahead of this checkpoint, so it is stored first.
      if (version !== checkpointed) sink.checkpoint(cluster.name, t.watch, version);
    }
  };

  const loop = async (t: WatchTarget, signal: AbortSignal): Promise<void> => {
    const state = states.get(t.watch)!;
    state.state = 'starting';
    let version: string | null = null;
    let failures = 0;
    try {
      version = await sink.resumeVersion(cluster.name, t.watch);
    } catch (err) {
      log.warn({ err, watch: t.watch }, 'the watch checkpoint could not be read; listing instead');
    }
    if (version !== null) state.lastResourceVersion = version;
    while (!signal.aborted) {
      const cursor = { version: '' };
      try {
        if (version === null) version = await relist(t, state, signal);
        if (version === null || signal.aborted) break;
        const openedAt = now();
        cursor.version = version;
        try {
          await watchOnce(t, state, cursor, signal);
        } finally {
          version = cursor.version;
        }
        failures = 0;
        // A watch the API server ends at once (a proxy in between closing it) is not reopened in a tight loop.
        if (now() - openedAt < 1000) await sleep(backoff.initialMs, signal);
      } catch (err) {
        if (signal.aborted) break;
        const message = err instanceof Error ? err.message : String(err);
        if (isGone(err)) {
          state.relists++;
          log.info({ watch: t.watch, resourceVersion: version }, 'watch version expired (410 Gone); listing again');
          version = null;
          continue;
        }
        state.errors++;
        state.lastError = message;
        failures++;
        let delay: number;
        if (isForbidden(err)) {
          state.state = 'forbidden';
          delay = forbiddenRetryMs;
          if (failures === 1) log.warn({ watch: t.watch, err: message }, 'the API server forbids this watch');
        } else {
          state.state = err instanceof KubeError && err.code >= 400 ? 'backoff' : 'unavailable';
          const base = Math.min(backoff.maxMs, backoff.initialMs * 2 ** Math.min(failures - 1, 20));
          delay = base / 2 + (base / 2) * random();
          if (failures === 1 || failures % 10 === 0)
            log.warn({ watch: t.watch, err: message, failures, retryInMs: Math.round(delay) }, 'watch failed');
        }
        await sleep(delay, signal);
      }
    }
    state.state = 'stopped';
  };

  return {
    start() {
      if (controller !== null) return;
      controller = new AbortController();
      if (setupError !== null) {
        log.error({ err: setupError }, 'Kubernetes watchers cannot start');
        return;
      }
      log.info({ server: api!.server, watches: targets.map((t) => t.watch) }, 'Kubernetes watchers started');
      const signal = controller.signal;
      loops = targets.map((t) =>
        loop(t, signal).catch((err: unknown) => {
          log.error({ err, watch: t.watch }, 'a watch loop ended unexpectedly');
          states.get(t.watch)!.state = 'stopped';
        }),
      );
    },
    async stop() {
      if (controller === null) return;
      controller.abort();
      controller = null;
      const all = loops;
      loops = [];
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        Promise.all(all),
        new Promise<void>((resolve) => {
          timer = setTimeout(resolve, 5000);
          timer.unref();
        }),
      ]);
      clearTimeout(timer);
    },
    status() {
      if (setupError !== null)
        return [
          {
            resource: 'setup',
            state: 'unavailable',
            lastResourceVersion: null,
            events: 0,
            relists: 0,
            errors: 1,
            lastError: setupError,
            lastEventAt: null,
            lagMs: null,
          },
        ];
      return [...states.values()].map((s) => ({ ...s }));
    },
  };
}

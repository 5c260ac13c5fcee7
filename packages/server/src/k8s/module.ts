import {
  k8sOperations,
  resolveResource,
  SpyglassError,
  type K8sClusterDiagnostics,
  type K8sDiagnostics,
  type K8sWatcherStatus,
} from '@spyglass/protocol';
import { Counter, Gauge } from 'prom-client';
import type { Logger } from 'pino';
import { defineModule } from '../platform/module.js';
import { parseEvents } from './audit.js';
import { k8sConfigSection, type ClusterConfig, type K8sConfig } from './config.js';
import { K8sFilters } from './filters.js';
import { objectId, type DiffData, type ObjectKey } from './model.js';
import type { ClusterWatchers, K8sSink } from './sink.js';
import { K8sStore } from './store.js';
import { assembleTrace } from './trace.js';
import { createClusterWatchers } from './watch/cluster-watchers.js';
import { mountWebhook, type WebhookCounts } from './webhook.js';
import { K8sWriter } from './writer.js';
import { addK8sTools } from './tools.js';

/** Tuning tests pass (`deps.modules.k8s`). */
export interface K8sOptions {
  /** How a cluster's watchers are made (tests may wrap the real ones). */
  createWatchers?: (cluster: ClusterConfig, sink: K8sSink, log: Logger) => ClusterWatchers;
}

export interface K8sTracing {
  readonly store: K8sStore;
  readonly writer: K8sWriter;
  readonly config: K8sConfig;
  /** Clusters whose watchers run on this replica now. */
  watchingHere(): string[];
}

declare module 'fastify' {
  interface FastifyInstance {
    k8s: K8sTracing;
  }
}

const WATCHER_JOB = 'k8s.watchers';

/** Needs watchers: a cluster with a kubeconfig or the in-cluster service account. */
const watched = (c: ClusterConfig): boolean => c.inCluster || c.kubeconfig !== undefined;

/** The object key a query names, with the group of a well-known resource filled in and its name normalised. */
function keyOf(q: {
  cluster: string;
  group?: string | undefined;
  resource: string;
  namespace: string;
  name: string;
}): ObjectKey {
  const known = resolveResource(q.resource);
  const resource =
    known !== undefined && (q.group === undefined || q.group === known.group) ? known.resource : q.resource;
  const group = q.group ?? known?.group ?? '';
  return { cluster: q.cluster, group, resource, namespace: q.namespace, name: q.name };
}

/**
 * Kubernetes object tracing: the audit webhook, audit log import, Event and diff watchers (on the one replica holding
 * the watcher lease), and one trace per object with its owners, assembled at read time.
 */
export const k8sModule = defineModule({
  name: 'k8s',
  config: k8sConfigSection,
  register(ctx) {
    const { app, hub, config } = ctx;
    const options = (ctx.options ?? {}) as K8sOptions;
    const log = ctx.log;
    const filters = new K8sFilters(config);
    const store = new K8sStore(hub.storage.db, hub.storage.dialect, filters, () => hub.storage.sqlite);
    const writer = new K8sWriter({ store, filters, config, log });
    const webhookCounts = new Map<string, WebhookCounts>();
    const countsFor = (cluster: string): WebhookCounts => {
      let c = webhookCounts.get(cluster);
      if (c === undefined) {
        c = {
          requests: 0,
          events: 0,
          accepted: 0,
          skipped: 0,
          rejected: 0,
          throttled: 0,
          lastRequestAt: null,
          lastError: null,
        };
        if (webhookCounts.size < 1000) webhookCounts.set(cluster, c);
      }
      return c;
    };
    mountWebhook(app, { config, filters, writer, pools: app.services.pools, audit: hub.audit, log, counts: countsFor });

    // ---- watchers, on the replica holding the lease ----------------------------------------------------------------
    const make =
      options.createWatchers ??
      ((cluster, sink, clusterLog) => createClusterWatchers({ cluster, sink, log: clusterLog }));
    const running = new Map<string, ClusterWatchers>();
    const watchedClusters = config.clusters.filter(watched);
    let stopping: Promise<void> | null = null;
    const stopAll = async (why: string): Promise<void> => {
      if (running.size === 0) return;
      log.info({ clusters: [...running.keys()], why }, 'Kubernetes watchers stopping');
      const all = [...running.values()];
      running.clear();
      await Promise.all(all.map((w) => w.stop()));
    };
    if (watchedClusters.length > 0) {
      ctx.jobs.add({
        name: WATCHER_JOB,
        everyMs: 1000,
        singleton: true,
        runAtStart: true,
        async run() {
          if (stopping !== null) await stopping;
          for (const c of watchedClusters) {
            if (running.has(c.name)) continue;
            const w = make(c, writer, log.child({ cluster: c.name }));
            running.set(c.name, w);
            log.info({ cluster: c.name, replica: ctx.replicaId }, 'Kubernetes watchers starting on this replica');
            w.start();
          }
        },
      });
      // Every replica: a replica that lost the lease stops its watchers (the singleton job no longer runs there).
      ctx.jobs.add({
        name: 'k8s.watchers-guard',
        everyMs: 1000,
        run() {
          if (running.size > 0 && !ctx.jobs.isLeader(WATCHER_JOB) && stopping === null) {
            stopping = stopAll('this replica no longer holds the watcher lease').finally(() => {
              stopping = null;
            });
          }
        },
      });
    }
    ctx.jobs.add({
      name: 'k8s.retention',
      everyMs: config.retention.sweepIntervalMs,
      singleton: true,
      async run(now) {
        const r = await store.sweep((now - config.retention.maxAgeMs) * 1000);
        if (r.entries > 0 || r.objects > 0) log.info(r, 'Kubernetes retention removed old entries');
      },
    });

    // ---- metrics ---------------------------------------------------------------------------------------------------
    const registers = [hub.metrics.registry];
    new Counter({
      name: 'spyglass_k8s_webhook_requests_total',
      help: 'Audit webhook requests received, per cluster (this replica)',
      labelNames: ['cluster'] as const,
      registers,
      collect() {
        this.reset();
        for (const [cluster, c] of webhookCounts) this.inc({ cluster }, c.requests);
      },
    });
    const entryGauge = (name: string, help: string, field: keyof Omit<WebhookCounts, 'lastRequestAt' | 'lastError'>) =>
      new Gauge({
        name,
        help,
        labelNames: ['cluster'] as const,
        registers,
        collect() {
          for (const [cluster, c] of webhookCounts) this.set({ cluster }, c[field]);
        },
      });
    entryGauge('spyglass_k8s_audit_accepted', 'Audit entries kept since this replica started, per cluster', 'accepted');
    entryGauge(
      'spyglass_k8s_audit_skipped',
      'Audit entries skipped (reads, early stages, filters), per cluster',
      'skipped',
    );
    entryGauge('spyglass_k8s_audit_rejected', 'Malformed audit entries refused, per cluster', 'rejected');
    entryGauge(
      'spyglass_k8s_webhook_throttled',
      'Webhook requests answered 429 (queue full), per cluster',
      'throttled',
    );
    new Gauge({
      name: 'spyglass_k8s_queue_depth',
      help: 'Kubernetes entries accepted and not yet stored',
      registers,
      collect() {
        this.set(writer.depth);
      },
    });
    new Gauge({
      name: 'spyglass_k8s_events_seen',
      help: 'Events written by the watchers of this replica, per cluster',
      labelNames: ['cluster'] as const,
      registers,
      collect() {
        for (const [cluster, c] of writer.counts) this.set({ cluster }, c.events);
      },
    });
    new Gauge({
      name: 'spyglass_k8s_events_dropped',
      help: 'Events the watchers dropped, per cluster and reason (malformed, old, excluded)',
      labelNames: ['cluster', 'reason'] as const,
      registers,
      collect() {
        for (const [cluster, c] of writer.counts)
          for (const [reason, n] of Object.entries(c.eventsDropped)) this.set({ cluster, reason }, n);
      },
    });
    new Gauge({
      name: 'spyglass_k8s_watcher_lag_seconds',
      help: 'How far behind each watch is (running watchers of this replica)',
      labelNames: ['cluster', 'watch'] as const,
      registers,
      collect() {
        this.reset();
        for (const [cluster, w] of running)
          for (const s of w.status()) if (s.lagMs !== null) this.set({ cluster, watch: s.resource }, s.lagMs / 1000);
      },
    });

    // ---- operations ------------------------------------------------------------------------------------------------
    addK8sTools(ctx);
    ctx.operation(k8sOperations.listClusters, async () => {
      const seen = await store.clusters();
      const names = new Set([...config.clusters.map((c) => c.name), ...seen.map((c) => c.name)]);
      return {
        items: [...names].sort().map((name) => {
          const s = seen.find((c) => c.name === name);
          return {
            name,
            configured: config.clusters.some((c) => c.name === name),
            objects: s?.objects ?? 0,
            lastSeenAt: s?.lastSeenAt ?? null,
          };
        }),
      };
    });
    ctx.operation(k8sOperations.searchObjects, async ({ query }) => {
      const known = query.resource === undefined ? undefined : resolveResource(query.resource);
      const q = known === undefined ? query : { ...query, resource: known.resource, group: query.group ?? known.group };
      const page = await store.search(q);
      return { items: page.items.map(({ id: _id, ...o }) => o), nextCursor: page.nextCursor };
    });
    ctx.operation(k8sOperations.getTrace, async ({ query }, op) => {
      const toMs = query.to ?? op.now;
      const fromMs = query.from ?? toMs - 24 * 3600_000;
      if (fromMs > toMs) throw new SpyglassError('INVALID_INPUT', 'from is after to');
      return assembleTrace(store, {
        key: keyOf(query),
        fromMs,
        toMs,
        mode: query.mode,
        owners: query.owners,
        depth: query.depth,
        maxObjects: config.limits.maxObjectsPerTrace,
        maxEntries: config.limits.maxEntriesPerTrace,
      });
    });
    ctx.operation(k8sOperations.getDiffs, async ({ query }, op) => {
      const key = keyOf(query);
      const object = await store.object(objectId(key));
      if (object === undefined)
        throw new SpyglassError(
          'NOT_FOUND',
          `nothing is recorded about ${key.resource} ${key.namespace === '' ? '' : `${key.namespace}/`}${key.name} in cluster ${key.cluster}`,
        );
      const toMs = query.to ?? op.now;
      const fromMs = query.from ?? 0;
      const rows = await store.entries([object.id], fromMs * 1000, toMs * 1000, query.limit + 1, 'diff');
      const { id: _id, ...o } = object;
      return {
        object: o,
        items: rows.slice(0, query.limit).map((e) => {
          const d = e.data as unknown as DiffData;
          return {
            resourceVersion: d.resourceVersion,
            oldResourceVersion: d.oldResourceVersion,
            timeUs: e.startUs,
            source: d.source,
            change: d.change,
            lines: d.lines,
            redacted: d.redacted,
          };
        }),
        truncated: rows.length > query.limit,
      };
    });
    ctx.operation(k8sOperations.importAudit, async ({ params, body }, op) => {
      op.audit.targetType = 'cluster';
      op.audit.targetId = params.cluster;
      const batch = parseEvents(body.events, {
        cluster: params.cluster,
        filters,
        maxObjectBytes: config.limits.maxObjectBytes,
      });
      const offered = writer.offer(batch.items);
      if (offered === 'busy')
        throw new SpyglassError('RATE_LIMITED', "the hub's Kubernetes queue is full; retry shortly", {
          retryAfterSec: 1,
        });
      await offered;
      op.audit.details = {
        accepted: batch.result.accepted,
        skipped: batch.result.skipped,
        rejected: batch.result.rejected,
      };
      return batch.result;
    });
    ctx.operation(k8sOperations.diagnostics, async () => diagnostics());

    const diagnostics = async (): Promise<K8sDiagnostics> => {
      const seen = await store.clusters();
      const holder = watchedClusters.length > 0 ? await ctx.jobs.leaseHolder(WATCHER_JOB).catch(() => null) : null;
      const names = [
        ...new Set([...config.clusters.map((c) => c.name), ...seen.map((c) => c.name), ...webhookCounts.keys()]),
      ].sort();
      const clusters: K8sClusterDiagnostics[] = [];
      for (const name of names) {
        const cfg = config.clusters.find((c) => c.name === name);
        const wc = webhookCounts.get(name);
        const sc = writer.counts.get(name);
        let watchers: K8sWatcherStatus[] = [];
        const here = running.get(name);
        if (here !== undefined) watchers = here.status();
        else if (cfg !== undefined && watched(cfg)) {
          // Another replica runs them: what it last stored is what this one can tell. Holding the lease without
          // running them yet means they are about to start here.
          const now = Date.now();
          const startingHere = holder === ctx.replicaId;
          watchers = (await store.checkpoints(name)).map((c) => ({
            resource: c.watch,
            state: startingHere ? 'starting' : now - c.updatedAt < 5 * 60_000 ? 'watching' : 'stopped',
            lastResourceVersion: c.resourceVersion,
            events: 0,
            relists: 0,
            errors: 0,
            lastError: null,
            lastEventAt: c.updatedAt,
            lagMs: null,
          }));
        }
        clusters.push({
          name,
          configured: cfg !== undefined,
          webhook: {
            requests: wc?.requests ?? 0,
            events: wc?.events ?? 0,
            accepted: wc?.accepted ?? 0,
            skipped: wc?.skipped ?? 0,
            rejected: wc?.rejected ?? 0,
            throttled: wc?.throttled ?? 0,
            lastRequestAt: wc?.lastRequestAt ?? null,
          },
          events: {
            seen: sc?.events ?? 0,
            dropped: sc === undefined ? 0 : Object.values(sc.eventsDropped).reduce((a, b) => a + b, 0),
          },
          watchers,
          watcherReplica: cfg !== undefined && watched(cfg) ? holder : null,
          objects: seen.find((c) => c.name === name)?.objects ?? 0,
        });
      }
      return {
        replicaId: ctx.replicaId,
        queue: { depth: writer.depth, capacity: writer.capacity, written: writer.written, failed: writer.failed },
        clusters,
        findings: findings(clusters, webhookCounts, writer, watchedClusters.length > 0, holder),
      };
    };

    ctx.onClose(async () => {
      await stopAll('the hub is closing');
      await writer.close();
    });
    app.decorate('k8s', { store, writer, config, watchingHere: () => [...running.keys()] });
  },
});

/** What looks wrong, with what to do about it (Kelemetry's `scan`, built in). */
function findings(
  clusters: readonly K8sClusterDiagnostics[],
  webhook: ReadonlyMap<string, WebhookCounts>,
  writer: K8sWriter,
  watchersConfigured: boolean,
  leaseHolder: string | null,
): K8sDiagnostics['findings'] {
  const out: K8sDiagnostics['findings'] = [];
  if (clusters.length === 0)
    out.push({
      level: 'warning',
      cluster: null,
      message: 'no cluster has sent audit entries and none is configured',
      suggestion:
        "point the API server's audit webhook at POST /api/v1/k8s/audit/<cluster> with a pool key (docs/kubernetes.md), or add the cluster under k8s.clusters for the watchers",
    });
  if (watchersConfigured && leaseHolder === null)
    out.push({
      level: 'error',
      cluster: null,
      message: 'no replica runs the watchers (nobody holds the watcher lease)',
      suggestion:
        'check that the hub replicas reach the database (or Redis, when leases live there) and look for scheduler errors in their logs',
    });
  if (writer.failed > 0)
    out.push({
      level: 'error',
      cluster: null,
      message: `${writer.failed} batches of Kubernetes entries could not be stored on this replica`,
      suggestion: 'the database refused writes: look for "Kubernetes entries could not be stored" in the hub log',
    });
  if (writer.depth > writer.capacity * 0.8)
    out.push({
      level: 'warning',
      cluster: null,
      message: `the queue is ${Math.round((writer.depth / writer.capacity) * 100)} % full`,
      suggestion:
        'the database is slower than the clusters write: raise k8s.queueCapacity, exclude noisy objects (k8s.exclude), or give the database more room',
    });
  for (const c of clusters) {
    const wc = webhook.get(c.name);
    if (c.configured && c.webhook.requests === 0)
      out.push({
        level: 'warning',
        cluster: c.name,
        message: 'no audit webhook requests from this cluster reached this replica',
        suggestion: `check the API server's --audit-webhook-config-file: its server must be https://<hub>/api/v1/k8s/audit/${c.name} and its token a pool key; and the audit policy must log at Metadata level or higher`,
      });
    if (c.webhook.rejected > 0)
      out.push({
        level: 'warning',
        cluster: c.name,
        message: `${c.webhook.rejected} audit entries were refused as malformed${wc?.lastError ? ` (last: ${wc.lastError})` : ''}`,
        suggestion:
          'the webhook must send audit.k8s.io/v1 EventList bodies (the API server does; a proxy in between may not)',
      });
    if (c.webhook.throttled > 0)
      out.push({
        level: 'warning',
        cluster: c.name,
        message: `${c.webhook.throttled} webhook requests were answered 429 because the queue was full`,
        suggestion:
          'the API server retries them; if it goes on, raise k8s.queueCapacity or reduce what the audit policy sends',
      });
    if (c.webhook.requests > 0 && c.webhook.accepted === 0 && c.webhook.skipped > 0)
      out.push({
        level: 'warning',
        cluster: c.name,
        message: 'every audit entry received was skipped (reads, early stages or filters)',
        suggestion:
          'the audit policy must include the ResponseComplete stage and write verbs (create, update, patch, delete)',
      });
    for (const w of c.watchers) {
      if (w.state === 'forbidden')
        out.push({
          level: 'error',
          cluster: c.name,
          message: `the ${w.resource} watcher is forbidden${w.lastError ? `: ${w.lastError}` : ''}`,
          suggestion: `grant list and watch on ${w.resource} to the hub's service account (the Helm chart's ClusterRole does)`,
        });
      else if (w.state === 'unavailable' || w.state === 'backoff')
        out.push({
          level: 'warning',
          cluster: c.name,
          message: `the ${w.resource} watcher cannot reach the API server${w.lastError ? `: ${w.lastError}` : ''}`,
          suggestion:
            'check the kubeconfig (server address, credentials) and the network path from the hub to the API server',
        });
      if (w.lagMs !== null && w.lagMs > 60_000)
        out.push({
          level: 'warning',
          cluster: c.name,
          message: `the ${w.resource} watcher is ${Math.round(w.lagMs / 1000)} s behind`,
          suggestion: 'the hub is slow to store what it sees: check k8s queue depth and database load',
        });
    }
  }
  if (out.length === 0) out.push({ level: 'ok', cluster: null, message: 'nothing looks wrong', suggestion: null });
  return out;
}

import { HIT_RETENTION } from '@spyglass/protocol';
import type { FastifyInstance } from 'fastify';
import { randomUUID } from 'node:crypto';
import { Gauge, Histogram } from 'prom-client';
import { ActionMetricsExporter } from '../hits/prometheus.js';
import { actionRoutes } from '../actions/routes.js';
import { ActionService } from '../actions/service.js';
import { agentRoutes } from '../agents/routes.js';
import { AgentStore } from '../agents/store.js';
import { hitRoutes } from '../hits/routes.js';
import { HitStore, type Retention } from '../hits/store.js';
import { StreamHub, type StreamOptions } from '../stream/stream.js';
import { AgentGateway, type GatewayOptions } from './gateway.js';

export interface LiveDebuggingOptions {
  gateway?: Partial<GatewayOptions>;
  stream?: Partial<StreamOptions>;
  retention?: Partial<Retention & { endedActionRetentionMs: number }>;
  /** Period of the one maintenance timer (heartbeats, expiry, counters, metric flushes). */
  tickMs?: number;
  /** How often stored hits are trimmed to their retention. */
  pruneIntervalMs?: number;
  /** How often every agent's set is recomputed from the DB even without a bus message. */
  resyncIntervalMs?: number;
}

export interface LiveDebugging {
  readonly replicaId: string;
  readonly agents: AgentStore;
  readonly actions: ActionService;
  readonly hits: HitStore;
  readonly gateway: AgentGateway;
  readonly stream: StreamHub;
  /** Runs one maintenance pass now (tests). */
  tick(): Promise<void>;
}

declare module 'fastify' {
  interface FastifyInstance {
    live: LiveDebugging;
  }
}

export const DEFAULT_GATEWAY_OPTIONS: GatewayOptions = {
  heartbeatIntervalMs: 15_000,
  helloTimeoutMs: 10_000,
  flushIntervalMs: 1_000,
  metricIntervalMs: 10_000,
  dispatchDelayMs: 10,
  statusFlushMs: 200,
  maxInvalidFrames: 50,
};

/**
 * Live debugging on the hub: the agent gateway (`/api/v1/agents/connect`), agents, actions and hits APIs, and the
 * client stream (`/api/v1/stream`). One timer drives every periodic job.
 */
export function liveDebugging(app: FastifyInstance, options: LiveDebuggingOptions = {}): LiveDebugging {
  const hub = app.hub;
  const replicaId = randomUUID();
  const gatewayOptions: GatewayOptions = { ...DEFAULT_GATEWAY_OPTIONS, ...options.gateway };
  const retention = { ...HIT_RETENTION, ...options.retention };
  const tickMs = options.tickMs ?? 1000;
  const pruneIntervalMs = options.pruneIntervalMs ?? 5000;
  const resyncIntervalMs = options.resyncIntervalMs ?? 60_000;

  const agents = new AgentStore(hub.storage.db, gatewayOptions.heartbeatIntervalMs * 3);
  const actions = new ActionService(
    hub.storage.db,
    hub.storage.dialect,
    app.services.pools,
    agents,
    hub.log.child({ component: 'actions' }),
  );
  const hits = new HitStore(hub.storage.db, hub.storage.dialect, retention, replicaId);
  const gateway = new AgentGateway({
    hub,
    pools: app.services.pools,
    agents,
    actions,
    hits,
    replicaId,
    options: gatewayOptions,
  });
  const stream = new StreamHub({
    bus: hub.bus,
    pools: app.services.pools,
    log: hub.log,
    options: {
      maxQueuedMessages: 1000,
      maxBufferedBytes: 1024 * 1024,
      heartbeatIntervalMs: gatewayOptions.heartbeatIntervalMs,
      ...options.stream,
    },
  });

  const registry = hub.metrics.registry;
  new Gauge({
    name: 'spyglass_gateway_agents_connected',
    help: 'Agents connected to this hub replica',
    registers: [registry],
    collect() {
      this.set(gateway.agentCount);
    },
  });
  new Gauge({
    name: 'spyglass_stream_clients',
    help: 'Live stream clients connected to this hub replica',
    registers: [registry],
    collect() {
      this.set(stream.clientCount);
    },
  });
  const dispatchSeconds = new Histogram({
    name: 'spyglass_gateway_dispatch_duration_seconds',
    help: 'Time to compute and write action sets after a change, per dispatch pass',
    buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [registry],
  });
  gateway.onDispatch = (_agents, ms) => dispatchSeconds.observe(ms / 1000);

  // An upgrade refused before the WebSocket plugin saw it (e.g. 401 from the auth hook) leaves a paused raw socket
  // that nothing reads or closes, and that would hold `app.close()` forever. Successful upgrades are hijacked and
  // never reach onResponse.
  app.addHook('onResponse', (request, _reply, done) => {
    if (request.headers.upgrade?.toLowerCase() === 'websocket') request.raw.socket.destroy();
    done();
  });

  app.get('/api/v1/agents/connect', { websocket: true, config: { access: 'self' } }, (socket, request) =>
    gateway.handle(socket, request),
  );
  app.get('/api/v1/stream', { websocket: true, config: { access: 'viewer' } }, (socket, request) =>
    stream.handle(socket, request),
  );
  agentRoutes(app, agents, hub.bus);
  actionRoutes(app, actions, gateway);
  const prometheus = new ActionMetricsExporter((ids) => actions.recordsByIds(ids));
  hits.onMetrics((samples) => prometheus.record(samples));
  hitRoutes(app, actions, hits, prometheus);

  let lastPruneAt = Date.now();
  let lastResyncAt = Date.now();
  let lastEndedSweepAt = 0;
  let running: Promise<void> | null = null;
  const pass = async (): Promise<void> => {
    const now = Date.now();
    const jobs: [string, () => Promise<unknown>][] = [
      ['heartbeats', () => gateway.tick(now)],
      [
        'expiry',
        async () => {
          for (const a of await actions.expireDue(now)) await gateway.publishChange(a, 'expired');
        },
      ],
      ['metrics', () => hits.flushMetrics(now)],
    ];
    if (now - lastPruneAt >= pruneIntervalMs) {
      lastPruneAt = now;
      jobs.push(['prune', () => hits.prune(now)]);
    }
    if (now - lastEndedSweepAt >= 10 * 60_000) {
      lastEndedSweepAt = now;
      jobs.push(['ended actions', () => actions.removeEnded(now - retention.endedActionRetentionMs)]);
    }
    if (now - lastResyncAt >= resyncIntervalMs) {
      lastResyncAt = now;
      gateway.resync();
    }
    stream.tick(now);
    for (const [name, job] of jobs) {
      try {
        await job();
      } catch (err) {
        hub.log.error({ err, job: name }, 'live debugging maintenance failed');
      }
    }
  };
  const tick = (): Promise<void> => {
    running ??= pass().finally(() => (running = null));
    return running;
  };
  const timer = setInterval(() => void tick(), tickMs);
  timer.unref();

  app.addHook('preClose', async () => {
    clearInterval(timer);
    stream.stop();
    await running;
    await gateway.stop();
    await hits
      .flushMetrics(Date.now())
      .catch((err: unknown) => hub.log.warn({ err }, 'could not write metric buckets'));
  });

  const live: LiveDebugging = { replicaId, agents, actions, hits, gateway, stream, tick };
  app.decorate('live', live);
  return live;
}

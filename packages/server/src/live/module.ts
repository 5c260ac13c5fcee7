import { Gauge, Histogram } from 'prom-client';
import { ActionService } from '../actions/service.js';
import { AgentStore } from '../agents/store.js';
import { ActionSetDispatcher } from '../gateway/dispatch.js';
import { AgentGateway, type GatewayOptions } from '../gateway/gateway.js';
import { LiveIngest } from '../gateway/ingest.js';
import { ActionMetricsExporter } from '../hits/prometheus.js';
import { HitStore, type Retention } from '../hits/store.js';
import { defineModule } from '../platform/module.js';
import { SourceBroker, type SourceBrokerOptions } from '../sources/broker.js';
import { liveChannel } from '../stream/live-channel.js';
import type { StreamOptions } from '../stream/stream.js';
import { HIT_RETENTION } from '@spyglass/protocol';
import { liveConfigSection } from './config.js';
import { bindLiveOperations } from './operations.js';
import { bindPolicy } from '../policy/operations.js';
import { PolicyService } from '../policy/service.js';
import { addLiveTools } from './tools.js';

/** Tuning that tests shorten (heartbeats, timers); production takes its values from the `live:` config section. */
export interface LiveDebuggingOptions {
  gateway?: Partial<GatewayOptions>;
  stream?: Partial<StreamOptions>;
  retention?: Partial<Retention & { endedActionRetentionMs: number }>;
  sources?: Partial<SourceBrokerOptions>;
  /** Period of the maintenance jobs (heartbeats, expiry, counters, metric flushes). */
  tickMs?: number;
  /** How often stored hits are trimmed to their retention. */
  pruneIntervalMs?: number;
  /** How often every agent's set is recomputed from the DB even without a bus message. */
  resyncIntervalMs?: number;
  /** How often agents disconnected past `live.agentRetentionMs` are deleted. */
  agentRetentionIntervalMs?: number;
}

/** What live debugging exposes to the rest of the hub (and tests): its stores, gateway and a manual maintenance pass. */
export interface LiveDebugging {
  readonly replicaId: string;
  readonly agents: AgentStore;
  readonly actions: ActionService;
  readonly hits: HitStore;
  readonly gateway: AgentGateway;
  readonly ingest: LiveIngest;
  readonly dispatcher: ActionSetDispatcher;
  readonly sources: SourceBroker;
  /** Agent policy per pool (pushed to agents). */
  readonly policies: PolicyService;
  /** Runs every live-debugging job once now and waits for them (tests). */
  tick(): Promise<void>;
}

declare module 'fastify' {
  interface FastifyInstance {
    live: LiveDebugging;
    sources: SourceBroker;
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
  maxConnectionsPerPool: 5_000,
};

/** The jobs a manual maintenance pass (`live.tick()`) runs, in this order. */
const PASS = ['live.heartbeats', 'live.counters', 'live.expiry', 'live.metrics', 'live.prune'];

/**
 * Live debugging: the agent gateway (`/api/v1/agents/connect`), agents, sources, actions and hits operations, the
 * `live` stream channel, and its jobs (heartbeats, expiry, metric flushes, retention).
 */
export const liveDebuggingModule = defineModule({
  name: 'live',
  config: liveConfigSection,
  register(ctx) {
    const { app, hub, config } = ctx;
    const options = (ctx.options ?? {}) as LiveDebuggingOptions;
    const gatewayOptions: GatewayOptions = {
      ...DEFAULT_GATEWAY_OPTIONS,
      heartbeatIntervalMs: config.heartbeatIntervalMs,
      helloTimeoutMs: config.helloTimeoutMs,
      maxConnectionsPerPool: config.maxConnectionsPerPool,
      ...options.gateway,
    };
    const retention = {
      ...HIT_RETENTION,
      ...config.retention,
      ...options.retention,
    };
    const tickMs = options.tickMs ?? 1000;
    const log = hub.log;

    const agents = new AgentStore(hub.storage.db, gatewayOptions.heartbeatIntervalMs * 3, hub.bus, {
      maxAgentsPerPool: config.maxAgentsPerPool,
    });
    const actions = new ActionService({
      db: hub.storage.db,
      dialect: hub.storage.dialect,
      pools: app.services.pools,
      agents,
      bus: hub.bus,
      log: log.child({ component: 'actions' }),
    });
    const hits = new HitStore(hub.storage.db, hub.storage.dialect, retention, ctx.replicaId);
    const gateway = new AgentGateway({
      hub,
      pools: app.services.pools,
      agents,
      frames: ctx.frames,
      replicaId: ctx.replicaId,
      options: gatewayOptions,
    });
    const dispatcher = new ActionSetDispatcher({
      actions,
      bus: hub.bus,
      connections: gateway.connections,
      log: log.child({ component: 'agent-gateway' }),
      delayMs: gatewayOptions.dispatchDelayMs,
    });
    gateway.useDispatcher(dispatcher);
    const ingest = new LiveIngest({
      bus: hub.bus,
      agents,
      actions,
      hits,
      log: log.child({ component: 'agent-gateway' }),
      statusFlushMs: gatewayOptions.statusFlushMs,
    });
    ingest.register(ctx.frames);
    gateway.onDrain(async () => {
      await ingest.flushStatuses();
      await ingest.flushCounts(Date.now()).catch((err: unknown) => log.warn({ err }, 'could not write hit counts'));
    });
    const sources = new SourceBroker({
      bus: hub.bus,
      gateway,
      frames: ctx.frames,
      replicaId: ctx.replicaId,
      log,
      options: options.sources ?? {},
    });
    ctx.stream.addChannel(liveChannel({ bus: hub.bus, pools: app.services.pools }));
    const prometheus = new ActionMetricsExporter((ids) => actions.recordsByIds(ids));
    hits.onMetrics((samples) => prometheus.record(samples));
    bindLiveOperations(ctx, { agents, actions, hits, sources, prometheus, pools: app.services.pools });
    const policies = new PolicyService({ db: hub.storage.db, pools: app.services.pools, bus: hub.bus });
    const offPolicy = bindPolicy(ctx, {
      policies,
      gateway,
      bus: hub.bus,
      log: log.child({ component: 'agent-gateway' }),
    });
    addLiveTools(ctx);

    // ---- metrics ----
    const registry = hub.metrics.registry;
    new Gauge({
      name: 'spyglass_gateway_agents_connected',
      help: 'Agents connected to this hub replica',
      registers: [registry],
      collect() {
        this.set(gateway.agentCount);
      },
    });
    const dispatchSeconds = new Histogram({
      name: 'spyglass_gateway_dispatch_duration_seconds',
      help: 'Time to compute and write action sets after a change, per dispatch pass',
      buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [registry],
    });
    dispatcher.onDispatch((_agents, ms) => dispatchSeconds.observe(ms / 1000));

    // ---- routes that are not operations: the agent's own WebSocket ----
    app.get('/api/v1/agents/connect', { websocket: true, config: { access: 'self' } }, (socket, request) =>
      gateway.handle(socket, request),
    );
    // Bus messages published while the bus was away are lost: recompute every connected agent's set from the DB.
    const offBusReconnect = hub.bus.onReconnect(() => dispatcher.resync());

    // ---- jobs ----
    // Every replica runs these for its own connections and buffers; expiry and retention are idempotent database
    // sweeps, cheap enough to run everywhere (and they keep running on a replica that loses its peers).
    ctx.jobs.add({ name: 'live.heartbeats', everyMs: tickMs, run: (now) => gateway.tick(now) });
    ctx.jobs.add({ name: 'live.counters', everyMs: tickMs, run: (now) => ingest.flushCounts(now) });
    ctx.jobs.add({ name: 'live.expiry', everyMs: tickMs, run: (now) => actions.expireDue(now).then(() => {}) });
    ctx.jobs.add({ name: 'live.metrics', everyMs: tickMs, run: (now) => hits.flushMetrics(now) });
    ctx.jobs.add({ name: 'live.prune', everyMs: options.pruneIntervalMs ?? 5000, run: (now) => hits.prune(now) });
    ctx.jobs.add({
      name: 'live.ended-actions',
      everyMs: 10 * 60_000,
      singleton: true,
      runAtStart: true,
      run: (now) => actions.removeEnded(now - retention.endedActionRetentionMs).then(() => {}),
    });
    if (config.agentRetentionMs > 0)
      ctx.jobs.add({
        name: 'live.agent-retention',
        everyMs: options.agentRetentionIntervalMs ?? 10 * 60_000,
        singleton: true,
        runAtStart: true,
        run: async (now) => {
          const n = await agents.pruneNotSeenSince(now - config.agentRetentionMs);
          if (n > 0) log.info({ agents: n }, 'deleted agents disconnected past live.agentRetentionMs');
        },
      });
    ctx.jobs.add({ name: 'live.resync', everyMs: options.resyncIntervalMs ?? 60_000, run: () => dispatcher.resync() });

    ctx.onClose(async () => {
      offBusReconnect();
      offPolicy();
      dispatcher.stop();
      sources.stop();
      await gateway.stop();
      await hits.flushMetrics(Date.now()).catch((err: unknown) => log.warn({ err }, 'could not write metric buckets'));
    });

    const tick = async (): Promise<void> => {
      for (const name of PASS) await ctx.jobs.run(name);
    };
    const live: LiveDebugging = {
      replicaId: ctx.replicaId,
      agents,
      actions,
      hits,
      gateway,
      ingest,
      dispatcher,
      sources,
      policies,
      tick,
    };
    app.decorate('live', live);
    app.decorate('sources', sources);
  },
});

import {
  actionStatusFrameSchema,
  heartbeatFrameSchema,
  hitsFrameSchema,
  type ActionStatus,
  type AgentHealth,
  type HitsFrame,
} from '@spyglass/protocol';
import type { Logger } from 'pino';
import type { StatusRow } from '../actions/agent-statuses.js';
import type { ActionService } from '../actions/service.js';
import { healthFrom, type AgentStore, type HitCounts } from '../agents/store.js';
import type { Bus } from '../bus/bus.js';
import type { HitStore } from '../hits/store.js';
import { zodSummary, type FrameConnection, type FrameParseResult, type FrameRouter } from '../platform/frames.js';
import { parseLogHitsFrame } from './fast-hits.js';
import { HitBatcher } from './hit-batch.js';
import { LIVE_TOPICS, type LiveEventMessage } from './topics.js';

/** Log-only hits frames (the common frame) are checked without zod, by the same rules; anything else goes to zod. */
function parseHits(value: Record<string, unknown>): FrameParseResult<HitsFrame> {
  const fast = parseLogHitsFrame(value);
  if (fast !== null) return { success: true, data: fast };
  const r = hitsFrameSchema.safeParse(value);
  if (r.success) return { success: true, data: r.data };
  return { success: false, error: zodSummary(r.error) };
}

/**
 * What live debugging takes in from agents: heartbeat counters, action statuses and hits. Registered on the gateway's
 * frame router; statuses and counters are buffered and written in batches, hits are group-committed, and everything
 * kept is published on the bus for live streams.
 */
export class LiveIngest {
  readonly #bus: Bus;
  readonly #agents: AgentStore;
  readonly #actions: ActionService;
  readonly #batch: HitBatcher;
  readonly #log: Logger;
  readonly #statusFlushMs: number;

  readonly #statusBuffer = new Map<string, StatusRow>();
  #statusTimer: NodeJS.Timeout | null = null;
  readonly #agentCounts = new Map<string, HitCounts>();
  /** The latest heartbeat counters of each agent, stored by the next flush. */
  readonly #health = new Map<string, AgentHealth>();
  readonly #actionAgentHits = new Map<string, { actionId: string; agentId: string; hits: number }>();

  constructor(deps: {
    bus: Bus;
    agents: AgentStore;
    actions: ActionService;
    hits: HitStore;
    log: Logger;
    statusFlushMs: number;
  }) {
    this.#bus = deps.bus;
    this.#agents = deps.agents;
    this.#actions = deps.actions;
    this.#batch = new HitBatcher({ actions: deps.actions, hits: deps.hits });
    this.#log = deps.log;
    this.#statusFlushMs = deps.statusFlushMs;
  }

  /** Registers the three frame types; returns a function that removes them. */
  register(frames: FrameRouter): () => void {
    const offs = [
      frames.on('heartbeat', heartbeatFrameSchema, (f, conn) => {
        // Stamped with the hub's clock, like lastSeenAt: an agent's clock may be off.
        if (f.stats) this.#health.set(conn.agent.id, healthFrom(f.stats, Date.now()));
      }),
      frames.on('action_status', actionStatusFrameSchema, (f, conn) => this.#statuses(conn, f.statuses)),
      frames.on('hits', parseHits, (f, conn) => this.#ingest(conn, f), { label: 'hits (nothing of it was stored)' }),
    ];
    return () => offs.forEach((off) => off());
  }

  #statuses(conn: FrameConnection, statuses: readonly ActionStatus[]): void {
    const agent = conn.agent;
    const accepted = statuses.filter((s) => conn.knows(s.actionId));
    if (accepted.length < statuses.length) {
      conn.reject(`${statuses.length - accepted.length} status(es) name actions this agent was not given; ignored`);
    }
    if (accepted.length === 0) return;
    for (const status of accepted) {
      const k = `${status.actionId}|${agent.id}`;
      const prev = this.#statusBuffer.get(k);
      if (prev === undefined || prev.status.at <= status.at)
        this.#statusBuffer.set(k, { actionId: status.actionId, agentId: agent.id, status });
    }
    this.#statusTimer ??= setTimeout(() => void this.flushStatuses(), this.#statusFlushMs);
    void this.#bus.publish(LIVE_TOPICS.events, {
      kind: 'status',
      poolId: agent.poolId,
      service: agent.service,
      agentId: agent.id,
      statuses: accepted,
    });
  }

  async flushStatuses(): Promise<void> {
    if (this.#statusTimer !== null) clearTimeout(this.#statusTimer);
    this.#statusTimer = null;
    if (this.#statusBuffer.size === 0) return;
    const rows = [...this.#statusBuffer.values()];
    this.#statusBuffer.clear();
    await this.#actions.statuses
      .upsertStatuses(rows)
      .catch((err: unknown) => this.#log.error({ err }, 'could not store agent statuses'));
  }

  async #ingest(conn: FrameConnection, frame: HitsFrame): Promise<void> {
    const agent = conn.agent;
    const counts = new Map<string, number>();
    let unknown = 0;
    const add = (actionId: string, n: number): boolean => {
      if (!conn.knows(actionId)) {
        unknown++;
        return false;
      }
      counts.set(actionId, (counts.get(actionId) ?? 0) + n);
      return true;
    };
    const logs = frame.logs.filter((l) => add(l.actionId, 1));
    const snapshots = frame.snapshots.filter((s) => add(s.actionId, 1));
    const metrics = frame.metrics.filter((m) => add(m.actionId, Math.max(1, m.count)));
    if (unknown > 0) conn.reject(`${unknown} hit(s) name actions this agent was not given; dropped`);

    const {
      accepted,
      budget,
      logs: keptLogs,
      snapshots: summaries,
      metrics: keptMetrics,
    } = await this.#batch.submit({ agentId: agent.id, counts, logs, snapshots, metrics });

    const rejected =
      logs.length + snapshots.length + metrics.length - keptLogs.length - summaries.length - keptMetrics.length;
    const c = this.#agentCounts.get(agent.id) ?? { logs: 0, snapshots: 0, metrics: 0, dropped: 0 };
    c.logs += keptLogs.length;
    c.snapshots += summaries.length;
    c.metrics += keptMetrics.reduce((n, m) => n + m.count, 0);
    c.dropped += frame.dropped;
    this.#agentCounts.set(agent.id, c);
    for (const [actionId, n] of accepted) {
      const used = Math.min(n, (counts.get(actionId) ?? 0) - Math.max(0, budget.get(actionId) ?? 0));
      if (used <= 0) continue;
      const k = `${actionId}|${agent.id}`;
      const e = this.#actionAgentHits.get(k) ?? { actionId, agentId: agent.id, hits: 0 };
      e.hits += used;
      this.#actionAgentHits.set(k, e);
    }
    if (rejected > 0)
      this.#log.debug({ agentId: agent.id, rejected }, 'hits beyond maxHits or for ended actions dropped');

    if (keptLogs.length + summaries.length + keptMetrics.length > 0) {
      const event: LiveEventMessage = {
        kind: 'hits',
        poolId: agent.poolId,
        service: agent.service,
        agentId: agent.id,
        logs: keptLogs.map((l) => ({
          actionId: l.actionId,
          at: l.at,
          level: l.level,
          message: l.message,
          traceId: l.traceId ?? null,
          spanId: l.spanId ?? null,
        })),
        snapshots: summaries,
        metrics: keptMetrics.map((m) => ({
          actionId: m.actionId,
          start: m.start,
          end: m.end,
          count: m.count,
          sum: m.sum,
          min: m.min,
          max: m.max,
        })),
      };
      void this.#bus.publish(LIVE_TOPICS.events, event);
    }
  }

  /** Writes the buffered per-agent counters, heartbeat health and per-(action, agent) hit counts. */
  async flushCounts(now: number): Promise<void> {
    if (this.#agentCounts.size > 0) {
      const counts = new Map(this.#agentCounts);
      this.#agentCounts.clear();
      await this.#agents.addCounts(counts);
    }
    if (this.#health.size > 0) {
      const reports = new Map(this.#health);
      this.#health.clear();
      await this.#agents.setHealth(reports);
    }
    if (this.#actionAgentHits.size > 0) {
      const hits = new Map(this.#actionAgentHits);
      this.#actionAgentHits.clear();
      await this.#actions.statuses.addAgentHits(hits, now);
    }
  }
}

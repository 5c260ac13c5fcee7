import type { ActionStatus, LogLevel, SnapshotSummary } from '@spyglass/protocol';
import { defineTopic } from '../bus/bus.js';

export type ActionEvent = 'created' | 'deleted' | 'completed' | 'expired';

export interface ActionsChangedMessage {
  poolId: string;
  actionId: string;
  event: ActionEvent;
  /** The action's target service, if it names one (streams following a service use it). */
  service: string | null;
}

export type AgentControlMessage =
  { type: 'connected'; agentId: string; connectionId: string } | { type: 'revoked'; agentId: string };

export interface LiveOrigin {
  poolId: string;
  service: string;
  agentId: string;
}

export type LiveEventMessage =
  | (LiveOrigin & {
      kind: 'hits';
      logs: {
        actionId: string;
        at: number;
        level: LogLevel;
        message: string;
        traceId: string | null;
        spanId: string | null;
      }[];
      snapshots: SnapshotSummary[];
      metrics: { actionId: string; start: number; end: number; count: number; sum: number; min: number; max: number }[];
    })
  | (LiveOrigin & { kind: 'status'; statuses: ActionStatus[] });

/** Bus topics of live debugging. Every message is plain JSON so the Redis bus carries it unchanged. */
export const LIVE_TOPICS = {
  /** An action was created, deleted, completed or expired: every replica recomputes its agents' sets. */
  actions: defineTopic<ActionsChangedMessage>('live.actions'),
  /** Agent presence: a newer connection took over, or an admin deleted the agent. */
  agents: defineTopic<AgentControlMessage>('live.agents'),
  /** Hits and statuses for live streams. */
  events: defineTopic<LiveEventMessage>('live.events'),
} as const;

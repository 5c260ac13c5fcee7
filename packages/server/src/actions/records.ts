import {
  summarizeAction,
  type Action,
  type ActionSpec,
  type ActionState,
  type AgentAction,
  type Target,
} from '@spyglass/protocol';
import type { Selectable } from 'kysely';
import type { AgentIdentity } from '../agents/store.js';
import { parseJson } from '../hits/cursor.js';
import type { ActionsTable } from '../storage/schema.js';

/** An action as the hub works with it. */
export interface ActionRecord {
  id: string;
  poolId: string;
  kind: ActionSpec['kind'];
  spec: ActionSpec;
  target: Target;
  maxHits: number;
  hitCount: number;
  expiresAt: number;
  state: ActionState;
  createdAt: number;
  createdBy: string | null;
  endedAt: number | null;
}

/** Does this action apply to this agent? Every given filter must match. */
export function actionMatches(action: ActionRecord, agent: AgentIdentity): boolean {
  if (action.poolId !== agent.poolId) return false;
  const t = action.target;
  if (t.agentIds !== undefined && !t.agentIds.includes(agent.id)) return false;
  if (t.service !== undefined && t.service !== agent.service) return false;
  if (t.tags !== undefined) for (const [k, v] of Object.entries(t.tags)) if (agent.tags[k] !== v) return false;
  return true;
}

/** What an agent receives for an action. */
export function toAgentAction(action: ActionRecord): AgentAction {
  return { ...action.spec, id: action.id, maxHits: action.maxHits, expiresAt: action.expiresAt };
}

export type ActionRow = Selectable<ActionsTable> & { pool_name: string };

/** An `actions` row (joined with its pool's name) as a record. */
export function toRecord(row: ActionRow): ActionRecord {
  const target: Target = { pool: row.pool_name };
  if (row.target_agent_ids !== null) target.agentIds = parseJson<string[]>(row.target_agent_ids, []);
  if (row.target_tags !== null) target.tags = parseJson<Record<string, string>>(row.target_tags, {});
  if (row.target_service !== null) target.service = row.target_service;
  const maxHits = Number(row.max_hits);
  return {
    id: row.id,
    poolId: row.pool_id,
    kind: row.kind,
    spec: parseJson<ActionSpec>(row.spec, { kind: row.kind } as ActionSpec),
    target,
    maxHits,
    hitCount: Math.min(Number(row.hit_count), maxHits),
    expiresAt: Number(row.expires_at),
    state: row.state,
    createdAt: Number(row.created_at),
    createdBy: row.created_by,
    endedAt: row.ended_at === null ? null : Number(row.ended_at),
  };
}

/** The REST shape of an action. */
export function toAction(r: ActionRecord, statusCounts: Record<string, number>): Action {
  return {
    ...r.spec,
    id: r.id,
    target: r.target,
    maxHits: r.maxHits,
    expiresAt: r.expiresAt,
    state: r.state,
    createdAt: r.createdAt,
    createdBy: r.createdBy,
    endedAt: r.endedAt,
    hitCount: r.hitCount,
    statusCounts,
    summary: summarizeAction(r.state, statusCounts),
  };
}

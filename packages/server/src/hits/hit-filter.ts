import type { HitQuery } from '@spyglass/protocol';
import type { Expression, ExpressionBuilder, SqlBool } from 'kysely';
import type { Database } from '../storage/schema.js';

/**
 * The filter of a page of log or snapshot hits: one action, and the optional agent and time window. Both tables have
 * the same `action_id`, `agent_id` and `at` columns.
 */
export function hitFilter(
  actionId: string,
  q: HitQuery,
): (eb: ExpressionBuilder<Database, 'log_hits' | 'snapshot_hits'>) => Expression<SqlBool> {
  return (eb) => {
    const where: Expression<SqlBool>[] = [eb('action_id', '=', actionId)];
    if (q.agentId !== undefined) where.push(eb('agent_id', '=', q.agentId));
    if (q.since !== undefined) where.push(eb('at', '>=', q.since));
    if (q.until !== undefined) where.push(eb('at', '<', q.until));
    return eb.and(where);
  };
}

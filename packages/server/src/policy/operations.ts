import { PROTOCOL_VERSION, policyOperations as ops, type Pool, type Role } from '@spyglass/protocol';
import type { Logger } from 'pino';
import type { Bus } from '../bus/bus.js';
import type { AgentGateway } from '../gateway/gateway.js';
import type { ModuleContext } from '../platform/module.js';
import type { OperationContext } from '../platform/operations.js';
import { requirePoolRole, scopeOf } from '../pools/scope.js';
import { POLICY_TOPICS, type PolicyService } from './service.js';

/**
 * Pool policy: the get/set operations, the policy in every agent's `welcome`, and the push of a changed policy to
 * the pool's agents connected to this replica (every replica hears the change on the bus). Returns the unsubscriber.
 */
export function bindPolicy(
  ctx: ModuleContext,
  deps: { policies: PolicyService; gateway: AgentGateway; bus: Bus; log: Logger },
): () => void {
  const { policies, gateway, bus, log } = deps;
  gateway.usePolicies((pool) => policies.wireFor(pool));

  /** The pool named, if the caller holds `needed` there (a pool they cannot see at all answers NOT_FOUND). */
  const poolFor = async (name: string, needed: Role, c: OperationContext): Promise<Pool> => {
    const pool = await ctx.app.services.pools.get(name);
    requirePoolRole(scopeOf(c.principal), pool, needed, `pool ${name}`);
    return pool;
  };
  ctx.operation(ops.getPoolPolicy, async ({ params }, c) => policies.forPool(await poolFor(params.pool, 'viewer', c)));
  ctx.operation(ops.setPoolPolicy, async ({ params, body }, c) => {
    c.audit.targetType = 'pool';
    const pool = await poolFor(params.pool, 'admin', c);
    const record = await policies.set(pool.id, body, c.principal?.user.id ?? null);
    c.audit.details = {
      pool: record.pool,
      revision: record.revision,
      redactNames: body.redaction.names.length,
      redactValues: body.redaction.values.length,
      redactDefaults: body.redaction.defaults,
      blocklist: body.blocklist.length,
      quotas: body.quotas,
      capture: body.capture,
    };
    return record;
  });

  const push = (poolId: string): void => {
    void (async () => {
      const pool = await ctx.app.services.pools.get(poolId);
      const wire = await policies.wireFor(pool);
      const sent = gateway.sendToPool(poolId, { type: 'policy', v: PROTOCOL_VERSION, ...wire });
      log.info({ pool: pool.name, revision: wire.revision, agents: sent }, 'pool policy sent to connected agents');
    })().catch((err: unknown) => log.warn({ err, poolId }, 'could not send the pool policy to its agents'));
  };
  const off = bus.subscribe(POLICY_TOPICS.changed, ({ poolId }) => push(poolId));
  // A change published while the bus was away is lost: send every connected pool its current policy again (agents
  // ignore a revision they already have).
  const offReconnect = bus.onReconnect(() => {
    for (const poolId of [...gateway.connections.pools()]) push(poolId);
  });
  return () => {
    off();
    offReconnect();
  };
}

import { PROTOCOL_VERSION, policyOperations as ops } from '@spyglass/protocol';
import type { Logger } from 'pino';
import type { Bus } from '../bus/bus.js';
import type { AgentGateway } from '../gateway/gateway.js';
import type { ModuleContext } from '../platform/module.js';
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

  ctx.operation(ops.getPoolPolicy, ({ params }) => policies.get(params.pool));
  ctx.operation(ops.setPoolPolicy, async ({ params, body }, c) => {
    c.audit.targetType = 'pool';
    const record = await policies.set(params.pool, body, c.principal?.user.id ?? null);
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

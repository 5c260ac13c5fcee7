import { SpyglassError, liveOperations as ops, type Role, type SourceResponseFrame } from '@spyglass/protocol';
import { toAction, type ActionService } from '../actions/service.js';
import type { AgentStore } from '../agents/store.js';
import type { ActionMetricsExporter } from '../hits/prometheus.js';
import type { HitStore } from '../hits/store.js';
import type { ModuleContext } from '../platform/module.js';
import type { SourceBroker } from '../sources/broker.js';
import type { PoolService } from '../pools/service.js';
import { requirePoolRole, requireRoleInNamedPool, scopeOf, visiblePools } from '../pools/scope.js';
import type { OperationContext } from '../platform/operations.js';

function agentError(frame: SourceResponseFrame): SpyglassError | null {
  if (frame.error === undefined) return null;
  return new SpyglassError(frame.error.code, `the agent answered: ${frame.error.message}`);
}

/** Binds the handlers of every live-debugging operation (contracts: `liveOperations` in @spyglass/protocol). */
export function bindLiveOperations(
  ctx: ModuleContext,
  deps: {
    agents: AgentStore;
    actions: ActionService;
    hits: HitStore;
    sources: SourceBroker;
    prometheus: ActionMetricsExporter;
    pools: PoolService;
  },
): void {
  const { agents, actions, hits, sources, prometheus, pools } = deps;

  // Every operation here is pool-scoped (docs/adr/0013-roles-per-pool.md): the caller's role in the pool of the agent
  // or action it touches is checked here, and lists are filtered to the pools the caller may see, in the query.
  const agentIn = async (id: string, c: OperationContext, needed: Role) => {
    const agent = await agents.get(id, c.now);
    requirePoolRole(scopeOf(c.principal), { id: agent.poolId, name: agent.poolName }, needed, `agent ${id}`);
    return agent;
  };
  const actionIn = async (id: string, c: OperationContext, needed: Role) => {
    const record = await actions.record(id);
    requirePoolRole(scopeOf(c.principal), { id: record.poolId, name: record.target.pool }, needed, `action ${id}`);
    return record;
  };

  // ---- agents and their sources ----
  ctx.operation(ops.listAgents, ({ query }, c) => agents.list(query, c.now, visiblePools(scopeOf(c.principal))));
  ctx.operation(ops.getAgent, ({ params }, c) => agentIn(params.id, c, 'viewer'));
  ctx.operation(ops.deleteAgent, async ({ params }, c) => {
    c.audit.targetType = 'agent';
    c.audit.targetId = params.id;
    await agentIn(params.id, c, 'admin');
    const agent = await agents.delete(params.id, c.now);
    c.audit.details = { pool: agent.poolName, service: agent.service.name, instanceId: agent.instanceId };
    return null;
  });

  const connectedAgent = async (id: string, c: OperationContext) => {
    const agent = await agentIn(id, c, 'viewer');
    if (agent.status !== 'connected') {
      throw new SpyglassError(
        'CONFLICT',
        `agent ${id} is disconnected; its sources can be browsed while it is connected`,
      );
    }
    return agent;
  };
  ctx.operation(ops.listSources, async ({ params }, c) => {
    await connectedAgent(params.id, c);
    const frame = await sources.request(params.id, 'list');
    const err = agentError(frame);
    if (err !== null) throw err;
    return { files: frame.files ?? [] };
  });
  ctx.operation(ops.readSource, async ({ params, query }, c) => {
    const { id } = params;
    const path = query.path;
    c.audit.targetType = 'agent';
    c.audit.targetId = id;
    c.audit.details = { path };
    try {
      const agent = await connectedAgent(id, c);
      c.audit.details = { path, pool: agent.poolName, service: agent.service.name };
      const frame = await sources.request(id, 'read', path);
      const err = agentError(frame);
      if (err !== null) throw err;
      const text = frame.text ?? '';
      const truncated = frame.truncated ?? false;
      c.audit.details = { ...c.audit.details, bytes: Buffer.byteLength(text), truncated };
      return { path: frame.path ?? path, text, truncated };
    } catch (err) {
      if (err instanceof SpyglassError) c.audit.details = { ...c.audit.details, error: err.message };
      throw err;
    }
  });

  // ---- actions ----
  ctx.operation(ops.createAction, async ({ body }, c) => {
    c.audit.targetType = 'action';
    c.audit.details = { kind: body.kind, file: body.file, line: body.line, target: body.target };
    // An unknown pool is left to the service (INVALID_INPUT with the field); a known one needs developer there.
    const pool = await pools.get(body.target.pool).catch(() => null);
    if (pool !== null) requireRoleInNamedPool(scopeOf(c.principal), pool, 'developer');
    const action = await actions.create(body, c.principal?.user.id ?? null, c.now);
    c.audit.targetId = action.id;
    return toAction(action, {});
  });
  ctx.operation(ops.listActions, ({ query }, c) => actions.list(query, visiblePools(scopeOf(c.principal))));
  ctx.operation(ops.getAction, async ({ params }, c) => {
    await actionIn(params.id, c, 'viewer');
    return actions.get(params.id);
  });
  ctx.operation(ops.listActionAgents, async ({ params, query }, c) => {
    await actionIn(params.id, c, 'viewer');
    return actions.statuses.page(params.id, query.limit, query.cursor);
  });
  ctx.operation(ops.deleteAction, async ({ params }, c) => {
    c.audit.targetType = 'action';
    c.audit.targetId = params.id;
    await actionIn(params.id, c, 'developer');
    const action = await actions.delete(params.id);
    c.audit.details = { kind: action.kind, file: action.spec.file, line: action.spec.line, state: action.state };
    return null;
  });

  // ---- hits ----
  ctx.operation(ops.listLogs, async ({ params, query }, c) => {
    await actionIn(params.id, c, 'viewer');
    return hits.logs(params.id, query);
  });
  ctx.operation(ops.listSnapshots, async ({ params, query }, c) => {
    await actionIn(params.id, c, 'viewer');
    return hits.snapshots(params.id, query);
  });
  ctx.operation(ops.getSnapshot, async ({ params }, c) => {
    await actionIn(params.id, c, 'viewer');
    return hits.snapshot(params.id, params.hitId);
  });
  ctx.operation(ops.listMetrics, async ({ params, query }, c) => {
    await actionIn(params.id, c, 'viewer');
    return hits.metrics(params.id, query);
  });
  ctx.operation(ops.prometheusMetrics, () => prometheus.render());
}

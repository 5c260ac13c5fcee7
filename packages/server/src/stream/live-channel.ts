import {
  PROTOCOL_VERSION,
  SpyglassError,
  streamSubscribeSchema,
  type ServiceSelector,
  type StreamServerMessage,
} from '@spyglass/protocol';
import type { Bus } from '../bus/bus.js';
import { LIVE_TOPICS, type ActionsChangedMessage, type LiveEventMessage } from '../gateway/topics.js';
import type { PoolService } from '../pools/service.js';
import { roleInPool } from '../pools/scope.js';
import type { StreamChannel, StreamClientHandle } from './stream.js';

const key = (poolId: string, service: string): string => `${poolId}\u0000${service}`;

/** What one client follows on the live-debugging channel. */
export interface LiveFollow {
  readonly actionIds: Set<string>;
  /** `poolId NUL service` → the selector as the client wrote it. */
  readonly services: Map<string, ServiceSelector>;
  readonly servicePools: Map<string, number>;
}

const filterSchema = streamSubscribeSchema.pick({ actionIds: true, services: true });
type LiveFilter = { actionIds: string[]; services: ServiceSelector[] };

const follows = (f: LiveFollow, actionId: string, poolId: string, service: string): boolean =>
  f.actionIds.has(actionId) || f.services.has(key(poolId, service));

/**
 * The live-debugging channel (`"channel": "live"`, the default): a client follows actions by id or whole services,
 * and receives their log lines, snapshots, metric samples, agent statuses and action changes.
 */
export function liveChannel(deps: { bus: Bus; pools: PoolService }): StreamChannel<LiveFilter, LiveFollow> {
  const resolve = async (selectors: readonly ServiceSelector[], client?: StreamClientHandle) => {
    const out: { key: string; poolId: string; selector: ServiceSelector }[] = [];
    for (const selector of selectors) {
      try {
        const pool = await deps.pools.get(selector.pool);
        // A pool the subscriber may not see answers as an unknown one does.
        if (client !== undefined && !sees(client, pool.id)) throw new SpyglassError('NOT_FOUND', 'not visible');
        out.push({ key: key(pool.id, selector.service), poolId: pool.id, selector });
      } catch (err) {
        if (err instanceof SpyglassError && err.code === 'NOT_FOUND')
          throw new SpyglassError('NOT_FOUND', `pool ${selector.pool} not found`);
        throw err;
      }
    }
    return out;
  };

  /** Only events of pools the subscriber may see (their role there at least viewer) reach them. */
  const sees = (client: StreamClientHandle, poolId: string): boolean => roleInPool(client.scope, poolId) !== 'none';

  const onEvent = (e: LiveEventMessage, client: StreamClientHandle, f: LiveFollow): void => {
    if (!sees(client, e.poolId)) return;
    const v = PROTOCOL_VERSION;
    const on = (actionId: string): boolean => follows(f, actionId, e.poolId, e.service);
    if (e.kind === 'status') {
      for (const s of e.statuses) {
        if (!on(s.actionId)) continue;
        client.push({
          type: 'status',
          v,
          actionId: s.actionId,
          agentId: e.agentId,
          status: {
            state: s.state,
            method: s.method ?? null,
            reason: s.reason ?? null,
            location: s.location ?? null,
            at: s.at,
          },
        } satisfies StreamServerMessage);
      }
      return;
    }
    for (const l of e.logs) {
      if (!on(l.actionId)) continue;
      const { actionId, ...log } = l;
      client.push({ type: 'log', v, actionId, agentId: e.agentId, log } satisfies StreamServerMessage);
    }
    for (const s of e.snapshots) {
      if (on(s.actionId)) client.push({ type: 'snapshot', v, actionId: s.actionId, agentId: e.agentId, snapshot: s });
    }
    for (const m of e.metrics) {
      if (!on(m.actionId)) continue;
      const { actionId, ...sample } = m;
      client.push({ type: 'metric', v, actionId, agentId: e.agentId, sample } satisfies StreamServerMessage);
    }
  };

  const onAction = (m: ActionsChangedMessage, client: StreamClientHandle, f: LiveFollow): void => {
    if (!sees(client, m.poolId)) return;
    const byService = f.servicePools.has(m.poolId) && (m.service === null || f.services.has(key(m.poolId, m.service)));
    if (f.actionIds.has(m.actionId) || byService) {
      client.push({ type: 'action', v: PROTOCOL_VERSION, actionId: m.actionId, event: m.event });
    }
  };

  return {
    name: 'live',
    filter: filterSchema,
    create: () => ({ actionIds: new Set(), services: new Map(), servicePools: new Map() }),
    size: (f) => f.actionIds.size + f.services.size,
    async added(f, filter) {
      const services = await resolve(filter.services);
      return (
        new Set(filter.actionIds.filter((id) => !f.actionIds.has(id))).size +
        services.filter((s) => !f.services.has(s.key)).length
      );
    },
    async subscribe(f, filter, client) {
      const services = await resolve(filter.services, client);
      for (const id of filter.actionIds) f.actionIds.add(id);
      for (const s of services) {
        if (f.services.has(s.key)) continue;
        f.services.set(s.key, s.selector);
        f.servicePools.set(s.poolId, (f.servicePools.get(s.poolId) ?? 0) + 1);
      }
    },
    async unsubscribe(f, filter) {
      const services = await resolve(filter.services);
      for (const id of filter.actionIds) f.actionIds.delete(id);
      for (const s of services) {
        if (!f.services.delete(s.key)) continue;
        const n = (f.servicePools.get(s.poolId) ?? 1) - 1;
        if (n <= 0) f.servicePools.delete(s.poolId);
        else f.servicePools.set(s.poolId, n);
      }
    },
    describe: (f) => ({
      type: 'subscribed',
      v: PROTOCOL_VERSION,
      actionIds: [...f.actionIds],
      services: [...f.services.values()],
    }),
    start(each) {
      const offs = [
        deps.bus.subscribe(LIVE_TOPICS.events, (e) => each((client, f) => onEvent(e, client, f))),
        deps.bus.subscribe(LIVE_TOPICS.actions, (m) => each((client, f) => onAction(m, client, f))),
      ];
      return () => offs.forEach((off) => off());
    },
  };
}

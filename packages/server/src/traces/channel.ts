import { PROTOCOL_VERSION, traceStreamFilterSchema, type TraceStreamMessage } from '@spyglass/protocol';
import { defineTopic, type Bus } from '../bus/bus.js';
import { visiblePools } from '../pools/scope.js';
import type { StreamChannel } from '../stream/stream.js';

/**
 * New traces, as the replica that stored their first (or root) spans announces them, with the pool whose key exported
 * the root span (null: written without a pool key), which decides who is told.
 */
export interface TracesArrivedMessage {
  traces: (Omit<TraceStreamMessage, 'type' | 'channel'> & { poolId: string | null })[];
}

export const TRACE_TOPICS = {
  arrived: defineTopic<TracesArrivedMessage>('traces.arrived'),
};

type Filter = { services: string[] };

/**
 * The `traces` stream channel: a client follows services (`"*"` for all) and receives a `trace` message for each new
 * trace of those services, from whichever replica stored it. A client with only pool roles is told of traces whose
 * root span came with one of its pools' keys (docs/adr/0013-roles-per-pool.md).
 */
export function tracesChannel(bus: Bus): StreamChannel<Filter, Set<string>> {
  return {
    name: 'traces',
    filter: traceStreamFilterSchema,
    create: () => new Set<string>(),
    size: (s) => s.size,
    added: (s, f) => f.services.filter((name) => !s.has(name)).length,
    subscribe(s, f) {
      for (const name of f.services) s.add(name);
    },
    unsubscribe(s, f) {
      for (const name of f.services) s.delete(name);
    },
    describe: (s) => ({ type: 'subscribed', v: PROTOCOL_VERSION, channel: 'traces', services: [...s] }),
    start(each) {
      return bus.subscribe(TRACE_TOPICS.arrived, (m) =>
        each((client, s) => {
          // Read per message: the client's memberships change while it is connected.
          const pools = visiblePools(client.scope);
          const all = s.has('*');
          for (const { poolId, ...t } of m.traces) {
            if (pools !== null && (poolId === null || !pools.includes(poolId))) continue;
            if (all || s.has(t.service)) client.push({ type: 'trace', channel: 'traces', ...t });
          }
        }),
      );
    },
  };
}

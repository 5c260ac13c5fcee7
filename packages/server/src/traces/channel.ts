import { PROTOCOL_VERSION, SpyglassError, traceStreamFilterSchema, type TraceStreamMessage } from '@spyglass/protocol';
import { defineTopic, type Bus } from '../bus/bus.js';
import type { StreamChannel } from '../stream/stream.js';

/** New traces, as the replica that stored their first (or root) spans announces them. */
export interface TracesArrivedMessage {
  traces: Omit<TraceStreamMessage, 'type' | 'channel'>[];
}

export const TRACE_TOPICS = {
  arrived: defineTopic<TracesArrivedMessage>('traces.arrived'),
};

type Filter = { services: string[] };

/**
 * The `traces` stream channel: a client follows services (`"*"` for all) and receives a `trace` message for each new
 * trace of those services, from whichever replica stored it.
 */
export function tracesChannel(bus: Bus): StreamChannel<Filter, Set<string>> {
  return {
    name: 'traces',
    filter: traceStreamFilterSchema,
    create: () => new Set<string>(),
    size: (s) => s.size,
    added: (s, f) => f.services.filter((name) => !s.has(name)).length,
    subscribe(s, f, client) {
      // Traces are not scoped to pools (docs/adr/0013-roles-per-pool.md): they need a global role.
      if (client.scope.global === 'none')
        throw new SpyglassError('FORBIDDEN', 'traces need a global role of viewer or higher; you only have pool roles');
      for (const name of f.services) s.add(name);
    },
    unsubscribe(s, f) {
      for (const name of f.services) s.delete(name);
    },
    describe: (s) => ({ type: 'subscribed', v: PROTOCOL_VERSION, channel: 'traces', services: [...s] }),
    start(each) {
      return bus.subscribe(TRACE_TOPICS.arrived, (m) =>
        each((client, s) => {
          if (client.scope.global === 'none') return;
          const all = s.has('*');
          for (const t of m.traces) {
            if (all || s.has(t.service)) client.push({ type: 'trace', channel: 'traces', ...t });
          }
        }),
      );
    },
  };
}

import { pageSchema } from './common.js';
import { defineOperation } from './operation.js';
import {
  traceOperationsQuerySchema,
  traceOperationsSchema,
  traceParamsSchema,
  traceQuerySchema,
  traceSchema,
  traceServicesSchema,
  traceSummarySchema,
} from './traces.js';

/** Operations of distributed traces: search, one trace with the hits inside it, services and span names. */
export const traceOperations = {
  searchTraces: defineOperation({
    name: 'traces.search',
    summary:
      'Traces with a span matching every filter (service, span name, attributes, duration, status, time), newest first',
    access: 'viewer',
    // Pool-only callers are admitted and see their pools' spans (docs/adr/0013-roles-per-pool.md).
    scope: 'pool',
    method: 'GET',
    path: '/api/v1/traces',
    tags: ['traces'],
    input: { query: traceQuerySchema },
    output: pageSchema(traceSummarySchema),
  }),
  getTrace: defineOperation({
    name: 'traces.get',
    summary: 'Every span of a trace, with the live-debugging log lines and snapshots recorded inside it',
    access: 'viewer',
    // Pool-only callers are admitted and see their pools' spans (docs/adr/0013-roles-per-pool.md).
    scope: 'pool',
    method: 'GET',
    path: '/api/v1/traces/:traceId',
    tags: ['traces'],
    input: { params: traceParamsSchema },
    output: traceSchema,
  }),
  listServices: defineOperation({
    name: 'traces.services',
    summary: 'Services that sent spans, most recently seen first',
    access: 'viewer',
    // Pool-only callers are admitted and see their pools' spans (docs/adr/0013-roles-per-pool.md).
    scope: 'pool',
    method: 'GET',
    path: '/api/v1/traces/services',
    tags: ['traces'],
    input: {},
    output: traceServicesSchema,
  }),
  listOperations: defineOperation({
    name: 'traces.operations',
    summary: 'Span names (operations) per service with their kind',
    access: 'viewer',
    // Pool-only callers are admitted and see their pools' spans (docs/adr/0013-roles-per-pool.md).
    scope: 'pool',
    method: 'GET',
    path: '/api/v1/traces/operations',
    tags: ['traces'],
    input: { query: traceOperationsQuerySchema },
    output: traceOperationsSchema,
  }),
} as const;

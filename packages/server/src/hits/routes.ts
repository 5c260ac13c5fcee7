import {
  hitQuerySchema,
  idSchema,
  metricPointSchema,
  metricQuerySchema,
  pageSchema,
  snapshotSummarySchema,
  storedLogSchema,
  storedSnapshotSchema,
} from '@spyglass/protocol';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { ActionService } from '../actions/service.js';
import type { ActionMetricsExporter } from './prometheus.js';
import type { HitStore } from './store.js';

const idParams = z.object({ id: idSchema });

export function hitRoutes(
  app: FastifyInstance,
  actions: ActionService,
  hits: HitStore,
  prometheus: ActionMetricsExporter,
): void {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const tags = ['hits'];
  const config = { access: 'viewer' as const };

  r.get(
    '/api/v1/actions/:id/logs',
    {
      config,
      schema: {
        tags,
        summary: 'Stored log lines of a log action, newest first',
        params: idParams,
        querystring: hitQuerySchema,
        response: { 200: pageSchema(storedLogSchema) },
      },
    },
    async (request) => {
      await actions.record(request.params.id);
      return hits.logs(request.params.id, request.query);
    },
  );

  r.get(
    '/api/v1/actions/:id/snapshots',
    {
      config,
      schema: {
        tags,
        summary: 'Stored snapshots of a snapshot action (summaries), newest first',
        params: idParams,
        querystring: hitQuerySchema,
        response: { 200: pageSchema(snapshotSummarySchema) },
      },
    },
    async (request) => {
      await actions.record(request.params.id);
      return hits.snapshots(request.params.id, request.query);
    },
  );

  r.get(
    '/api/v1/actions/:id/snapshots/:hitId',
    {
      config,
      schema: {
        tags,
        summary: 'One snapshot with its frames, locals and watch values',
        params: idParams.extend({ hitId: z.string().min(1).max(32) }),
        response: { 200: storedSnapshotSchema },
      },
    },
    (request) => hits.snapshot(request.params.id, request.params.hitId),
  );

  r.get(
    '/api/v1/actions/:id/metrics',
    {
      config,
      schema: {
        tags,
        summary: 'Metric buckets of a metric action (all agents merged), newest first',
        params: idParams,
        querystring: metricQuerySchema,
        response: { 200: pageSchema(metricPointSchema) },
      },
    },
    async (request) => {
      await actions.record(request.params.id);
      return hits.metrics(request.params.id, request.query);
    },
  );

  r.get(
    '/api/v1/metrics/prometheus',
    {
      config,
      schema: {
        tags,
        summary: 'Metric actions in the Prometheus text format (this replica: scrape each one)',
        description:
          'Counters as `spyglass_action_hits_total`, tictoc and duration as the histogram ' +
          '`spyglass_action_duration_seconds`, gauges as the summary `spyglass_action_gauge` (sum and count), ' +
          'labelled by action, metric, pool and service. Scrape with an API token (`Authorization: Bearer`).',
        produces: ['text/plain'],
      },
    },
    async (_request, reply) => {
      const text = await prometheus.render();
      return reply.type(prometheus.contentType).send(text);
    },
  );
}

import { createPoolBodySchema, pageQuerySchema, pageSchema, poolSchema, poolWithKeySchema } from '@spyglass/protocol';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { PoolService } from './service.js';

const params = z.object({ pool: z.string().min(1).max(64) });

export function poolRoutes(app: FastifyInstance, pools: PoolService): void {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const tags = ['pools'];

  r.get(
    '/api/v1/pools',
    { config: { access: 'admin' }, schema: { tags, querystring: pageQuerySchema, response: { 200: pageSchema(poolSchema) } } },
    (request) => pools.list(request.query.limit, request.query.cursor),
  );

  r.post(
    '/api/v1/pools',
    {
      config: { access: 'admin', audit: 'pool.create' },
      schema: { tags, summary: 'Create a pool; its registration key is in this response only', body: createPoolBodySchema, response: { 201: poolWithKeySchema } },
    },
    async (request, reply) => {
      const pool = await pools.create(request.body.name);
      request.audit = { ...request.audit, targetType: 'pool', targetId: pool.id, details: { name: pool.name } };
      return reply.code(201).send(pool);
    },
  );

  r.get(
    '/api/v1/pools/:pool',
    { config: { access: 'admin' }, schema: { tags, summary: 'A pool by id or name', params, response: { 200: poolSchema } } },
    (request) => pools.get(request.params.pool),
  );

  r.post(
    '/api/v1/pools/:pool/rotate-key',
    {
      config: { access: 'admin', audit: 'pool.rotate_key' },
      schema: { tags, summary: 'Replace the registration key; the old one stops working at once', params, response: { 200: poolWithKeySchema } },
    },
    async (request) => {
      request.audit.targetType = 'pool';
      const pool = await pools.rotateKey(request.params.pool);
      request.audit.targetId = pool.id;
      return pool;
    },
  );

  r.delete(
    '/api/v1/pools/:pool',
    { config: { access: 'admin', audit: 'pool.delete' }, schema: { tags, params, response: { 204: z.null() } } },
    async (request, reply) => {
      request.audit.targetType = 'pool';
      const pool = await pools.delete(request.params.pool);
      request.audit.targetId = pool.id;
      request.audit.details = { name: pool.name };
      return reply.code(204).send(null);
    },
  );
}
